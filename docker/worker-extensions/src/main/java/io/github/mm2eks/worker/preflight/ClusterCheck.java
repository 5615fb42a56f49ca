package io.github.mm2eks.worker.preflight;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.ConfigTransformer;
import org.apache.kafka.common.config.provider.ConfigProvider;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.utils.Utils;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Connects to one Kafka cluster with a set of client properties and asks it to describe itself.
 *
 * <p>The properties are the ones a connector's clients get ({@code source.cluster.*} without the prefix), with their
 * {@code ${file:...}} and {@code ${dir:...}} references. They are resolved here with the worker's own config
 * providers ({@code config.providers*} of the worker config, with their {@code allowed.paths}), as the worker resolves
 * a connector's config: the check reads the very files the connector's tasks will read, from inside the worker, over
 * the worker's network. (Kafka clients inside Connect do not instantiate config providers themselves.) Resolved
 * values stay in memory: a cause never quotes one.
 *
 * <p>A success is remembered for a minute, keyed by a digest of the resolved properties: a preview of many connectors
 * of one source connects once, and a changed secret file is a new key. Failures are never remembered.
 */
public final class ClusterCheck {

    static final String PROVIDERS_PREFIX = "config.providers";
    /** A config provider reference, as Kafka's ConfigTransformer matches them: ${provider:[path:]key}. */
    static final Pattern PROVIDER_CLASS = Pattern.compile("config\\.providers\\.([^.]+)\\.class");
    static final Pattern REFERENCE = Pattern.compile("\\$\\{([^}]*?):(([^}]*?):)?([^}]*?)\\}");
    static final Duration SUCCESS_MEMORY = Duration.ofMinutes(1);
    /** How long each bootstrap address gets to accept a TCP connection when the cluster did not answer. */
    static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);

    private final ConfigTransformer transformer;
    private final Set<String> providerNames;
    private final Clock clock;
    private final Map<String, Success> successes = new ConcurrentHashMap<>();

    private record Success(CheckResult result, long atMillis) {
    }

    public ClusterCheck(Map<String, ?> providerSettings) {
        this(providerSettings, Clock.systemUTC());
    }

    ClusterCheck(Map<String, ?> providerSettings, Clock clock) {
        Map<String, ConfigProvider> providers = configProviders(providerSettings);
        this.transformer = new ConfigTransformer(providers);
        this.providerNames = Set.copyOf(providers.keySet());
        this.clock = clock;
    }

    /**
     * The config providers named by {@code config.providers}, configured with their {@code param.*} settings.
     *
     * <p>Connect hands REST extensions the worker config without {@code config.providers} itself (it has consumed
     * it), so without that key every {@code config.providers.<name>.class} names one.
     */
    static Map<String, ConfigProvider> configProviders(Map<String, ?> settings) {
        Map<String, ConfigProvider> providers = new HashMap<>();
        Object listed = settings.get(PROVIDERS_PREFIX);
        List<String> names = new ArrayList<>();
        if (listed != null) {
            names.addAll(List.of(String.valueOf(listed).split(",")));
        } else {
            settings.keySet().forEach(key -> {
                Matcher named = PROVIDER_CLASS.matcher(key);
                if (named.matches()) {
                    names.add(named.group(1));
                }
            });
        }
        for (String name : names) {
            String provider = name.trim();
            if (provider.isEmpty()) {
                continue;
            }
            String prefix = PROVIDERS_PREFIX + "." + provider + ".";
            Object className = settings.get(prefix + "class");
            if (className == null) {
                throw new IllegalArgumentException(prefix + "class is not set");
            }
            Map<String, Object> params = new HashMap<>();
            settings.forEach((key, value) -> {
                if (key.startsWith(prefix + "param.")) {
                    params.put(key.substring((prefix + "param.").length()), value);
                }
            });
            try {
                ConfigProvider instance = Utils.newInstance(String.valueOf(className), ConfigProvider.class);
                instance.configure(params);
                providers.put(provider, instance);
            } catch (ClassNotFoundException error) {
                throw new IllegalArgumentException(prefix + "class: " + className + " not found", error);
            }
        }
        return providers;
    }

    /** The config providers this check resolves references with (for the worker's log). */
    Set<String> providerNames() {
        return providerNames;
    }

    /** The worker config's {@code config.providers*} entries, which resolve the references of a request. */
    static Map<String, Object> providerSettings(Map<String, ?> workerConfig) {
        Map<String, Object> settings = new HashMap<>();
        workerConfig.forEach((key, value) -> {
            if (key.startsWith(PROVIDERS_PREFIX) && value != null) {
                settings.put(key, value);
            }
        });
        return settings;
    }

    /**
     * Checks the cluster within {@code timeout}; the properties must not define config providers of their own.
     *
     * @throws IllegalArgumentException for properties that are not a client's connection settings
     */
    public CheckResult check(Map<String, String> properties, Duration timeout) {
        for (String key : properties.keySet()) {
            if (key.startsWith(PROVIDERS_PREFIX)) {
                throw new IllegalArgumentException(key + ": config providers are the worker's own, not a request's");
            }
        }
        String bootstrap = properties.get(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG);
        if (bootstrap == null || bootstrap.isBlank()) {
            throw new IllegalArgumentException("bootstrap.servers is required");
        }
        int millis = (int) Math.max(1000, timeout.toMillis());
        Map<String, String> resolved;
        try {
            resolved = transformer.transform(properties).data();
        } catch (ConfigException error) {
            return CheckResult.failed("the settings' references cannot be resolved: " + error.getMessage());
        }
        for (Map.Entry<String, String> entry : resolved.entrySet()) {
            Matcher unresolved = REFERENCE.matcher(entry.getValue());
            if (unresolved.find()) {
                return CheckResult.failed(entry.getKey() + ": " + unresolved.group() + " resolves to nothing (no such "
                    + "file or key where the worker reads its secrets, or no config provider " + unresolved.group(1)
                    + ")");
            }
        }
        // Keyed by what the files hold now, so that a changed secret is checked again at once.
        String key = digest(resolved);
        Success recent = successes.get(key);
        if (recent != null && clock.millis() - recent.atMillis() < SUCCESS_MEMORY.toMillis()) {
            return recent.result();
        }
        CheckResult result = connect(properties, resolved, bootstrap, millis);
        if (result.reachable()) {
            successes.put(key, new Success(result, clock.millis()));
        }
        return result;
    }

    /** A SHA-256 of the resolved properties: the memory of successes holds no secret. */
    static String digest(Map<String, String> resolved) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            new TreeMap<>(resolved).forEach((name, value) -> {
                sha.update(name.getBytes(StandardCharsets.UTF_8));
                sha.update((byte) 0);
                sha.update(value.getBytes(StandardCharsets.UTF_8));
                sha.update((byte) 0);
            });
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException error) {
            throw new IllegalStateException("every JDK has SHA-256", error);
        }
    }

    private CheckResult connect(Map<String, String> properties, Map<String, String> resolved, String bootstrap,
        int millis) {
        Map<String, Object> config = new HashMap<>(resolved);
        config.put(AdminClientConfig.CLIENT_ID_CONFIG, "mm2-eks-cluster-check");
        config.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, millis);
        config.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, millis);
        config.put(AdminClientConfig.SOCKET_CONNECTION_SETUP_TIMEOUT_MS_CONFIG, Math.min(millis, 5000));
        config.put(AdminClientConfig.SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS_CONFIG, Math.min(millis, 5000));
        config.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 1000);
        Admin admin;
        try {
            admin = Admin.create(config);
        } catch (RuntimeException error) {
            // Before any connection: a class that does not load, a file that cannot be read, a bad value.
            return CheckResult.failed(scrub("the client cannot be created with these settings: "
                + FailureCause.withRootCause(error), properties, resolved));
        }
        try {
            DescribeClusterResult described = admin.describeCluster(new DescribeClusterOptions().timeoutMs(millis));
            String clusterId = described.clusterId().get(millis + 2000L, TimeUnit.MILLISECONDS);
            int brokers = described.nodes().get(millis + 2000L, TimeUnit.MILLISECONDS).size();
            return CheckResult.reached(clusterId, brokers);
        } catch (ExecutionException error) {
            Throwable cause = error.getCause() == null ? error : error.getCause();
            if (cause instanceof AuthorizationException) {
                // Connected and authenticated: what the principal may do is the ACLs' or IAM's business.
                return CheckResult.reached(null, 0);
            }
            if (cause instanceof TimeoutException) {
                return CheckResult.failed(noAnswer(bootstrap, millis));
            }
            return CheckResult.failed(scrub(FailureCause.describe(cause), properties, resolved));
        } catch (java.util.concurrent.TimeoutException error) {
            return CheckResult.failed(noAnswer(bootstrap, millis));
        } catch (InterruptedException error) {
            Thread.currentThread().interrupt();
            return CheckResult.failed("interrupted while checking the cluster");
        } finally {
            admin.close(Duration.ofSeconds(2));
        }
    }

    /** Replaces every value that came from a reference (a password, a key) by its reference, should one show. */
    static String scrub(String cause, Map<String, String> properties, Map<String, String> resolved) {
        String scrubbed = cause;
        for (Map.Entry<String, String> entry : properties.entrySet()) {
            String value = resolved.get(entry.getKey());
            if (entry.getValue().contains("${") && value != null && !value.equals(entry.getValue())) {
                for (String line : value.split("\\R")) {
                    if (line.trim().length() >= 4) {
                        scrubbed = scrubbed.replace(line.trim(), "[" + entry.getKey() + "]");
                    }
                }
            }
        }
        return scrubbed;
    }

    /** Why nothing answered: what a TCP connection to each bootstrap address says. */
    static String noAnswer(String bootstrap, int millis) {
        List<String> refused = new ArrayList<>();
        List<String> silent = new ArrayList<>();
        List<String> unknown = new ArrayList<>();
        List<String> open = new ArrayList<>();
        for (String server : bootstrap.split(",")) {
            String address = server.trim();
            int colon = address.lastIndexOf(':');
            if (colon < 0) {
                unknown.add(address);
                continue;
            }
            InetSocketAddress target;
            try {
                target = new InetSocketAddress(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1)));
            } catch (IllegalArgumentException error) {
                unknown.add(address);
                continue;
            }
            if (target.isUnresolved()) {
                unknown.add(address);
                continue;
            }
            try (Socket socket = new Socket()) {
                socket.connect(target, (int) PROBE_TIMEOUT.toMillis());
                open.add(address);
            } catch (ConnectException error) {
                refused.add(address);
            } catch (SocketTimeoutException error) {
                silent.add(address);
            } catch (IOException error) {
                refused.add(address);
            }
        }
        String within = "within " + (millis / 1000) + " s";
        List<String> parts = new ArrayList<>();
        if (!unknown.isEmpty()) {
            parts.add("unknown host " + String.join(", ", unknown));
        }
        if (!refused.isEmpty()) {
            parts.add(String.join(", ", refused) + " refused the connection (nothing listens there)");
        }
        if (!silent.isEmpty()) {
            parts.add(String.join(", ", silent) + " did not accept a TCP connection within "
                + PROBE_TIMEOUT.toSeconds() + " s (a firewall, a security group or no route)");
        }
        if (!open.isEmpty()) {
            parts.add(String.join(", ", open) + " accepted TCP connections but gave no Kafka answer " + within
                + " with these settings (a TLS listener reached without TLS or the reverse, or a broker that closes"
                + " the connection after the handshake)");
        }
        return "no broker answered " + within + ": " + String.join("; ", parts);
    }
}
