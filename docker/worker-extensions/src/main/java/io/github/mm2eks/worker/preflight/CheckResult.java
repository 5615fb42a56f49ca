package io.github.mm2eks.worker.preflight;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a cluster check found: the cluster answered (its id and broker count), or why it did not.
 *
 * <p>The cause is written for the person who set the cluster's settings: it names what failed (authentication, the
 * TLS handshake, the network) and never quotes a setting's value.
 */
public record CheckResult(boolean reachable, String clusterId, int brokers, String cause) {

    static CheckResult reached(String clusterId, int brokers) {
        return new CheckResult(true, clusterId, brokers, null);
    }

    /** Long enough for the AWS SDK's credential chain to say what it tried; a preview shows one line. */
    static final int MAX_CAUSE_LENGTH = 600;

    static CheckResult failed(String cause) {
        String line = cause.replaceAll("\\s+", " ").trim();
        return new CheckResult(false, null, 0,
            line.length() <= MAX_CAUSE_LENGTH ? line : line.substring(0, MAX_CAUSE_LENGTH - 3) + "...");
    }

    /** The JSON object the REST resource answers with and the command prints. */
    public Map<String, Object> toJson() {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("reachable", reachable);
        if (reachable) {
            json.put("clusterId", clusterId);
            json.put("brokers", brokers);
        } else {
            json.put("cause", cause);
        }
        return json;
    }
}
