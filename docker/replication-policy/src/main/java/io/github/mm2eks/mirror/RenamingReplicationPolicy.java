package io.github.mm2eks.mirror;

import org.apache.kafka.common.Configurable;
import org.apache.kafka.connect.mirror.DefaultReplicationPolicy;
import org.apache.kafka.connect.mirror.ReplicationPolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.Optional;

/**
 * A MirrorMaker 2 replication policy that lets each connector choose its remote topic names:
 * <ul>
 *   <li>identity, the default: remote topics keep their names (like {@code IdentityReplicationPolicy});</li>
 *   <li>{@value #TOPIC_TEMPLATE_CONFIG}: a template such as {@code ${topic}.replica} or
 *       {@code ${source}-${topic}};</li>
 *   <li>{@value #TOPIC_RENAMES_CONFIG}: explicit {@code source:target} pairs, tried before the template.</li>
 * </ul>
 * The naming is one-to-one and is inverted by {@link #topicSource} and {@link #upstreamTopic}, which MirrorMaker
 * relies on for topic refresh, cycle detection, checkpoints and offset translation. Heartbeats topics and the
 * internal topics keep DefaultReplicationPolicy's names (honouring {@code replication.policy.separator}), so
 * heartbeat tracking, {@code RemoteClusterUtils} and cycle detection across clusters keep working.
 *
 * <p>MirrorMaker hands {@link #configure} the whole connector config, so the source, checkpoint and heartbeat
 * connectors of one flow must all carry the same keys, plus {@code source.cluster.alias}.
 */
public class RenamingReplicationPolicy implements ReplicationPolicy, Configurable {

    /** Template for topics without an explicit rename; must contain ${topic} once, may contain ${source} once. */
    public static final String TOPIC_TEMPLATE_CONFIG = "replication.policy.topic.template";
    /** Comma-separated {@code source:target} pairs. */
    public static final String TOPIC_RENAMES_CONFIG = "replication.policy.topic.renames";
    /** The connector's own key; answers topicSource() for names without ${source}, like IdentityReplicationPolicy. */
    public static final String SOURCE_CLUSTER_ALIAS_CONFIG = "source.cluster.alias";

    private static final Logger log = LoggerFactory.getLogger(RenamingReplicationPolicy.class);

    /** Owns heartbeats and internal topic names, so they match what every other MirrorMaker policy produces. */
    private final DefaultReplicationPolicy defaults = new DefaultReplicationPolicy();
    private String separator = DefaultReplicationPolicy.SEPARATOR_DEFAULT;
    private TopicNaming naming = TopicNaming.identity(this::isHeartbeatsName, this::isInternalTopic);

    @Override
    public void configure(Map<String, ?> props) {
        defaults.configure(props);
        // Read exactly as DefaultReplicationPolicy reads it, so heartbeats names agree with the ones it formats.
        separator = props.containsKey(DefaultReplicationPolicy.SEPARATOR_CONFIG)
            ? String.valueOf(props.get(DefaultReplicationPolicy.SEPARATOR_CONFIG))
            : DefaultReplicationPolicy.SEPARATOR_DEFAULT;
        String alias = setting(props, SOURCE_CLUSTER_ALIAS_CONFIG, null);
        naming = TopicNaming.create(alias, setting(props, TOPIC_TEMPLATE_CONFIG, ""),
            setting(props, TOPIC_RENAMES_CONFIG, ""), this::isHeartbeatsName, this::isInternalTopic);
        log.info("Remote topic naming for source cluster '{}': {}", alias, naming.describe());
    }

    @Override
    public String formatRemoteTopic(String sourceClusterAlias, String topic) {
        if (isHeartbeatsName(topic)) {
            return defaults.formatRemoteTopic(sourceClusterAlias, topic);
        }
        return naming.remoteName(sourceClusterAlias, topic);
    }

    @Override
    public String topicSource(String topic) {
        if (topic == null) {
            return null;
        }
        if (isHeartbeatsName(topic)) {
            return defaults.topicSource(topic);
        }
        return naming.origin(topic).map(TopicNaming.Origin::source).orElse(null);
    }

    @Override
    public String upstreamTopic(String topic) {
        if (topic == null) {
            return null;
        }
        if (isHeartbeatsName(topic)) {
            return defaults.upstreamTopic(topic);
        }
        return naming.origin(topic).map(TopicNaming.Origin::topic).orElse(null);
    }

    // Internal topic names depend on the separator settings, which DefaultReplicationPolicy interprets.

    @Override
    public String offsetSyncsTopic(String clusterAlias) {
        return defaults.offsetSyncsTopic(clusterAlias);
    }

    @Override
    public String checkpointsTopic(String clusterAlias) {
        return defaults.checkpointsTopic(clusterAlias);
    }

    @Override
    public boolean isCheckpointsTopic(String topic) {
        return defaults.isCheckpointsTopic(topic);
    }

    @Override
    public boolean isMM2InternalTopic(String topic) {
        return defaults.isMM2InternalTopic(topic);
    }

    /**
     * {@code heartbeats} or {@code <alias><separator>heartbeats}, at any depth. Stricter than
     * IdentityReplicationPolicy, which takes any name ending in "heartbeats" (e.g. {@code user-heartbeats}) for one.
     */
    private boolean isHeartbeatsName(String topic) {
        String heartbeats = heartbeatsTopic();
        return topic != null && (topic.equals(heartbeats) || topic.endsWith(separator + heartbeats));
    }

    /** Unset and blank mean "not configured", so generated configs may always write the keys. */
    private static String setting(Map<String, ?> props, String key, String absent) {
        return Optional.ofNullable(props.get(key)).map(value -> value.toString().trim())
            .filter(value -> !value.isEmpty()).orElse(absent);
    }
}
