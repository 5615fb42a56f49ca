package io.github.mm2eks.worker.restarts;

import java.time.Duration;

/**
 * Strimzi's restart back-off: the restart that follows {@code n} earlier restarts waits {@code n * (n + 1)} units
 * after the failure is seen (0, 2, 6, 12, 20, 30, 42, 56), then 60 units for every later one.
 * The unit is a minute on EKS; the local runtime and the tests use a second.
 */
public final class BackoffSchedule {

    /** The longest wait, in units: an hour when the unit is a minute. */
    static final long MAX_UNITS = 60;

    private final Duration unit;

    public BackoffSchedule(Duration unit) {
        if (unit.isNegative() || unit.isZero()) {
            throw new IllegalArgumentException("the back-off unit must be positive, got " + unit);
        }
        this.unit = unit;
    }

    /** How long after the failure is seen the next restart waits, when {@code previousRestarts} came before it. */
    public Duration delay(int previousRestarts) {
        if (previousRestarts < 0) {
            throw new IllegalArgumentException("previousRestarts must not be negative, got " + previousRestarts);
        }
        long n = previousRestarts;
        // n >= MAX_UNITS also keeps n * (n + 1) from overflowing.
        long units = n >= MAX_UNITS ? MAX_UNITS : Math.min(n * (n + 1), MAX_UNITS);
        return unit.multipliedBy(units);
    }

    public Duration unit() {
        return unit;
    }
}
