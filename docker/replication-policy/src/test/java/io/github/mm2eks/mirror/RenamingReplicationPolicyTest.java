package io.github.mm2eks.mirror;

import static io.github.mm2eks.mirror.Policies.ALIAS;
import static io.github.mm2eks.mirror.Policies.RENAMES;
import static io.github.mm2eks.mirror.Policies.TEMPLATE;
import static io.github.mm2eks.mirror.Policies.config;
import static io.github.mm2eks.mirror.Policies.policy;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.kafka.connect.mirror.DefaultReplicationPolicy;
import org.apache.kafka.connect.mirror.IdentityReplicationPolicy;
import org.apache.kafka.connect.mirror.ReplicationPolicy;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.stream.Stream;

class RenamingReplicationPolicyTest {

    /** One policy per mode, all for a connector replicating cluster "east" to "west". */
    static Stream<Arguments> modes() {
        return Stream.of(
            Arguments.of("identity", policy(ALIAS, "east")),
            Arguments.of("template", policy(ALIAS, "east", TEMPLATE, "${topic}.replica")),
            Arguments.of("template with source", policy(ALIAS, "east", TEMPLATE, "${source}-${topic}")),
            Arguments.of("source last", policy(ALIAS, "east", TEMPLATE, "${topic}.from.${source}")),
            Arguments.of("renames", policy(ALIAS, "east", RENAMES, "orders:orders-replica,events:events-staging")),
            Arguments.of("renames + template", policy(ALIAS, "east",
                RENAMES, "orders:orders-replica,events:events-staging", TEMPLATE, "${source}.${topic}")));
    }

    static final List<String> TOPICS = List.of("orders", "events", "payments", "a", "x.y-z_1", "orders-replica",
        "user-heartbeats", "heartbeats", "west.heartbeats", "central.west.heartbeats");

    @ParameterizedTest(name = "{0}")
    @MethodSource("modes")
    void everyRemoteNameLeadsBackToItsTopicAndCluster(String mode, ReplicationPolicy policy) {
        for (String topic : TOPICS) {
            if (mode.startsWith("renames") && topic.equals("orders-replica")) {
                continue; // claimed by the rename of "orders"; see RenamingReplicationPolicyConfigTest
            }
            String remote = policy.formatRemoteTopic("east", topic);
            assertEquals(topic, policy.upstreamTopic(remote), mode + ": upstreamTopic of " + remote);
            assertEquals("east", policy.topicSource(remote), mode + ": topicSource of " + remote);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("modes")
    void heartbeatsKeepTheDefaultNaming(String mode, ReplicationPolicy policy) {
        assertEquals("heartbeats", policy.heartbeatsTopic());
        assertEquals("east.heartbeats", policy.formatRemoteTopic("east", "heartbeats"));
        assertEquals("east.west.heartbeats", policy.formatRemoteTopic("east", "west.heartbeats"));
        assertEquals("east", policy.topicSource("east.heartbeats"));
        assertEquals("heartbeats", policy.upstreamTopic("east.heartbeats"));
        assertEquals("west.heartbeats", policy.upstreamTopic("east.west.heartbeats"));
        assertEquals("heartbeats", policy.originalTopic("east.west.heartbeats"));
        assertNull(policy.topicSource("heartbeats"));
        assertNull(policy.upstreamTopic("heartbeats"));
        assertTrue(policy.isHeartbeatsTopic("heartbeats"));
        assertTrue(policy.isHeartbeatsTopic("east.heartbeats"));
        assertTrue(policy.isHeartbeatsTopic("east.west.heartbeats"));
        assertFalse(policy.isHeartbeatsTopic("orders"));
        assertFalse(policy.isHeartbeatsTopic(policy.formatRemoteTopic("east", "orders")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("modes")
    void internalTopicsAreNamedAndRecognisedLikeDefaultReplicationPolicy(String mode, ReplicationPolicy policy) {
        assertEquals("mm2-offset-syncs.west.internal", policy.offsetSyncsTopic("west"));
        assertEquals("east.checkpoints.internal", policy.checkpointsTopic("east"));
        for (String internal : List.of("__consumer_offsets", "__transaction_state", ".hidden",
            "mm2-offset-syncs.west.internal", "east.checkpoints.internal", "mm2-configs.east.internal",
            "mm2-status.east.internal", "mm2-offsets.east.internal")) {
            assertTrue(policy.isInternalTopic(internal), mode + ": " + internal);
        }
        assertTrue(policy.isCheckpointsTopic("east.checkpoints.internal"));
        assertTrue(policy.isMM2InternalTopic("mm2-offset-syncs.west.internal"));
        for (String ordinary : List.of("orders", "east.heartbeats", "heartbeats",
            policy.formatRemoteTopic("east", "orders"), policy.formatRemoteTopic("east", "payments"))) {
            assertFalse(policy.isInternalTopic(ordinary), mode + ": " + ordinary);
            assertFalse(policy.isCheckpointsTopic(ordinary), mode + ": " + ordinary);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("modes")
    void nullTopicsHaveNoSource(String mode, ReplicationPolicy policy) {
        assertNull(policy.topicSource(null));
        assertNull(policy.upstreamTopic(null));
    }

    @Test
    void customSeparatorAppliesToHeartbeatsAndInternalTopicsOnly() {
        var policy = policy(ALIAS, "east", TEMPLATE, "${source}.${topic}",
            "replication.policy.separator", "_");
        assertEquals("east_heartbeats", policy.formatRemoteTopic("east", "heartbeats"));
        assertEquals("east", policy.topicSource("east_heartbeats"));
        assertEquals("heartbeats", policy.upstreamTopic("east_heartbeats"));
        assertEquals("east.orders", policy.formatRemoteTopic("east", "orders"));

        var kafka = new DefaultReplicationPolicy();
        kafka.configure(config("replication.policy.separator", "_"));
        assertEquals(kafka.offsetSyncsTopic("west"), policy.offsetSyncsTopic("west"));
        assertEquals(kafka.checkpointsTopic("east"), policy.checkpointsTopic("east"));
        assertTrue(policy.isCheckpointsTopic(kafka.checkpointsTopic("east")));
    }

    @Nested
    class Identity {

        @Test
        void keepsNamesAndAnswersTheConfiguredSourceLikeIdentityReplicationPolicy() {
            var kafka = new IdentityReplicationPolicy();
            kafka.configure(config(ALIAS, "east"));
            var policy = policy(ALIAS, "east");
            for (String topic : List.of("orders", "a.b.c", "heartbeats", "east.heartbeats", "west.east.heartbeats")) {
                assertEquals(kafka.formatRemoteTopic("east", topic), policy.formatRemoteTopic("east", topic), topic);
                assertEquals(kafka.topicSource(topic), policy.topicSource(topic), topic);
                assertEquals(kafka.upstreamTopic(topic), policy.upstreamTopic(topic), topic);
                assertEquals(kafka.originalTopic(topic), policy.originalTopic(topic), topic);
                assertEquals(kafka.isHeartbeatsTopic(topic), policy.isHeartbeatsTopic(topic), topic);
            }
        }

        @Test
        void withoutSourceAliasNoTopicHasASourceLikeIdentityReplicationPolicy() {
            var policy = policy();
            assertEquals("orders", policy.formatRemoteTopic("east", "orders"));
            assertNull(policy.topicSource("orders"));
            assertEquals("orders", policy.upstreamTopic("orders"));
        }

        @Test
        void unconfiguredPolicyIsIdentity() {
            var policy = new RenamingReplicationPolicy();
            assertEquals("orders", policy.formatRemoteTopic("east", "orders"));
            assertEquals("orders", policy.upstreamTopic("orders"));
            assertEquals("east.heartbeats", policy.formatRemoteTopic("east", "heartbeats"));
        }

        @Test
        void blankSettingsAndTheBareTopicTemplateMeanIdentity() {
            for (var policy : List.of(policy(ALIAS, "east", TEMPLATE, "", RENAMES, " "),
                policy(ALIAS, "east", TEMPLATE, "${topic}"), policy(ALIAS, "east", TEMPLATE, " ${topic} "))) {
                assertEquals("orders", policy.formatRemoteTopic("east", "orders"));
                assertEquals("east", policy.topicSource("orders"));
                assertEquals("orders", policy.upstreamTopic("orders"));
            }
        }

        @Test
        void nameEndingInHeartbeatsIsAnOrdinaryTopic() {
            // IdentityReplicationPolicy would call this "east.user-heartbeats"; a user topic should keep its name.
            assertEquals("user-heartbeats", policy(ALIAS, "east").formatRemoteTopic("east", "user-heartbeats"));
        }
    }

    @Nested
    class Template {

        @Test
        void suffixTemplate() {
            var policy = policy(ALIAS, "east", TEMPLATE, "${topic}.replica");
            assertEquals("orders.replica", policy.formatRemoteTopic("east", "orders"));
            assertEquals("east", policy.topicSource("orders.replica"));
            assertEquals("orders", policy.upstreamTopic("orders.replica"));
            assertEquals("orders", policy.originalTopic("orders.replica"));
        }

        @Test
        void namesTheTemplateCannotProduceAreLocalTopics() {
            var policy = policy(ALIAS, "east", TEMPLATE, "${topic}.replica");
            assertNull(policy.topicSource("orders"));
            assertNull(policy.upstreamTopic("orders"));
            assertEquals("orders", policy.originalTopic("orders"));
            assertNull(policy.topicSource(".replica"));
        }

        @Test
        void withoutSourceTwoHopsStillLeadToTheOriginalTopic() {
            var policy = policy(ALIAS, "east", TEMPLATE, "${topic}.replica");
            String twoHops = policy.formatRemoteTopic("mid", policy.formatRemoteTopic("east", "orders"));
            assertEquals("orders.replica.replica", twoHops);
            assertEquals("orders.replica", policy.upstreamTopic(twoHops));
            assertEquals("orders", policy.originalTopic(twoHops));
        }

        @Test
        void sourcePrefix() {
            var policy = policy(ALIAS, "east", TEMPLATE, "${source}-${topic}");
            assertEquals("east-orders", policy.formatRemoteTopic("east", "orders"));
            assertEquals("east", policy.topicSource("east-orders"));
            assertEquals("orders", policy.upstreamTopic("east-orders"));
            assertEquals("east-orders-v2", policy.formatRemoteTopic("east", "orders-v2"));
            assertEquals("orders-v2", policy.upstreamTopic("east-orders-v2"));
            assertNull(policy.topicSource("orders"));
            assertNull(policy.upstreamTopic("orders"));
        }

        @Test
        void sourceTracedAcrossTwoHopsLikeDefaultReplicationPolicy() {
            // east -> mid -> west, each connector configured with its own source alias and the same template.
            var eastToMid = policy(ALIAS, "east", TEMPLATE, "${source}-${topic}");
            var midToWest = policy(ALIAS, "mid", TEMPLATE, "${source}-${topic}");
            String onMid = eastToMid.formatRemoteTopic("east", "orders");
            String onWest = midToWest.formatRemoteTopic("mid", onMid);
            assertEquals("mid-east-orders", onWest);
            assertEquals("mid", midToWest.topicSource(onWest));
            assertEquals("east-orders", midToWest.upstreamTopic(onWest));
            assertEquals("east", midToWest.topicSource("east-orders"));
            assertEquals("orders", midToWest.originalTopic(onWest));
        }

        @Test
        void configuredAliasWinsWhenANameSplitsSeveralWays() {
            var policy = policy(ALIAS, "us-east", TEMPLATE, "${source}-${topic}");
            assertEquals("us-east-orders", policy.formatRemoteTopic("us-east", "orders"));
            assertEquals("us-east", policy.topicSource("us-east-orders"));
            assertEquals("orders", policy.upstreamTopic("us-east-orders"));
            // Other clusters' names split at the first '-', as DefaultReplicationPolicy splits at its separator.
            assertEquals("eu", policy.topicSource("eu-west-orders"));
            assertEquals("west-orders", policy.upstreamTopic("eu-west-orders"));
        }

        @Test
        void sourceAfterTopic() {
            var policy = policy(ALIAS, "east", TEMPLATE, "${topic}.from.${source}");
            assertEquals("orders.from.east", policy.formatRemoteTopic("east", "orders"));
            assertEquals("east", policy.topicSource("orders.from.east"));
            assertEquals("orders", policy.upstreamTopic("orders.from.east"));
            assertEquals("orders.from.east.from.mid", policy.formatRemoteTopic("mid", "orders.from.east"));
            assertEquals("mid", policy.topicSource("orders.from.east.from.mid"));
            assertEquals("orders", policy.originalTopic("orders.from.east.from.mid"));
        }

        @Test
        void sourcePlaceholderUsesTheAliasMirrorMakerPasses() {
            var policy = policy(ALIAS, "east", TEMPLATE, "dr.${source}.${topic}");
            assertEquals("dr.central.orders", policy.formatRemoteTopic("central", "orders"));
            assertEquals("central", policy.topicSource("dr.central.orders"));
        }
    }

    @Nested
    class Renames {

        private final RenamingReplicationPolicy policy =
            policy(ALIAS, "east", RENAMES, "orders:orders-replica,events:events-staging");

        @Test
        void renamedTopicsUseTheMap() {
            assertEquals("orders-replica", policy.formatRemoteTopic("east", "orders"));
            assertEquals("events-staging", policy.formatRemoteTopic("east", "events"));
            assertEquals("east", policy.topicSource("orders-replica"));
            assertEquals("orders", policy.upstreamTopic("orders-replica"));
            assertEquals("events", policy.originalTopic("events-staging"));
        }

        @Test
        void otherTopicsKeepTheirNames() {
            assertEquals("payments", policy.formatRemoteTopic("east", "payments"));
            assertEquals("east", policy.topicSource("payments"));
            assertEquals("payments", policy.upstreamTopic("payments"));
        }

        @Test
        void aTargetTopicNamedLikeARenamedSourceIsNotACopy() {
            // "orders" from east lands in "orders-replica", so a topic "orders" on the target is local.
            assertNull(policy.topicSource("orders"));
            assertNull(policy.upstreamTopic("orders"));
            assertEquals("orders", policy.originalTopic("orders"));
        }

        @Test
        void whitespaceAroundEntriesIsIgnored() {
            var spaced = policy(ALIAS, "east", RENAMES, " orders : orders-replica , events:events-staging ");
            assertEquals("orders-replica", spaced.formatRemoteTopic("east", "orders"));
            assertEquals("events", spaced.upstreamTopic("events-staging"));
        }

        @Test
        void twoHopsWithEachConnectorsOwnMap() {
            var midToWest = policy(ALIAS, "mid", RENAMES, "orders-replica:orders-dr");
            String onWest = midToWest.formatRemoteTopic("mid", policy.formatRemoteTopic("east", "orders"));
            assertEquals("orders-dr", onWest);
            assertEquals("orders-replica", midToWest.upstreamTopic(onWest));
            assertEquals("mid", midToWest.topicSource(onWest));
            // The second hop cannot know the first hop's map, exactly like IdentityReplicationPolicy.
            assertEquals("orders-replica", midToWest.originalTopic(onWest));
            // One map covering both hops traces all the way back.
            var both = policy(ALIAS, "mid", RENAMES, "orders:orders-replica");
            assertEquals("orders", both.originalTopic("orders-replica"));
        }
    }

    @Nested
    class RenamesWithTemplate {

        private final RenamingReplicationPolicy policy = policy(ALIAS, "east",
            RENAMES, "orders:orders-replica,events:events-staging", TEMPLATE, "${source}.${topic}");

        @Test
        void renamedTopicsUseTheMapOthersTheTemplate() {
            assertEquals("orders-replica", policy.formatRemoteTopic("east", "orders"));
            assertEquals("east.payments", policy.formatRemoteTopic("east", "payments"));
            assertEquals("orders", policy.upstreamTopic("orders-replica"));
            assertEquals("payments", policy.upstreamTopic("east.payments"));
            assertEquals("east", policy.topicSource("orders-replica"));
            assertEquals("east", policy.topicSource("east.payments"));
        }

        @Test
        void templateNameOfARenamedTopicIsNotACopy() {
            assertNull(policy.topicSource("east.orders"));
            assertNull(policy.upstreamTopic("east.orders"));
            assertNull(policy.topicSource("payments"));
        }

        @Test
        void renamesCoverOnlyTheConnectorsOwnSourceCluster() {
            // In active/active, "west.orders" on east is west's orders, which this connector's map does not rename.
            assertEquals("west.orders", policy.formatRemoteTopic("west", "orders"));
            assertEquals("west", policy.topicSource("west.orders"));
            assertEquals("orders", policy.upstreamTopic("west.orders"));
        }

        @Test
        void selfRenameExemptsATopicFromTheTemplate() {
            var exempt = policy(ALIAS, "east", RENAMES, "audit:audit", TEMPLATE, "${topic}.replica");
            assertEquals("audit", exempt.formatRemoteTopic("east", "audit"));
            assertEquals("audit", exempt.upstreamTopic("audit"));
            assertEquals("east", exempt.topicSource("audit"));
            assertEquals("audit", exempt.originalTopic("audit"));
            assertEquals("orders.replica", exempt.formatRemoteTopic("east", "orders"));
        }

        @Test
        void targetTheTemplateWouldGiveTheSameTopicIsAllowed() {
            var same = policy(ALIAS, "east", RENAMES, "orders:east.orders", TEMPLATE, "${source}.${topic}");
            assertEquals("east.orders", same.formatRemoteTopic("east", "orders"));
            assertEquals("orders", same.upstreamTopic("east.orders"));
        }

        @Test
        void targetInAnotherClustersNamespaceIsAllowed() {
            var other = policy(ALIAS, "east", RENAMES, "orders:west.orders", TEMPLATE, "${source}.${topic}");
            assertEquals("west.orders", other.formatRemoteTopic("east", "orders"));
            assertEquals("east", other.topicSource("west.orders"));
            assertEquals("orders", other.upstreamTopic("west.orders"));
        }

        @Test
        void twoHopsThroughTemplateAndRename() {
            var midToWest = policy(ALIAS, "mid", RENAMES, "east.orders:orders-archive", TEMPLATE, "${source}.${topic}");
            var eastToMid = policy(ALIAS, "east", TEMPLATE, "${source}.${topic}");
            String onWest = midToWest.formatRemoteTopic("mid", eastToMid.formatRemoteTopic("east", "orders"));
            assertEquals("orders-archive", onWest);
            assertEquals("mid", midToWest.topicSource(onWest));
            assertEquals("east.orders", midToWest.upstreamTopic(onWest));
            assertEquals("east", midToWest.topicSource("east.orders"));
            assertEquals("orders", midToWest.originalTopic(onWest));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"${topic}.replica", "${source}-${topic}", "${topic}.from.${source}", "mirror_${topic}"})
    void templatesProduceLegalNamesUpToTheLengthLimit(String template) {
        var policy = policy(ALIAS, "east", TEMPLATE, template);
        int room = 249 - (policy.formatRemoteTopic("east", "x").length() - 1);
        String longest = "t".repeat(room);
        assertEquals(249, policy.formatRemoteTopic("east", longest).length());
        assertEquals(longest, policy.upstreamTopic(policy.formatRemoteTopic("east", longest)));
    }
}
