package io.github.mm2eks.worker.restarts;

import java.time.Duration;
import java.time.Instant;

/** What {@link RestartTracker#observe} found in one poll; the supervisor acts on each and logs it. */
public sealed interface RestartEvent {

    Subject subject();

    /**
     * A failed connector or task on this worker whose back-off has passed: restart it now.
     *
     * @param attempt        1 for the first restart since the count was last reset
     * @param failureSeenAt  when this worker first saw the failure it is restarting
     * @param backoff        how long the schedule made this restart wait after that
     */
    record RestartDue(Subject subject, int attempt, Instant failureSeenAt, Duration backoff, String trace)
        implements RestartEvent {
    }

    /** Failed again after {@code restarts} restarts, the configured maximum: it is left FAILED. */
    record Exhausted(Subject subject, int restarts, String trace) implements RestartEvent {
    }

    /** Ran long enough after {@code restarts} restarts that its count starts again from zero. */
    record CountReset(Subject subject, int restarts, Duration runningFor) implements RestartEvent {
    }
}
