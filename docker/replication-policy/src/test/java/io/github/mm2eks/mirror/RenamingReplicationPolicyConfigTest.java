package io.github.mm2eks.mirror;

import static io.github.mm2eks.mirror.Policies.ALIAS;
import static io.github.mm2eks.mirror.Policies.RENAMES;
import static io.github.mm2eks.mirror.Policies.TEMPLATE;
import static io.github.mm2eks.mirror.Policies.policy;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

/** Every bad setting is rejected with a ConfigException that names the key and says what is wrong. */
class RenamingReplicationPolicyConfigTest {

    static Stream<Arguments> badTemplates() {
        return Stream.of(
            bad("orders.replica", "${topic} must appear exactly once but appears 0 times"),
            bad("${topic}.${topic}", "${topic} must appear exactly once but appears 2 times"),
            bad("${source}.${source}.${topic}", "${source} must appear at most once but appears 2 times"),
            bad("${cluster}.${topic}", "unknown placeholder ${cluster}"),
            bad("${Topic}.replica", "unknown placeholder ${Topic}"),
            bad("${topic", "not closed with '}'"),
            bad("${topic}.replica}", "illegal character '}'"),
            bad("$topic.replica", "illegal character '$'"),
            bad("${topic}/replica", "illegal character '/'"),
            bad("${topic} replica", "illegal character ' '"),
            bad("${source}${topic}", "must be separated by at least one character"),
            bad("${topic}${source}", "must be separated by at least one character"),
            bad("__${topic}", "internal topic"),
            bad(".${topic}", "internal topic"),
            bad("${topic}.checkpoints.internal", "internal topic"),
            bad("${topic}.internal", "internal topic"),
            bad("mm2-${topic}.internal", "internal topic"),
            bad("${topic}.heartbeats", "heartbeats topic"),
            bad("${source}.heartbeats.${topic}.heartbeats", "heartbeats topic"),
            bad("x".repeat(249) + "${topic}", "leaving no room for a topic name"),
            bad("${source}." + "x".repeat(244) + ".${topic}", "leaving no room for a topic name"));
    }

    static Stream<Arguments> badRenames() {
        return Stream.of(
            bad("orders", "must be source:target with exactly one ':'"),
            bad("orders=orders-replica", "must be source:target with exactly one ':'"),
            bad("orders:orders:replica", "must be source:target with exactly one ':'"),
            bad(":orders-replica", "empty source topic name"),
            bad("orders:", "empty target topic name"),
            bad(" : ", "empty source topic name"),
            bad("a:b,,c:d", "entry 2 is empty"),
            bad("a:b,", "entry 2 is empty"),
            bad(",", "entry 1 is empty"),
            bad("orders:orders/replica", "the target is not a valid topic name"),
            bad("or ders:orders-replica", "the source is not a valid topic name"),
            bad("orders:..", "'.' and '..' are not allowed"),
            bad("orders:" + "x".repeat(250), "the maximum is 249"),
            bad("orders:a,orders:b", "'orders' is listed twice"),
            bad("orders:a,orders:a", "'orders' is listed twice"),
            bad("orders:shared,events:shared", "both renamed to 'shared'"),
            bad("orders:events,events:events-staging", "itself a renamed source topic"),
            bad("a:b,b:a", "itself a renamed source topic"),
            bad("heartbeats:hb", "heartbeats topics always get the default"),
            bad("west.heartbeats:hb", "heartbeats topics always get the default"),
            bad("__consumer_offsets:offsets", "internal topic, which MirrorMaker never replicates"),
            bad("mm2-offset-syncs.west.internal:syncs", "internal topic, which MirrorMaker never replicates"),
            bad("orders:east.heartbeats", "looks like a heartbeats or internal topic"),
            bad("orders:heartbeats", "looks like a heartbeats or internal topic"),
            bad("orders:__orders", "looks like a heartbeats or internal topic"),
            bad("orders:east.checkpoints.internal", "looks like a heartbeats or internal topic"));
    }

    private static Arguments bad(String value, String expected) {
        return Arguments.of(value, expected);
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("badTemplates")
    void badTemplateIsRejected(String template, String expected) {
        assertRejected(TEMPLATE, expected, ALIAS, "east", TEMPLATE, template);
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("badRenames")
    void badRenamesAreRejected(String renames, String expected) {
        assertRejected(RENAMES, expected, ALIAS, "east", RENAMES, renames);
    }

    @Test
    void messageFollowsKafkasConfigExceptionFormat() {
        String message = assertRejected(TEMPLATE, "unknown placeholder",
            ALIAS, "east", TEMPLATE, "${cluster}.${topic}");
        assertTrue(message.startsWith("Invalid value ${cluster}.${topic} for configuration " + TEMPLATE + ": "),
            message);
        assertTrue(message.contains("only ${topic} (the source topic name) and ${source}"), message);
    }

    @Test
    void sourceAliasThatIsIllegalInTopicNamesIsRejectedWhenTheTemplateUsesIt() {
        String message = assertRejected(TEMPLATE, "illegal character ' '",
            ALIAS, "us east", TEMPLATE, "${source}.${topic}");
        assertTrue(message.contains("source.cluster.alias"), message);
        var withoutSource = policy(ALIAS, "us east", TEMPLATE, "${topic}.replica");
        assertEquals("orders.replica", withoutSource.formatRemoteTopic("x", "orders"));
    }

    @Test
    void renameTargetTheTemplateCanAlsoProduceIsRejected() {
        String message = assertRejected(RENAMES, "is also the name that", ALIAS, "east",
            TEMPLATE, "${topic}.replica", RENAMES, "orders:events.replica");
        assertTrue(message.contains(TEMPLATE), message);
        assertTrue(message.contains("topic 'events'"), message);
        assertRejected(RENAMES, "is also the name that", ALIAS, "east",
            TEMPLATE, "${source}.${topic}", RENAMES, "orders:east.events");
    }

    @Test
    void renamesThatLeadUpstreamInACircleAreRejected() {
        // Each name maps to a distinct remote name, but tracing upstream goes b <- aa.r <- aa <- b.r <- b forever.
        String message = assertRejected(RENAMES, "lead in a circle", ALIAS, "east",
            TEMPLATE, "${topic}.r", RENAMES, "aa.r:b,b.r:aa");
        assertTrue(message.contains("b <- aa.r <- aa <- b.r <- b"), message);
        assertTrue(message.contains(TEMPLATE), message);
    }

    @Test
    void sourceTopicCarryingARenameTargetsNameIsRejectedWhenReplicated() {
        var policy = policy(ALIAS, "east", RENAMES, "orders:payments");
        assertEquals("payments", policy.formatRemoteTopic("east", "orders"));
        ConfigException e = assertThrows(ConfigException.class, () -> policy.formatRemoteTopic("east", "payments"));
        assertTrue(e.getMessage().contains(RENAMES), e.getMessage());
        assertTrue(e.getMessage().contains("merging two source topics into one remote topic"), e.getMessage());
    }

    @Test
    void templateNameBeyondTheLengthLimitIsRejectedWhenReplicated() {
        var policy = policy(ALIAS, "east", TEMPLATE, "${topic}.replica");
        ConfigException e = assertThrows(ConfigException.class,
            () -> policy.formatRemoteTopic("east", "t".repeat(242)));
        assertTrue(e.getMessage().contains(TEMPLATE), e.getMessage());
        assertTrue(e.getMessage().contains("250 characters long, the maximum is 249"), e.getMessage());
    }

    @Test
    void templateNameThatWouldBeInternalIsRejectedWhenReplicated() {
        var policy = policy(ALIAS, "east", TEMPLATE, "${source}.${topic}");
        ConfigException e = assertThrows(ConfigException.class,
            () -> policy.formatRemoteTopic("__east", "orders"));
        assertTrue(e.getMessage().contains(TEMPLATE), e.getMessage());
        assertTrue(e.getMessage().contains("internal or heartbeats topic"), e.getMessage());
    }

    @Test
    void aRejectedConfigurationKeepsThePreviousNaming() {
        var policy = policy(ALIAS, "east", RENAMES, "orders:orders-replica");
        assertThrows(ConfigException.class, () -> policy.configure(Policies.config(RENAMES, "orders")));
        assertEquals("orders-replica", policy.formatRemoteTopic("east", "orders"));
    }

    private static String assertRejected(String key, String expected, String... config) {
        ConfigException e = assertThrows(ConfigException.class, () -> policy(config));
        String message = e.getMessage();
        assertTrue(message.contains("for configuration " + key + ":"), "names the key " + key + ": " + message);
        assertTrue(message.contains(expected), "says '" + expected + "': " + message);
        assertTrue(message.contains("expected") || message.contains("must") || message.contains("only")
            || message.contains("maximum") || message.contains("not allowed"), "says what is expected: " + message);
        return message;
    }
}
