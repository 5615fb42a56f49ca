package io.github.mm2eks.worker.restarts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.connect.runtime.distributed.DistributedConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

class RestartSettingsTest {

    /** The worker properties connect/worker_properties.py renders for a pod, trimmed to what matters here. */
    static Map<String, String> podProperties() {
        Map<String, String> properties = new HashMap<>();
        properties.put("group.id", "mm2-test");
        properties.put("config.storage.topic", "mm2-test-configs");
        properties.put("offset.storage.topic", "mm2-test-offsets");
        properties.put("status.storage.topic", "mm2-test-status");
        properties.put("key.converter", "org.apache.kafka.connect.converters.ByteArrayConverter");
        properties.put("value.converter", "org.apache.kafka.connect.converters.ByteArrayConverter");
        properties.put("listeners", "http://0.0.0.0:8083");
        properties.put("rest.advertised.host.name", "10.1.2.3");
        properties.put("rest.advertised.port", "8083");
        properties.put("rest.advertised.listener", "http");
        return properties;
    }

    @Test
    void connectHandsExtensionsTheWorkerConfigWithProviderReferencesResolved() {
        // Plugins.newPlugin configures a REST extension with WorkerConfig.originals(): on EKS the advertised host
        // is ${env:POD_IP}, so the worker id is only right if that reference is resolved by then.
        Map.Entry<String, String> variable = System.getenv().entrySet().stream()
            .filter(entry -> entry.getValue().matches("[\\w./-]+"))
            .findFirst().orElseThrow();
        Map<String, String> properties = podProperties();
        properties.put("config.providers", "env");
        properties.put("config.providers.env.class", "org.apache.kafka.common.config.provider.EnvVarConfigProvider");
        properties.put("rest.advertised.host.name", "${env:" + variable.getKey() + "}");

        RestartSettings settings = RestartSettings.fromWorkerConfig(new DistributedConfig(properties).originals());

        assertEquals(variable.getValue() + ":8083", settings.workerId());
    }

    @Test
    void theWorkerIdIsTheAdvertisedHostAndPortAndRestartsGoToLoopback() {
        RestartSettings settings = RestartSettings.fromWorkerConfig(podProperties());
        assertEquals("10.1.2.3:8083", settings.workerId());
        assertEquals(URI.create("http://127.0.0.1:8083/"), settings.workerUri());
        assertEquals(Optional.empty(), settings.authorizationFile());
        // Strimzi's defaults: unlimited, a minute per unit; reset after ten minutes running.
        assertEquals(OptionalInt.empty(), settings.maxRestarts());
        assertEquals(Duration.ofMinutes(1), settings.schedule().unit());
        assertEquals(Duration.ofMinutes(10), settings.healthyAfter());
        assertEquals(Duration.ofSeconds(10), settings.pollInterval());
    }

    @Test
    void theLocalRuntimesWorkerListensOnLoopbackAlready() {
        Map<String, String> properties = podProperties();
        properties.put("listeners", "http://127.0.0.1:41234");
        properties.put("rest.advertised.host.name", "127.0.0.1");
        properties.put("rest.advertised.port", "41234");
        RestartSettings settings = RestartSettings.fromWorkerConfig(properties);
        assertEquals("127.0.0.1:41234", settings.workerId());
        assertEquals(URI.create("http://127.0.0.1:41234/"), settings.workerUri());
    }

    @Test
    void withoutAdvertisedSettingsTheListenerIsTheWorkerId() {
        Map<String, String> properties = podProperties();
        properties.remove("rest.advertised.host.name");
        properties.remove("rest.advertised.port");
        properties.put("listeners", "https://10.9.9.9:8443,http://10.1.1.1:8084");
        RestartSettings settings = RestartSettings.fromWorkerConfig(properties);
        assertEquals("10.1.1.1:8084", settings.workerId());
        assertEquals(URI.create("http://10.1.1.1:8084/"), settings.workerUri());
    }

    @Test
    void anIpv6PodAddressIsBracketedAsConnectReportsIt() {
        Map<String, String> properties = podProperties();
        properties.put("rest.advertised.host.name", "fd00::12");
        assertEquals("[fd00::12]:8083", RestartSettings.fromWorkerConfig(properties).workerId());
    }

    @Test
    void readsItsOwnSettings(@TempDir Path folder) throws Exception {
        Path token = Files.writeString(folder.resolve("probe-authorization"), "dXNlcjpwYXNz\n");
        Map<String, String> properties = podProperties();
        properties.put(RestartSettings.MAX, "3");
        properties.put(RestartSettings.BACKOFF_UNIT_MS, "1000");
        properties.put(RestartSettings.HEALTHY_AFTER_MS, "20000");
        properties.put(RestartSettings.POLL_INTERVAL_MS, "1000");
        properties.put(RestartSettings.AUTHORIZATION_FILE, token.toString());
        RestartSettings settings = RestartSettings.fromWorkerConfig(properties);
        assertEquals(OptionalInt.of(3), settings.maxRestarts());
        assertEquals(Duration.ofSeconds(1), settings.schedule().unit());
        assertEquals(Duration.ofSeconds(20), settings.healthyAfter());
        assertEquals(Duration.ofSeconds(2), settings.settle());
        assertEquals(Optional.of(token), settings.authorizationFile());
    }

    @Test
    void errorsNameTheKey() {
        assertRefused(RestartSettings.MAX, "-1", "at least 0");
        assertRefused(RestartSettings.MAX, "many", "at least 0");
        assertRefused(RestartSettings.BACKOFF_UNIT_MS, "0", "at least 1");
        assertRefused(RestartSettings.POLL_INTERVAL_MS, "10", "at least 100");
        assertRefused(RestartSettings.AUTHORIZATION_FILE, "/nonexistent/probe-authorization", "not readable");
        assertRefused("listeners", "https://0.0.0.0:8443", "needs an http:// listener");
    }

    static void assertRefused(String key, String value, String expected) {
        Map<String, String> properties = podProperties();
        properties.put(key, value);
        ConfigException error = assertThrows(ConfigException.class, () -> RestartSettings.fromWorkerConfig(properties));
        assertTrue(error.getMessage().contains(key) && error.getMessage().contains(expected), error.getMessage());
    }
}
