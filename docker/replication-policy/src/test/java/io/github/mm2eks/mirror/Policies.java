package io.github.mm2eks.mirror;

import java.util.HashMap;
import java.util.Map;

/** Builds configured policies the way MirrorMaker does: one flat map of connector settings. */
final class Policies {

    static final String ALIAS = "source.cluster.alias";
    static final String TEMPLATE = RenamingReplicationPolicy.TOPIC_TEMPLATE_CONFIG;
    static final String RENAMES = RenamingReplicationPolicy.TOPIC_RENAMES_CONFIG;

    private Policies() {
    }

    /** @param keyValues alternating keys and values */
    static RenamingReplicationPolicy policy(String... keyValues) {
        RenamingReplicationPolicy policy = new RenamingReplicationPolicy();
        policy.configure(config(keyValues));
        return policy;
    }

    static Map<String, String> config(String... keyValues) {
        Map<String, String> config = new HashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            config.put(keyValues[i], keyValues[i + 1]);
        }
        // Connectors carry many unrelated settings; the policy must ignore them.
        config.putIfAbsent("name", "east-to-west-source");
        config.putIfAbsent("target.cluster.alias", "west");
        return config;
    }
}
