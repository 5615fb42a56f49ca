package io.github.mm2eks.worker.offsets;

import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * The clients of one run, per cluster alias, created on first use and closed together. Every client call is bounded by
 * the request's timeout, so a cluster that cannot be reached ends the run with an error instead of a hang.
 */
final class Clusters implements AutoCloseable {

    private static final String CLIENT_ID = "mm2ctl-offsets";

    private final Map<String, Map<String, Object>> connections;
    private final Duration timeout;
    private final Map<String, Admin> admins = new HashMap<>();
    private final Map<String, KafkaConsumer<byte[], byte[]>> consumers = new HashMap<>();

    Clusters(Map<String, Map<String, Object>> connections, Duration timeout) {
        this.connections = connections;
        this.timeout = timeout;
    }

    Duration timeout() {
        return timeout;
    }

    Admin admin(String cluster) {
        return admins.computeIfAbsent(cluster, alias -> {
            Map<String, Object> config = bounded(connection(alias));
            config.put(CommonClientConfigs.CLIENT_ID_CONFIG, CLIENT_ID + "-admin");
            return Admin.create(config);
        });
    }

    /**
     * A consumer that never joins a group and never commits: it only reads by assignment, and only committed
     * records (markers of exactly-once transactions and aborted records are not counted as records).
     */
    KafkaConsumer<byte[], byte[]> consumer(String cluster) {
        return consumers.computeIfAbsent(cluster, alias -> {
            Map<String, Object> config = bounded(connection(alias));
            config.put(CommonClientConfigs.CLIENT_ID_CONFIG, CLIENT_ID + "-reader");
            config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
            config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "10000");
            return new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        });
    }

    /** Where a cluster is, for error messages (never its credentials). */
    String address(String cluster) {
        return String.valueOf(connection(cluster).get(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG));
    }

    private Map<String, Object> connection(String cluster) {
        Map<String, Object> connection = connections.get(cluster);
        if (connection == null) {
            throw ToolFailure.request("unknown cluster '" + cluster + "'; the tool was given " + connections.keySet());
        }
        return connection;
    }

    private Map<String, Object> bounded(Map<String, Object> connection) {
        Map<String, Object> config = new HashMap<>(connection);
        String millis = Long.toString(timeout.toMillis());
        config.put(CommonClientConfigs.DEFAULT_API_TIMEOUT_MS_CONFIG, millis);
        config.put(CommonClientConfigs.REQUEST_TIMEOUT_MS_CONFIG, Long.toString(Math.min(timeout.toMillis(), 30_000)));
        // Fail over to the next bootstrap server quickly instead of waiting for the default 30 s socket setup.
        config.put(CommonClientConfigs.SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS_CONFIG, "10000");
        return config;
    }

    @Override
    public void close() {
        consumers.values().forEach(consumer -> consumer.close(Duration.ofSeconds(5)));
        admins.values().forEach(admin -> admin.close(Duration.ofSeconds(5)));
    }
}
