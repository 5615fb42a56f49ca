package io.github.mm2eks.worker.offsets;

/**
 * Why the tool could not answer, as the operator commands report it: {@link Kind#REQUEST} is a bad request (a bug in
 * the caller), {@link Kind#UNREACHABLE} a cluster that did not answer within the request's timeout, or refused the
 * credentials, {@link Kind#KAFKA} any other error a cluster returned.
 */
final class ToolFailure extends RuntimeException {

    enum Kind {
        REQUEST(2), UNREACHABLE(3), KAFKA(4);

        final int exitStatus;

        Kind(int exitStatus) {
            this.exitStatus = exitStatus;
        }
    }

    final Kind kind;
    final String cluster;

    ToolFailure(Kind kind, String cluster, String message) {
        super(message);
        this.kind = kind;
        this.cluster = cluster;
    }

    static ToolFailure request(String message) {
        return new ToolFailure(Kind.REQUEST, null, message);
    }
}
