package io.github.mm2eks.worker.restarts;

import org.apache.kafka.common.config.ConfigException;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The supervisor's settings, read from the worker config that Connect hands to REST extensions
 * ({@code WorkerConfig.originals()}: config-provider references such as {@code ${env:POD_IP}} are already resolved).
 * connect/worker_properties.py renders the {@code mm2.task.restarts.*} keys.
 *
 * @param workerId          this worker's id in connector and task statuses: Connect's advertised host:port
 * @param workerUri         this worker's own REST listener, reached on loopback
 * @param authorizationFile the value of a Basic Authorization header (base64 of user:password), read at each
 *                          restart so that a rotated password is picked up; empty when REST auth is off
 * @param maxRestarts       empty for unlimited
 */
public record RestartSettings(String workerId, URI workerUri, Optional<Path> authorizationFile, OptionalInt maxRestarts,
                              BackoffSchedule schedule, Duration healthyAfter, Duration pollInterval) {

    static final String PREFIX = "mm2.task.restarts.";
    /** Restarts of one connector or task before it is left FAILED; unset or empty: unlimited. */
    public static final String MAX = PREFIX + "max";
    /** The back-off's unit: a minute (60000) on EKS, as Strimzi. */
    public static final String BACKOFF_UNIT_MS = PREFIX + "backoff.unit.ms";
    /** How long a restarted connector or task must keep RUNNING before its count goes back to zero. */
    public static final String HEALTHY_AFTER_MS = PREFIX + "healthy.after.ms";
    /** How often the worker reads the connectors' health. */
    public static final String POLL_INTERVAL_MS = PREFIX + "poll.interval.ms";
    /** The file holding the Basic auth token for the worker's own REST API (the readiness probe's file). */
    public static final String AUTHORIZATION_FILE = PREFIX + "authorization.file";

    static final long DEFAULT_BACKOFF_UNIT_MS = 60_000;
    static final long DEFAULT_HEALTHY_AFTER_MS = 600_000;
    static final long DEFAULT_POLL_INTERVAL_MS = 10_000;
    static final long MIN_POLL_INTERVAL_MS = 100;

    // Connect's own listener syntax: PROTOCOL://[host]:port, the host optional (all interfaces).
    private static final Pattern LISTENER = Pattern.compile("^(\\w+)://(\\[[0-9a-fA-F:.]+]|[^:/\\[\\]]*):(\\d+)/?$");
    private static final List<String> WILDCARD_HOSTS = List.of("", "0.0.0.0", "::", "[::]");

    public static RestartSettings fromWorkerConfig(Map<String, ?> config) {
        Listener listener = httpListener(config);
        String advertisedHost = text(config, "rest.advertised.host.name");
        String advertisedPort = text(config, "rest.advertised.port");
        // Connect's worker id is its advertised URL's host and port (RestServer.advertisedUrl): the advertised
        // name and port when set, else the listener's, else the local address Jetty reports.
        String host = !advertisedHost.isEmpty() ? advertisedHost
            : !listener.host.isEmpty() ? listener.host : localAddress();
        int port = advertisedPort.isEmpty() ? listener.port : integer("rest.advertised.port", advertisedPort, 1);
        String workerId = uriHost(host) + ":" + port;

        String loopbackHost = WILDCARD_HOSTS.contains(listener.host) ? "127.0.0.1" : uriHost(listener.host);
        URI workerUri = URI.create("http://" + loopbackHost + ":" + listener.port + "/");

        String file = text(config, AUTHORIZATION_FILE);
        Optional<Path> authorizationFile = Optional.empty();
        if (!file.isEmpty()) {
            Path path = Path.of(file);
            if (!Files.isReadable(path)) {
                throw new ConfigException(AUTHORIZATION_FILE, file, "the file is missing or not readable");
            }
            authorizationFile = Optional.of(path);
        }
        String max = text(config, MAX);
        OptionalInt maxRestarts = max.isEmpty() ? OptionalInt.empty() : OptionalInt.of(integer(MAX, max, 0));
        Duration unit = millis(config, BACKOFF_UNIT_MS, DEFAULT_BACKOFF_UNIT_MS, 1);
        Duration healthyAfter = millis(config, HEALTHY_AFTER_MS, DEFAULT_HEALTHY_AFTER_MS, 1);
        Duration pollInterval = millis(config, POLL_INTERVAL_MS, DEFAULT_POLL_INTERVAL_MS, MIN_POLL_INTERVAL_MS);
        return new RestartSettings(workerId, workerUri, authorizationFile, maxRestarts, new BackoffSchedule(unit),
            healthyAfter, pollInterval);
    }

    /**
     * After a restart, how long a FAILED status may still be the old one: two polls, so that a status-topic update
     * a little slower than one poll is not mistaken for a new failure.
     */
    Duration settle() {
        return pollInterval.multipliedBy(2);
    }

    String describeMax() {
        return maxRestarts.isPresent() ? Integer.toString(maxRestarts.getAsInt()) : "unlimited";
    }

    private record Listener(String host, int port) {
    }

    private static Listener httpListener(Map<String, ?> config) {
        String listeners = text(config, "listeners");
        if (listeners.isEmpty()) {
            listeners = "http://:8083"; // Connect's default
        }
        for (String candidate : listeners.split(",")) {
            Matcher matcher = LISTENER.matcher(candidate.trim());
            if (matcher.matches() && matcher.group(1).equalsIgnoreCase("http")) {
                return new Listener(matcher.group(2), integer("listeners", matcher.group(3), 1));
            }
        }
        throw new ConfigException("listeners", listeners,
            "the task restart supervisor restarts through the worker's own REST API and needs an http:// listener");
    }

    /** A host as it appears in a URI: IPv6 literals in brackets, as java.net.URI#getHost returns them. */
    private static String uriHost(String host) {
        return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
    }

    private static String localAddress() {
        try {
            return InetAddress.getLocalHost().getHostAddress();
        } catch (UnknownHostException error) {
            throw new ConfigException("rest.advertised.host.name", "",
                "not set, and the local address is unknown (" + error.getMessage() + "): set it so that the "
                    + "task restart supervisor knows its own worker id");
        }
    }

    /** A worker setting as a string: Connect passes the properties file's strings, lists when set in code. */
    private static String text(Map<String, ?> config, String key) {
        Object value = config.get(key);
        if (value == null) {
            return "";
        }
        if (value instanceof List<?> list) {
            return list.stream().map(String::valueOf).collect(Collectors.joining(","));
        }
        if (value instanceof String[] array) {
            return String.join(",", Arrays.asList(array));
        }
        return String.valueOf(value).trim();
    }

    private static int integer(String key, String value, int min) {
        long parsed = number(key, value, min);
        if (parsed > Integer.MAX_VALUE) {
            throw new ConfigException(key, value, "expected a whole number at most " + Integer.MAX_VALUE);
        }
        return (int) parsed;
    }

    private static Duration millis(Map<String, ?> config, String key, long defaultValue, long min) {
        String value = text(config, key);
        return Duration.ofMillis(value.isEmpty() ? defaultValue : number(key, value, min));
    }

    private static long number(String key, String value, long min) {
        long parsed;
        try {
            parsed = Long.parseLong(value.trim());
        } catch (NumberFormatException error) {
            throw new ConfigException(key, value, "expected a whole number of at least " + min);
        }
        if (parsed < min) {
            throw new ConfigException(key, value, "expected a whole number of at least " + min);
        }
        return parsed;
    }
}
