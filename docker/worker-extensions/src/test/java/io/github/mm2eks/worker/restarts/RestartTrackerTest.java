package io.github.mm2eks.worker.restarts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.kafka.connect.health.ConnectorHealth;
import org.apache.kafka.connect.health.ConnectorState;
import org.apache.kafka.connect.health.ConnectorType;
import org.apache.kafka.connect.health.TaskState;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

/** The back-off, the cap, the reset and the "only my worker" rule, on a fake clock (seconds as the unit). */
class RestartTrackerTest {

    static final String ME = "10.0.0.1:8083";
    static final String OTHER = "10.0.0.2:8083";
    static final String TRACE = "org.apache.kafka.connect.errors.ConnectException: boom\n\tat x.y(Z.java:1)";
    static final Instant START = Instant.parse("2026-12-01T00:00:00Z");
    static final Duration HEALTHY = Duration.ofSeconds(30);
    static final Duration SETTLE = Duration.ofSeconds(2);

    /** A cluster view: the connector running on {@code connectorWorker}, tasks given as {id: [state, worker]}. */
    static ConnectorHealth health(String name, String connectorState, String connectorWorker, String... tasks) {
        Map<Integer, TaskState> states = new LinkedHashMap<>();
        for (int i = 0; i < tasks.length; i += 2) {
            String state = tasks[i];
            states.put(i / 2, new TaskState(i / 2, state, tasks[i + 1], state.equals("FAILED") ? TRACE : null));
        }
        String trace = connectorState.equals("FAILED") ? TRACE : null;
        return new ConnectorHealth(name, new ConnectorState(connectorState, connectorWorker, trace), states,
            ConnectorType.SOURCE);
    }

    static RestartTracker tracker(OptionalInt max) {
        return new RestartTracker(ME, new BackoffSchedule(Duration.ofSeconds(1)), max, HEALTHY, SETTLE);
    }

    static List<RestartEvent> observe(RestartTracker tracker, Instant at, ConnectorHealth... cluster) {
        return tracker.observe(at, List.of(cluster), Set.of());
    }

    static Instant at(long seconds) {
        return START.plusSeconds(seconds);
    }

    @Test
    void onlyTheWorkerThatRunsAFailedTaskRestartsIt() {
        RestartTracker mine = tracker(OptionalInt.empty());
        RestartTracker theirs = new RestartTracker(OTHER, new BackoffSchedule(Duration.ofSeconds(1)),
            OptionalInt.empty(), HEALTHY, SETTLE);
        // Task 0 failed on me, task 1 failed on the other worker; the connector runs on the other worker.
        ConnectorHealth view = health("orders", "RUNNING", OTHER, "FAILED", ME, "FAILED", OTHER, "RUNNING", ME);

        List<RestartEvent> myEvents = observe(mine, at(0), view);
        List<RestartEvent> theirEvents = observe(theirs, at(0), view);

        assertEquals(List.of(Subject.task("orders", 0)), myEvents.stream().map(RestartEvent::subject).toList());
        assertEquals(List.of(Subject.task("orders", 1)), theirEvents.stream().map(RestartEvent::subject).toList());
        // Each tracks only what runs on it: my two tasks; the other worker's connector and task.
        assertEquals(Set.of(Subject.task("orders", 0), Subject.task("orders", 2)), mine.views().keySet());
        assertEquals(Set.of(Subject.connector("orders"), Subject.task("orders", 1)), theirs.views().keySet());
    }

    @Test
    void aFailedConnectorIsRestartedByTheWorkerThatRunsIt() {
        RestartTracker mine = tracker(OptionalInt.empty());
        List<RestartEvent> events = observe(mine, at(0), health("orders", "FAILED", ME, "RUNNING", OTHER));
        RestartEvent.RestartDue due = assertInstanceOf(RestartEvent.RestartDue.class, events.get(0));
        assertEquals(Subject.connector("orders"), due.subject());
        assertEquals("connector", due.subject().label());
        assertEquals(1, events.size());
        assertTrue(observe(tracker(OptionalInt.empty()), at(0), health("orders", "FAILED", OTHER)).isEmpty());
    }

    @Test
    void restartsWaitTheBackoffAfterEachFailureIsSeen() {
        RestartTracker tracker = tracker(OptionalInt.empty());
        Subject task = Subject.task("orders", 0);
        List<Long> restartedAt = new ArrayList<>();
        // Polled every second for two hours: after each restart the task runs for one poll, then fails again.
        for (long second = 0; second < 7200; second++) {
            boolean failed = restartedAt.isEmpty() || second >= restartedAt.get(restartedAt.size() - 1) + 2;
            for (RestartEvent event : observe(tracker, at(second),
                health("orders", "RUNNING", ME, failed ? "FAILED" : "RUNNING", ME))) {
                assertInstanceOf(RestartEvent.RestartDue.class, event);
                tracker.restarted(task, at(second));
                restartedAt.add(second);
            }
        }
        assertEquals(0L, restartedAt.get(0), "the first restart is at once");
        // Each later failure is seen two seconds after the restart before it; the waits are counted from there.
        List<Long> waits = new ArrayList<>();
        for (int i = 1; i < restartedAt.size(); i++) {
            waits.add(restartedAt.get(i) - restartedAt.get(i - 1) - 2);
        }
        assertEquals(List.of(2L, 6L, 12L, 20L, 30L, 42L, 56L, 60L, 60L, 60L), waits.subList(0, 10));
        assertEquals(restartedAt.size(), tracker.views().get(task).total());
    }

    @Test
    void theDueRestartIsAskedForAgainUntilItSucceeds() {
        RestartTracker tracker = tracker(OptionalInt.empty());
        ConnectorHealth failed = health("orders", "RUNNING", ME, "FAILED", ME);
        assertEquals(1, observe(tracker, at(0), failed).size());
        // The REST call failed (say, 409 during a rebalance): nothing recorded, so the next poll asks again.
        RestartEvent.RestartDue again = (RestartEvent.RestartDue) observe(tracker, at(1), failed).get(0);
        assertEquals(1, again.attempt());
        assertEquals(at(0), again.failureSeenAt());
        assertEquals(0, tracker.views().get(Subject.task("orders", 0)).total());
    }

    @Test
    void aStaleFailedStatusRightAfterARestartIsNotANewFailure() {
        RestartTracker tracker = tracker(OptionalInt.empty());
        ConnectorHealth failed = health("orders", "RUNNING", ME, "FAILED", ME);
        observe(tracker, at(0), failed);
        tracker.restarted(Subject.task("orders", 0), at(0));
        // The status topic still says FAILED one second later: within the settle time, it is the old failure.
        assertTrue(observe(tracker, at(1), failed).isEmpty());
        // Still FAILED after the settle time: the restart's task failed again; seen now, due 2 s later.
        assertTrue(observe(tracker, at(2), failed).isEmpty());
        assertTrue(observe(tracker, at(3), failed).isEmpty());
        RestartEvent.RestartDue due = (RestartEvent.RestartDue) observe(tracker, at(4), failed).get(0);
        assertEquals(2, due.attempt());
        assertEquals(at(2), due.failureSeenAt());
    }

    @Test
    void atTheCapTheTaskIsLeftFailedAndMarkedExhausted() {
        RestartTracker tracker = tracker(OptionalInt.of(2));
        Subject task = Subject.task("orders", 0);
        ConnectorHealth failed = health("orders", "RUNNING", ME, "FAILED", ME);
        ConnectorHealth running = health("orders", "RUNNING", ME, "RUNNING", ME);
        observe(tracker, at(0), failed);
        tracker.restarted(task, at(0));
        observe(tracker, at(1), running);
        observe(tracker, at(2), failed);
        observe(tracker, at(4), failed).forEach(event -> tracker.restarted(task, at(4)));
        observe(tracker, at(5), running);

        List<RestartEvent> events = observe(tracker, at(6), failed);
        RestartEvent.Exhausted exhausted = assertInstanceOf(RestartEvent.Exhausted.class, events.get(0));
        assertEquals(2, exhausted.restarts());
        assertTrue(tracker.views().get(task).exhausted());
        // Told once; no restart however long it stays FAILED.
        for (long second = 7; second < 4000; second += 10) {
            assertTrue(observe(tracker, at(second), failed).isEmpty());
        }
        assertEquals(new RestartTracker.View(2, true), tracker.views().get(task));
        // Restarted by hand: not exhausted while it runs, and its count resets once it has run long enough.
        observe(tracker, at(4000), running);
        assertFalse(tracker.views().get(task).exhausted());
        RestartEvent reset = observe(tracker, at(4000 + HEALTHY.toSeconds()), running).get(0);
        assertEquals(new RestartEvent.CountReset(task, 2, HEALTHY), reset);
        assertInstanceOf(RestartEvent.RestartDue.class, observe(tracker, at(5000), failed).get(0));
    }

    @Test
    void theCountResetsOnlyAfterRunningLongEnoughWithoutAFailure() {
        RestartTracker tracker = tracker(OptionalInt.empty());
        Subject task = Subject.task("orders", 0);
        ConnectorHealth failed = health("orders", "RUNNING", ME, "FAILED", ME);
        ConnectorHealth running = health("orders", "RUNNING", ME, "RUNNING", ME);
        observe(tracker, at(0), failed);
        tracker.restarted(task, at(0));
        observe(tracker, at(1), running);
        // Fails before the healthy time: the next restart waits 2 units, not 0.
        observe(tracker, at(20), failed);
        RestartEvent.RestartDue second = (RestartEvent.RestartDue) observe(tracker, at(22), failed).get(0);
        assertEquals(2, second.attempt());
        tracker.restarted(task, at(22));
        assertTrue(observe(tracker, at(23), running).isEmpty());
        assertTrue(observe(tracker, at(52), running).isEmpty());
        assertEquals(new RestartEvent.CountReset(task, 2, HEALTHY), observe(tracker, at(53), running).get(0));
        RestartEvent.RestartDue fresh = (RestartEvent.RestartDue) observe(tracker, at(60), failed).get(0);
        assertEquals(1, fresh.attempt());
        assertEquals(Duration.ZERO, fresh.backoff());
        assertEquals(2, tracker.views().get(task).total(), "the metric's counter never goes back");
    }

    @Test
    void aTaskOfASupersededGenerationIsLeftForConnectToReplace() {
        RestartTracker tracker = tracker(OptionalInt.empty());
        String tooMany = "org.apache.kafka.connect.runtime.TooManyTasksException: The connector orders has generated"
            + " 2 tasks, which is greater than 1, the maximum number of tasks it is configured to create.";
        Map<Integer, TaskState> tasks = new LinkedHashMap<>();
        tasks.put(0, new TaskState(0, "RUNNING", ME, null));
        tasks.put(1, new TaskState(1, "FAILED", ME, tooMany));
        ConnectorHealth superseded = new ConnectorHealth("orders", new ConnectorState("RUNNING", ME, null), tasks,
            ConnectorType.SOURCE);
        assertTrue(observe(tracker, at(0), superseded).isEmpty());
        assertTrue(observe(tracker, at(100), superseded).isEmpty());
        // Any other failure of the same task is restarted.
        assertEquals(1, observe(tracker, at(101), health("orders", "RUNNING", ME, "RUNNING", ME, "FAILED", ME)).size());
    }

    @Test
    void failedTasksOfAPausedOrStoppedConnectorAreLeftAlone() {
        RestartTracker tracker = tracker(OptionalInt.empty());
        assertTrue(observe(tracker, at(0), health("orders", "PAUSED", ME, "FAILED", ME)).isEmpty());
        assertTrue(observe(tracker, at(1), health("orders", "STOPPED", ME, "FAILED", ME)).isEmpty());
        assertEquals(1, observe(tracker, at(2), health("orders", "RUNNING", ME, "FAILED", ME)).size());
    }

    @Test
    void deletedConnectorsAndMovedTasksAreForgottenButUnreadableOnesKept() {
        RestartTracker tracker = tracker(OptionalInt.empty());
        observe(tracker, at(0), health("orders", "RUNNING", ME, "FAILED", ME), health("events", "RUNNING", ME));
        tracker.restarted(Subject.task("orders", 0), at(0));
        // events' health could not be read this time: kept. orders' task moved to the other worker: forgotten.
        tracker.observe(at(1), List.of(health("orders", "RUNNING", ME, "RUNNING", OTHER)), Set.of("events"));
        assertEquals(Set.of(Subject.connector("orders"), Subject.connector("events")), tracker.views().keySet());
        // events deleted.
        observe(tracker, at(2), health("orders", "RUNNING", ME));
        assertEquals(Set.of(Subject.connector("orders")), tracker.views().keySet());
    }
}
