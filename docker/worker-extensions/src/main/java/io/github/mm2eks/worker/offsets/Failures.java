package io.github.mm2eks.worker.offsets;

import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.TimeoutException;

import java.time.Duration;

/** Kafka's exceptions as the operator reads them: which cluster, at which address, and why. */
final class Failures {

    private Failures() {
    }

    static ToolFailure of(String cluster, String address, Throwable cause) {
        String where = "cluster '" + cluster + "' at " + address;
        if (cause instanceof TimeoutException) {
            return new ToolFailure(ToolFailure.Kind.UNREACHABLE, cluster, where + " did not answer: " + message(cause));
        }
        if (cause instanceof AuthenticationException || cause instanceof AuthorizationException) {
            return new ToolFailure(ToolFailure.Kind.UNREACHABLE, cluster,
                where + " refused the worker's credentials: " + message(cause));
        }
        if (cause instanceof ToolFailure failure) {
            return failure;
        }
        return new ToolFailure(ToolFailure.Kind.KAFKA, cluster, where + ": " + message(cause));
    }

    static ToolFailure timedOut(String cluster, String address, Duration timeout) {
        return new ToolFailure(ToolFailure.Kind.UNREACHABLE, cluster,
            "cluster '" + cluster + "' at " + address + " did not answer within " + timeout.toSeconds() + " s");
    }

    private static String message(Throwable cause) {
        String text = cause.getMessage();
        return cause.getClass().getSimpleName() + (text == null || text.isBlank() ? "" : ": " + text);
    }
}
