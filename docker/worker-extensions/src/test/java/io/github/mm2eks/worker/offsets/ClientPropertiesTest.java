package io.github.mm2eks.worker.offsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** A worker's own properties file works as the tool's client properties: connection settings only, secrets resolved. */
class ClientPropertiesTest {

    @TempDir
    Path folder;

    @Test
    void aWorkersFileGivesOnlyItsConnectionSettingsWithTheSecretResolved() throws IOException {
        Path secrets = Files.createDirectories(folder.resolve("secrets"));
        Files.writeString(secrets.resolve("source.properties"),
            "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"p\";\n");
        Path worker = folder.resolve("connect-distributed.properties");
        Files.writeString(worker, String.join("\n",
            "group.id=mm2-staging",
            "offset.storage.topic=mm2-staging-offsets",
            "bootstrap.servers=b-1.example:9096",
            "security.protocol=SASL_SSL",
            "sasl.mechanism=PLAIN",
            "sasl.jaas.config=${file:" + secrets.resolve("source.properties") + ":sasl.jaas.config}",
            "producer.bootstrap.servers=b-1.example:9096",
            "config.providers=file,env",
            "config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider",
            "config.providers.file.param.allowed.paths=" + secrets,
            "config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider",
            "rest.advertised.host.name=${env:POD_IP}",
            ""));

        Map<String, Object> connection = ClientProperties.connection("destination", ClientProperties.read(worker));

        assertEquals(Map.of(
            "bootstrap.servers", "b-1.example:9096",
            "security.protocol", "SASL_SSL",
            "sasl.mechanism", "PLAIN",
            "sasl.jaas.config",
            "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"p\";"),
            connection);
        assertFalse(connection.containsKey("group.id"), "the tool must never act as the worker's Connect group");
    }

    @Test
    void inlineSettingsOverTheFileAndNoFileAtAll() {
        Map<String, String> merged = ClientProperties.merge(null, Map.of("bootstrap.servers", "127.0.0.1:9092"));
        assertEquals(Map.of("bootstrap.servers", "127.0.0.1:9092"), ClientProperties.connection("source", merged));
    }

    @Test
    void aReferenceOutsideTheAllowedFolderIsARequestErrorNamingTheCluster() throws IOException {
        Path secrets = Files.createDirectories(folder.resolve("secrets"));
        Path elsewhere = Files.writeString(folder.resolve("elsewhere.properties"), "sasl.jaas.config=x\n");
        Map<String, String> settings = Map.of(
            "bootstrap.servers", "127.0.0.1:9092",
            "sasl.jaas.config", "${file:" + elsewhere + ":sasl.jaas.config}",
            "config.providers", "file",
            "config.providers.file.class", "org.apache.kafka.common.config.provider.FileConfigProvider",
            "config.providers.file.param.allowed.paths", secrets.toString());
        ToolFailure failure = assertThrows(ToolFailure.class, () -> ClientProperties.connection("source", settings));
        assertEquals(ToolFailure.Kind.REQUEST, failure.kind);
        assertTrue(failure.getMessage().startsWith("cluster 'source': "), failure.getMessage());
    }

    @Test
    void withoutBootstrapServersTheClusterIsNamed() {
        ToolFailure failure = assertThrows(ToolFailure.class,
            () -> ClientProperties.connection("destination", Map.of("security.protocol", "SSL")));
        assertEquals("cluster 'destination': the client properties have no bootstrap.servers", failure.getMessage());
    }

    @Test
    void aProviderWithoutItsClassIsNamed() {
        ToolFailure failure = assertThrows(ToolFailure.class, () -> ClientProperties.connection("source",
            Map.of("bootstrap.servers", "x:1", "config.providers", "file")));
        assertTrue(failure.getMessage().contains("config.providers.file.class is not set"), failure.getMessage());
    }
}
