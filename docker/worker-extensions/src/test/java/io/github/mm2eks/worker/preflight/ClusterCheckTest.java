package io.github.mm2eks.worker.preflight;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

class ClusterCheckTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(1);

    private static int closedPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    @Test
    void aClosedPortIsRefused() throws IOException {
        String address = "127.0.0.1:" + closedPort();
        CheckResult result = new ClusterCheck(Map.of()).check(Map.of("bootstrap.servers", address), TIMEOUT);
        assertFalse(result.reachable());
        assertTrue(result.cause().contains(address + " refused the connection"), result.cause());
    }

    @Test
    void aListenerThatNeverAnswersKafkaIsNamed() throws IOException {
        // Accepts TCP connections (the backlog does) but never speaks: like a TLS listener to a plaintext client.
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            String address = "127.0.0.1:" + silent.getLocalPort();
            CheckResult result = new ClusterCheck(Map.of()).check(Map.of("bootstrap.servers", address), TIMEOUT);
            assertFalse(result.reachable());
            assertTrue(result.cause().contains(address + " accepted TCP connections but gave no Kafka answer"),
                result.cause());
        }
    }

    @Test
    void settingsTheClientRejectsAreAConfigurationError() throws IOException {
        Map<String, String> properties = Map.of("bootstrap.servers", "127.0.0.1:" + closedPort(),
            "security.protocol", "SASL_SSL", "sasl.mechanism", "PLAIN",
            "sasl.jaas.config", "com.example.NoSuchLoginModule required;");
        CheckResult result = new ClusterCheck(Map.of()).check(properties, TIMEOUT);
        assertFalse(result.reachable());
        assertTrue(result.cause().startsWith("the client cannot be created with these settings: "), result.cause());
        assertTrue(result.cause().contains("com.example.NoSuchLoginModule"), result.cause());
    }

    @Test
    void aRequestCannotBringItsOwnConfigProviders() {
        ClusterCheck check = new ClusterCheck(Map.of());
        assertThrows(IllegalArgumentException.class, () -> check.check(Map.of("bootstrap.servers", "127.0.0.1:1",
            "config.providers", "file"), TIMEOUT));
        assertThrows(IllegalArgumentException.class, () -> check.check(Map.of("security.protocol", "SSL"), TIMEOUT));
    }

    @Test
    void referencesAreResolvedWithTheWorkersProvidersAndAMissingFileIsNamed(@TempDir Path secrets) throws IOException {
        Files.writeString(secrets.resolve("source.properties"), "sasl.jaas.config=com.example.NoSuchLoginModule required;\n");
        // As Connect hands them to a REST extension: without config.providers itself.
        Map<String, Object> providers = Map.of(
            "config.providers.file.class", "org.apache.kafka.common.config.provider.FileConfigProvider",
            "config.providers.file.param.allowed.paths", secrets.toString(),
            "config.providers.dir.class", "org.apache.kafka.common.config.provider.DirectoryConfigProvider",
            "config.providers.dir.param.allowed.paths", secrets.toString());
        ClusterCheck check = new ClusterCheck(providers);
        String address = "127.0.0.1:" + closedPort();
        Map<String, String> sasl = Map.of("bootstrap.servers", address, "security.protocol", "SASL_PLAINTEXT",
            "sasl.mechanism", "PLAIN", "sasl.jaas.config", "${file:" + secrets + "/source.properties:sasl.jaas.config}");
        // Resolved: the client sees the file's login module (and fails to load it), not the reference.
        assertTrue(check.check(sasl, TIMEOUT).cause().contains("com.example.NoSuchLoginModule"));
        Map<String, String> missing = Map.of("bootstrap.servers", address, "security.protocol", "SSL",
            "ssl.truststore.type", "PEM", "ssl.truststore.certificates", "${dir:" + secrets + ":source-ca.pem}");
        CheckResult result = check.check(missing, TIMEOUT);
        assertFalse(result.reachable());
        assertTrue(result.cause().startsWith("ssl.truststore.certificates: ${dir:" + secrets + ":source-ca.pem} "
            + "resolves to nothing"), result.cause());
    }

    @Test
    void aResolvedValueNeverShowsInACause() {
        Map<String, String> properties = Map.of("sasl.jaas.config", "${file:/s/a.properties:sasl.jaas.config}");
        Map<String, String> resolved = Map.of("sasl.jaas.config", "Module required password=\"hunter2-secret\";");
        String scrubbed = ClusterCheck.scrub("bad value Module required password=\"hunter2-secret\";", properties,
            resolved);
        assertFalse(scrubbed.contains("hunter2-secret"), scrubbed);
    }

    @Test
    void onlyTheWorkersProviderSettingsAreKept() {
        Map<String, Object> kept = ClusterCheck.providerSettings(Map.of("config.providers", "file",
            "config.providers.file.class", "org.apache.kafka.common.config.provider.FileConfigProvider",
            "bootstrap.servers", "destination:9092", "group.id", "mm2"));
        assertTrue(kept.keySet().stream().allMatch(key -> key.startsWith("config.providers")), kept.toString());
        assertTrue(kept.size() == 2, kept.toString());
    }
}
