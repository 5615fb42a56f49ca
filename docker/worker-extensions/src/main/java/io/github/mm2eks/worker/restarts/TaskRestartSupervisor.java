package io.github.mm2eks.worker.restarts;

import org.apache.kafka.common.utils.AppInfoParser;
import org.apache.kafka.connect.health.ConnectClusterState;
import org.apache.kafka.connect.health.ConnectorHealth;
import org.apache.kafka.connect.rest.ConnectRestExtension;
import org.apache.kafka.connect.rest.ConnectRestExtensionContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Restarts this worker's failed connectors and tasks with Strimzi's back-off, from inside the worker: Kafka Connect
 * never restarts a failed task by itself.
 *
 * <p>A REST extension ({@code rest.extension.classes}) because that is the one plug-in point where Connect hands
 * code both the worker config and the cluster's connector health, in every worker, with no other process to run.
 * A daemon thread reads the health every {@code mm2.task.restarts.poll.interval.ms}, and restarts only what runs on
 * this worker (see {@link RestartTracker}) through this worker's own REST API. Each restart is logged with the
 * connector, the task, the attempt and the first line of the trace, and counted in {@link RestartMetrics}.
 */
public final class TaskRestartSupervisor implements ConnectRestExtension {

    private static final Logger LOG = LoggerFactory.getLogger(TaskRestartSupervisor.class);
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(10);
    /** How often a worker that cannot read its connectors says so again. */
    private static final Duration UNAVAILABLE_LOG_INTERVAL = Duration.ofMinutes(5);

    private final Clock clock;
    private RestartSettings settings;
    private RestartTracker tracker;
    private WorkerRestClient rest;
    private RestartMetrics metrics;
    private ScheduledExecutorService executor;
    private ConnectClusterState cluster;
    private Instant unavailableLoggedAt;

    public TaskRestartSupervisor() {
        this(Clock.systemUTC());
    }

    TaskRestartSupervisor(Clock clock) {
        this.clock = clock;
    }

    @Override
    public void configure(Map<String, ?> workerConfig) {
        settings = RestartSettings.fromWorkerConfig(workerConfig);
        tracker = new RestartTracker(settings.workerId(), settings.schedule(), settings.maxRestarts(),
            settings.healthyAfter(), settings.settle());
        rest = new WorkerRestClient(settings.workerUri(), settings.authorizationFile());
    }

    @Override
    public void register(ConnectRestExtensionContext context) {
        if (settings == null) {
            throw new IllegalStateException("TaskRestartSupervisor.register called before configure");
        }
        cluster = context.clusterState();
        metrics = new RestartMetrics();
        executor = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "mm2-task-restart-supervisor");
            thread.setDaemon(true); // never keeps a stopping worker alive
            return thread;
        });
        long interval = settings.pollInterval().toMillis();
        executor.scheduleWithFixedDelay(this::pollSafely, interval, interval, TimeUnit.MILLISECONDS);
        LOG.info("Task restart supervisor started on worker {}: polls every {} ms, restarts through {} (auth {}), "
                + "maximum restarts {}, back-off unit {} ms, count reset after {} ms running",
            settings.workerId(), interval, settings.workerUri(),
            settings.authorizationFile().map(Object::toString).orElse("none"), settings.describeMax(),
            settings.schedule().unit().toMillis(), settings.healthyAfter().toMillis());
    }

    @Override
    public void close() {
        if (executor != null) {
            executor.shutdownNow();
            try {
                if (!executor.awaitTermination(CLOSE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                    LOG.warn("Task restart supervisor did not stop within {} s", CLOSE_TIMEOUT.toSeconds());
                }
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        if (metrics != null) {
            metrics.close();
        }
    }

    @Override
    public String version() {
        return AppInfoParser.getVersion();
    }

    /** The scheduled task: an exception would cancel every later run, so none may escape. */
    private void pollSafely() {
        try {
            poll();
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException error) {
            LOG.warn("Task restart supervisor: this poll failed, retrying in {} ms", settings.pollInterval().toMillis(),
                error);
        }
    }

    void poll() throws InterruptedException {
        Collection<String> names;
        try {
            names = cluster.connectors();
        } catch (RuntimeException error) {
            unavailable(error); // starting, rebalancing, or the herder is busy
            return;
        }
        if (unavailableLoggedAt != null) {
            LOG.info("Task restart supervisor: connector health readable again");
            unavailableLoggedAt = null;
        }
        List<ConnectorHealth> health = new ArrayList<>();
        Set<String> unreadable = new HashSet<>();
        for (String name : names) {
            try {
                health.add(cluster.connectorHealth(name));
            } catch (RuntimeException error) {
                unreadable.add(name); // deleted meanwhile, or no status yet
            }
        }
        for (RestartEvent event : tracker.observe(clock.instant(), health, unreadable)) {
            handle(event);
        }
        metrics.update(tracker.views());
    }

    private void handle(RestartEvent event) throws InterruptedException {
        Subject subject = event.subject();
        if (event instanceof RestartEvent.RestartDue due) {
            Duration sinceFailure = Duration.between(due.failureSeenAt(), clock.instant());
            try {
                rest.restart(subject);
            } catch (WorkerRestClient.RestartFailed error) {
                LOG.warn("Could not restart {} (restart {} of {}): {}; trying again in {} ms", subject, due.attempt(),
                    settings.describeMax(), error.getMessage(), settings.pollInterval().toMillis());
                return;
            }
            tracker.restarted(subject, clock.instant());
            LOG.warn("Restarted {} on worker {}: restart {} of {}, {} ms after its failure was seen (back-off {} ms); "
                    + "it had failed with: {}", subject, settings.workerId(), due.attempt(), settings.describeMax(),
                sinceFailure.toMillis(), due.backoff().toMillis(), Traces.summary(due.trace()));
        } else if (event instanceof RestartEvent.Exhausted exhausted) {
            LOG.error("{} failed again after {} restarts, the maximum (mm2.task.restarts.max): left FAILED until it is "
                    + "restarted by hand; it failed with: {}", subject, exhausted.restarts(),
                Traces.summary(exhausted.trace()));
        } else if (event instanceof RestartEvent.CountReset reset) {
            LOG.info("{} has been RUNNING for {} ms since its last restart: its restart count ({}) starts again from 0",
                subject, reset.runningFor().toMillis(), reset.restarts());
        }
    }

    private void unavailable(RuntimeException error) {
        Instant now = clock.instant();
        if (unavailableLoggedAt == null || !now.isBefore(unavailableLoggedAt.plus(UNAVAILABLE_LOG_INTERVAL))) {
            LOG.info("Task restart supervisor: connector health not readable yet ({}); retrying every {} ms",
                error.toString(), settings.pollInterval().toMillis());
            unavailableLoggedAt = now;
        }
    }
}
