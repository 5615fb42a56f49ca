package io.github.mm2eks.worker.restarts;

import org.apache.kafka.connect.health.AbstractState;
import org.apache.kafka.connect.health.ConnectorHealth;
import org.apache.kafka.connect.health.TaskState;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

/**
 * Decides, from successive views of the cluster's connector health, which failed connectors and tasks this worker
 * restarts now. Pure bookkeeping: no clock, no I/O, so that the back-off and the "only my worker" rule are tested
 * without a cluster.
 *
 * <p>Only subjects whose status names this worker ({@code worker_id}, the worker's advertised host:port) are
 * tracked: the worker that runs a task is the only one that acts on its failure, so two workers never restart the
 * same task. The counts live in this worker's memory: a task that moves to another worker (a rebalance, a worker
 * restart) starts there with a fresh count, as a task newly started by Connect.
 */
public final class RestartTracker {

    static final String RUNNING = "RUNNING";
    static final String FAILED = "FAILED";
    /** A connector in one of these states keeps its tasks as the user wants them: its failed tasks are left alone. */
    static final Set<String> HELD_CONNECTOR_STATES = Set.of("PAUSED", "STOPPED");
    /**
     * A task of a superseded generation: its connector's {@code tasks.max} went down and Connect started the old
     * task configs once more before the connector wrote the new, smaller set. Connect replaces the whole set
     * itself; restarting such a task starts the stale config again and writes a FAILED status for a task that is
     * gone.
     */
    static final String SUPERSEDED_TASK_FAILURE = "TooManyTasksException";

    /** What one subject went through on this worker. */
    static final class Record {
        /** Restarts since the count was last reset: the back-off and the cap are counted from this. */
        int restarts;
        /** Every restart this worker made of the subject: the metric's counter, never reset. */
        long total;
        /** When the current failure was first seen; null while the subject is not failed. */
        Instant failureSeenAt;
        /** When it was last restarted, and whether its status has shown anything but FAILED since. */
        Instant restartedAt;
        boolean changedSinceRestart = true;
        /** When it was first seen RUNNING without a failure in between; null while not running. */
        Instant runningSince;
        /** At the cap and failed: left FAILED (the metric's gauge). */
        boolean exhausted;
    }

    /** A read-only copy of one record, for the metrics. */
    public record View(long total, boolean exhausted) {
    }

    private final String workerId;
    private final BackoffSchedule schedule;
    private final OptionalInt maxRestarts;
    private final Duration healthyAfter;
    private final Duration settle;
    private final Map<Subject, Record> records = new LinkedHashMap<>();

    /**
     * @param maxRestarts  restarts allowed before a subject is left FAILED; empty for unlimited
     * @param healthyAfter how long a subject must keep RUNNING before its restart count goes back to zero
     * @param settle       after a restart, how long a FAILED status still counts as the failure that was restarted
     *                     (the status topic may lag the restart) unless another state was seen in between
     */
    public RestartTracker(String workerId, BackoffSchedule schedule, OptionalInt maxRestarts, Duration healthyAfter,
                          Duration settle) {
        this.workerId = workerId;
        this.schedule = schedule;
        this.maxRestarts = maxRestarts;
        this.healthyAfter = healthyAfter;
        this.settle = settle;
    }

    /**
     * Takes in one poll's view of the cluster and returns what to do now.
     *
     * @param health      every connector whose health could be read
     * @param unreadable  connectors that exist but whose health could not be read this time: their records are kept
     */
    public List<RestartEvent> observe(Instant now, Collection<ConnectorHealth> health, Set<String> unreadable) {
        List<RestartEvent> events = new ArrayList<>();
        Set<Subject> seen = new HashSet<>();
        for (ConnectorHealth connector : health) {
            String name = connector.name();
            AbstractState connectorState = connector.connectorState();
            if (mine(connectorState)) {
                Subject subject = Subject.connector(name);
                seen.add(subject);
                observe(now, subject, connectorState.state(), connectorState.traceMessage(), events);
            }
            boolean held = connectorState != null && HELD_CONNECTOR_STATES.contains(connectorState.state());
            for (Map.Entry<Integer, TaskState> task : connector.tasksState().entrySet()) {
                TaskState taskState = task.getValue();
                if (!mine(taskState)) {
                    continue;
                }
                Subject subject = Subject.task(name, task.getKey());
                seen.add(subject);
                // A paused or stopped connector's failed task waits for the user, not for us.
                String trace = taskState.traceMessage();
                boolean superseded = trace != null && trace.contains(SUPERSEDED_TASK_FAILURE);
                String state = (held || superseded) && FAILED.equals(taskState.state()) ? "HELD" : taskState.state();
                observe(now, subject, state, trace, events);
            }
        }
        // Deleted connectors, and tasks now on another worker: that worker keeps its own count.
        records.keySet().removeIf(subject -> !seen.contains(subject) && !unreadable.contains(subject.connector()));
        return events;
    }

    /** The restart that {@code observe} asked for succeeded. */
    public void restarted(Subject subject, Instant now) {
        Record record = records.get(subject);
        if (record == null) {
            return; // deleted meanwhile
        }
        record.restarts++;
        record.total++;
        record.restartedAt = now;
        record.changedSinceRestart = false;
        record.failureSeenAt = null;
    }

    /** Every subject this worker tracks now, for the metrics. */
    public Map<Subject, View> views() {
        Map<Subject, View> views = new HashMap<>();
        records.forEach((subject, record) -> views.put(subject, new View(record.total, record.exhausted)));
        return views;
    }

    private boolean mine(AbstractState state) {
        return state != null && workerId.equals(state.workerId());
    }

    private void observe(Instant now, Subject subject, String state, String trace, List<RestartEvent> events) {
        Record record = records.computeIfAbsent(subject, ignored -> new Record());
        if (FAILED.equals(state)) {
            failed(now, subject, record, trace, events);
            return;
        }
        record.failureSeenAt = null;
        record.exhausted = false;
        record.changedSinceRestart = true;
        if (!RUNNING.equals(state)) {
            record.runningSince = null;
            return;
        }
        if (record.runningSince == null) {
            record.runningSince = now;
        }
        Duration runningFor = Duration.between(record.runningSince, now);
        if (record.restarts > 0 && runningFor.compareTo(healthyAfter) >= 0) {
            events.add(new RestartEvent.CountReset(subject, record.restarts, runningFor));
            record.restarts = 0;
        }
    }

    private void failed(Instant now, Subject subject, Record record, String trace, List<RestartEvent> events) {
        record.runningSince = null;
        if (record.failureSeenAt == null) {
            boolean stale = record.restartedAt != null && !record.changedSinceRestart
                && now.isBefore(record.restartedAt.plus(settle));
            if (stale) {
                return; // still the status of the failure we just restarted
            }
            record.failureSeenAt = now;
        }
        if (maxRestarts.isPresent() && record.restarts >= maxRestarts.getAsInt()) {
            if (!record.exhausted) {
                record.exhausted = true;
                events.add(new RestartEvent.Exhausted(subject, record.restarts, trace));
            }
            return;
        }
        Duration backoff = schedule.delay(record.restarts);
        if (!now.isBefore(record.failureSeenAt.plus(backoff))) {
            events.add(new RestartEvent.RestartDue(subject, record.restarts + 1, record.failureSeenAt, backoff, trace));
        }
    }
}
