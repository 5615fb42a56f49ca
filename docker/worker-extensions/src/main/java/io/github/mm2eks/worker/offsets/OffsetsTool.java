package io.github.mm2eks.worker.offsets;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The Kafka reads and writes of the operator commands ({@code python -m mm2ctl}), run with a worker's own jars,
 * credentials and network: on EKS inside a worker pod, locally beside the local runtime.
 *
 * <pre>
 * java -cp 'libs/*' io.github.mm2eks.worker.offsets.OffsetsTool ALIAS=PROPERTIES_FILE ... &lt; request
 * </pre>
 *
 * Each argument names a cluster and a client properties file (a worker's {@code connect-distributed.properties}
 * works: only its connection settings are used). The request is ONE line of JSON on stdin (one line, so that a
 * Kubernetes exec stream needs no end-of-file):
 * <pre>
 * {"timeoutMs": 30000,
 *  "clusters": {"source": {"bootstrap.servers": "...", ...}},       optional settings per alias, over the file's
 *  "requests": [
 *    {"op": "topics", "cluster": "source", "names": ["orders"]}     or "include"/"exclude": MirrorMaker 2 patterns
 *    {"op": "groups", "cluster": "source", "include": [".*"], "exclude": []}   or "names"
 *    {"op": "checkpoints", "cluster": "destination", "topic": "source.checkpoints.internal"}
 *    {"op": "count", "cluster": "destination", "ranges": [{"topic": "t", "partition": 0, "from": 5, "to": 9, "limit": 100}]}
 *                                                  "to" defaults to the last stable offset; "fromEnd": N instead of "from"
 *    {"op": "setGroupOffsets", "cluster": "destination", "groups": {"g": [{"topic": "t", "partition": 0, "offset": 7}]}}
 *  ]}
 * </pre>
 * The answer is one JSON document on stdout, {@code {"results": [...]}} in the requests' order, or
 * {@code {"error": {"kind", "cluster", "message"}}} with exit status 2 (bad request), 3 (a cluster unreachable or
 * refusing the credentials) or 4 (another Kafka error). Logs go to stderr, so stdout stays JSON.
 */
public final class OffsetsTool {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final long DEFAULT_TIMEOUT_MS = 30_000;

    private OffsetsTool() {
    }

    public static void main(String[] args) {
        // Before any Kafka class logs: the console appender writes to System.out, which is the answer's channel.
        PrintStream answer = System.out;
        System.setOut(System.err);
        ObjectNode output;
        int status = 0;
        try {
            output = answer(args, readRequest());
        } catch (ToolFailure failure) {
            output = MAPPER.createObjectNode();
            ObjectNode error = output.putObject("error");
            error.put("kind", failure.kind.name().toLowerCase()).put("message", failure.getMessage());
            if (failure.cluster != null) {
                error.put("cluster", failure.cluster);
            }
            status = failure.kind.exitStatus;
        }
        answer.println(output.toString());
        answer.flush();
        // Kafka's client threads are not daemons everywhere; the answer is out, so end now.
        System.exit(status);
    }

    static ObjectNode answer(String[] args, JsonNode request) {
        Map<String, Path> files = clusterFiles(args);
        Duration timeout = Duration.ofMillis(request.path("timeoutMs").asLong(DEFAULT_TIMEOUT_MS));
        Map<String, Map<String, Object>> connections = connections(files, request.path("clusters"));
        ObjectNode output = MAPPER.createObjectNode();
        ArrayNode results = output.putArray("results");
        try (Clusters clusters = new Clusters(connections, timeout)) {
            Operations operations = new Operations(clusters);
            JsonNode requests = request.path("requests");
            if (!requests.isArray()) {
                throw ToolFailure.request("the request has no 'requests' list");
            }
            requests.forEach(one -> results.add(operations.run(one)));
        }
        return output;
    }

    /** ALIAS=FILE arguments. */
    static Map<String, Path> clusterFiles(String[] args) {
        Map<String, Path> files = new LinkedHashMap<>();
        for (String arg : args) {
            int equals = arg.indexOf('=');
            if (equals <= 0 || equals == arg.length() - 1) {
                throw ToolFailure.request("expected ALIAS=CLIENT_PROPERTIES_FILE arguments, got '" + arg + "'");
            }
            files.put(arg.substring(0, equals), Path.of(arg.substring(equals + 1)));
        }
        return files;
    }

    static Map<String, Map<String, Object>> connections(Map<String, Path> files, JsonNode inline) {
        Map<String, Map<String, String>> settings = new LinkedHashMap<>();
        files.forEach((alias, file) -> settings.put(alias, ClientProperties.merge(file, Map.of())));
        inline.fields().forEachRemaining(entry -> {
            Map<String, String> values = new HashMap<>();
            entry.getValue().fields().forEachRemaining(field -> values.put(field.getKey(), field.getValue().asText()));
            settings.computeIfAbsent(entry.getKey(), alias -> new LinkedHashMap<>()).putAll(values);
        });
        Map<String, Map<String, Object>> connections = new LinkedHashMap<>();
        settings.forEach((alias, values) -> connections.put(alias, ClientProperties.connection(alias, values)));
        return connections;
    }

    private static JsonNode readRequest() {
        try {
            BufferedReader reader = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            String line = reader.readLine();
            if (line == null || line.isBlank()) {
                throw ToolFailure.request("no request on stdin (expected one line of JSON)");
            }
            return MAPPER.readTree(line);
        } catch (IOException error) {
            throw ToolFailure.request("the request is not JSON: " + error.getMessage());
        }
    }
}
