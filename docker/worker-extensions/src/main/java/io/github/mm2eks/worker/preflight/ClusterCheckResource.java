package io.github.mm2eks.worker.preflight;

import jakarta.ws.rs.BadRequestException;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * {@code PUT /mm2-eks/clusters/check}: can this worker reach a cluster with these client properties?
 *
 * <p>Body: {@code {"properties": {"bootstrap.servers": ..., "security.protocol": ..., ...}, "timeoutMs": 8000}}.
 * Answer (200 either way: the check itself worked): {@code {"reachable": true, "clusterId": ..., "brokers": 3}} or
 * {@code {"reachable": false, "cause": "authentication failed: ..."}}. A body that is not client properties is a
 * 400. Behind the worker's REST authentication like every other resource.
 */
@Path("/mm2-eks/clusters")
@Produces(MediaType.APPLICATION_JSON)
@Consumes(MediaType.APPLICATION_JSON)
public class ClusterCheckResource {

    static final int DEFAULT_TIMEOUT_MS = 10_000;
    static final int MIN_TIMEOUT_MS = 1_000;
    static final int MAX_TIMEOUT_MS = 60_000;

    private final ClusterCheck check;

    public ClusterCheckResource(ClusterCheck check) {
        this.check = check;
    }

    @PUT
    @Path("/check")
    public Map<String, Object> check(Map<String, Object> body) {
        if (body == null || !(body.get("properties") instanceof Map<?, ?> raw)) {
            throw new BadRequestException("expected {\"properties\": {client property: string, ...}}");
        }
        Map<String, String> properties = new HashMap<>();
        for (Map.Entry<?, ?> entry : raw.entrySet()) {
            if (!(entry.getValue() instanceof String value)) {
                throw new BadRequestException("properties." + entry.getKey() + ": expected a string");
            }
            properties.put(String.valueOf(entry.getKey()), value);
        }
        int timeout = DEFAULT_TIMEOUT_MS;
        Object requested = body.get("timeoutMs");
        if (requested != null) {
            if (!(requested instanceof Number number)) {
                throw new BadRequestException("timeoutMs: expected a number of milliseconds");
            }
            timeout = Math.max(MIN_TIMEOUT_MS, Math.min(MAX_TIMEOUT_MS, number.intValue()));
        }
        try {
            return check.check(properties, Duration.ofMillis(timeout)).toJson();
        } catch (IllegalArgumentException error) {
            throw new BadRequestException(error.getMessage());
        }
    }
}
