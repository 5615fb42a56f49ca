package org.apache.kafka.connect.mirror;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.mm2eks.mirror.RenamingReplicationPolicy;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * Runs the policy through MirrorMaker 2's own code (this package, to reach its package-private hooks): the
 * connector configs that instantiate it, the source connector's cycle detection and the checkpoint task's renaming.
 */
class RenamingPolicyInMirrorMakerTest {

    private static final String TEMPLATE = RenamingReplicationPolicy.TOPIC_TEMPLATE_CONFIG;
    private static final String RENAMES = RenamingReplicationPolicy.TOPIC_RENAMES_CONFIG;

    /** What the project writes for a flow east -> west; the source, checkpoint and heartbeat connectors share it. */
    private static Map<String, String> connectorConfig(String template, String renames) {
        Map<String, String> config = new HashMap<>();
        config.put("name", "east-to-west");
        config.put("connector.class", MirrorSourceConnector.class.getName());
        config.put("source.cluster.alias", "east");
        config.put("target.cluster.alias", "west");
        config.put("source.cluster.bootstrap.servers", "localhost:9092");
        config.put("target.cluster.bootstrap.servers", "localhost:9093");
        config.put("replication.policy.class", RenamingReplicationPolicy.class.getName());
        config.put(TEMPLATE, template);
        config.put(RENAMES, renames);
        return config;
    }

    private static final Map<String, String> CONFIG = connectorConfig("${source}.${topic}", "orders:orders-replica");

    private static Map<String, String> checkpointConfig(Map<String, String> sourceConfig) {
        Map<String, String> config = new HashMap<>(sourceConfig);
        config.put("connector.class", MirrorCheckpointConnector.class.getName());
        return config;
    }

    @Test
    void sourceConnectorConfigHandsTheConnectorSettingsToThePolicy() {
        ReplicationPolicy policy = new MirrorSourceConfig(CONFIG).replicationPolicy();
        assertInstanceOf(RenamingReplicationPolicy.class, policy);
        assertEquals("orders-replica", policy.formatRemoteTopic("east", "orders"));
        assertEquals("east.payments", policy.formatRemoteTopic("east", "payments"));
        assertEquals("east", policy.topicSource("orders-replica"));
    }

    @Test
    void checkpointConnectorConfigGetsTheSameNaming() {
        MirrorCheckpointConfig config = new MirrorCheckpointConfig(checkpointConfig(CONFIG));
        assertEquals("orders-replica", config.replicationPolicy().formatRemoteTopic("east", "orders"));
        assertEquals("east.checkpoints.internal", config.checkpointsTopic());
        assertEquals("mm2-offset-syncs.west.internal", config.offsetSyncsTopic());
    }

    @Test
    void mirrorClientAndRemoteClusterUtilsGetTheSameNaming() {
        ReplicationPolicy policy = new MirrorClientConfig(CONFIG).replicationPolicy();
        assertEquals("orders", policy.upstreamTopic("orders-replica"));
        assertEquals("payments", policy.upstreamTopic("east.payments"));
    }

    @Test
    void badSettingFailsTheConnectorConfigWithTheKeyInTheMessage() {
        ConfigException e = assertThrows(ConfigException.class,
            () -> new MirrorSourceConfig(connectorConfig("${topic}.${topic}", "")));
        assertTrue(e.getMessage().contains(TEMPLATE), e.getMessage());
        e = assertThrows(ConfigException.class,
            () -> new MirrorCheckpointConfig(checkpointConfig(connectorConfig("", "orders"))));
        assertTrue(e.getMessage().contains(RENAMES), e.getMessage());
    }

    @Test
    void sourceConnectorDetectsCyclesThroughTheTemplate() {
        MirrorSourceConnector connector = connector(CONFIG);
        assertTrue(connector.shouldReplicateTopic("orders"));
        assertTrue(connector.shouldReplicateTopic("payments"));
        assertFalse(connector.shouldReplicateTopic("west.orders"), "came from the target cluster");
        assertTrue(connector.isCycle("central.west.orders"), "came from the target cluster two hops ago");
        assertTrue(connector.shouldReplicateTopic("central.orders"));
        assertTrue(connector.shouldReplicateTopic("heartbeats"));
        assertTrue(connector.shouldReplicateTopic("central.heartbeats"));
        assertFalse(connector.shouldReplicateTopic("west.heartbeats"), "the target's own heartbeats come back");
        assertFalse(connector.shouldReplicateTopic("mm2-offset-syncs.west.internal"));
        assertFalse(connector.shouldReplicateTopic("east.checkpoints.internal"));
        assertFalse(connector.shouldReplicateTopic("__consumer_offsets"));
    }

    @Test
    void sourceConnectorReplicatesEverythingInIdentityAndRenameModes() {
        MirrorSourceConnector connector = connector(connectorConfig("", "orders:orders-replica"));
        assertTrue(connector.shouldReplicateTopic("orders"));
        assertTrue(connector.shouldReplicateTopic("payments"));
        assertFalse(connector.shouldReplicateTopic("west.heartbeats"));
    }

    @Test
    void checkpointTaskRenamesConsumerOffsetsTheSameWay() {
        ReplicationPolicy policy = new MirrorCheckpointConfig(checkpointConfig(CONFIG)).replicationPolicy();
        MirrorCheckpointTask task = new MirrorCheckpointTask("east", "west", policy, null, Set.of(), Map.of(), null);
        assertEquals(new TopicPartition("orders-replica", 3),
            task.renameTopicPartition(new TopicPartition("orders", 3)));
        assertEquals(new TopicPartition("east.payments", 0),
            task.renameTopicPartition(new TopicPartition("payments", 0)));
        // A group on east reading west's topic (replicated to east as west.orders) maps back to west's original.
        assertEquals(new TopicPartition("orders", 1), task.renameTopicPartition(new TopicPartition("west.orders", 1)));
    }

    private static MirrorSourceConnector connector(Map<String, String> config) {
        ReplicationPolicy policy = new MirrorSourceConfig(config).replicationPolicy();
        return new MirrorSourceConnector(new SourceAndTarget("east", "west"), policy, topic -> true,
            new DefaultConfigPropertyFilter());
    }
}
