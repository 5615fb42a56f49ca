package io.github.mm2eks.mirror;

import static io.github.mm2eks.mirror.RenamingReplicationPolicy.TOPIC_RENAMES_CONFIG;
import static io.github.mm2eks.mirror.RenamingReplicationPolicy.TOPIC_TEMPLATE_CONFIG;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The validated naming of ordinary (non-heartbeats) topics for one connector: rename map first, then the template,
 * else identity. Built and checked as a whole, so a policy never holds a naming that failed validation.
 *
 * <p>The mapping is one-to-one and its inverse answers only for names the forward mapping can produce; any other
 * name is "not a remote topic of ours" (no source, no upstream topic), which is what MirrorMaker's refresh,
 * cycle detection and checkpointing need to tell replicated topics from local ones.
 */
final class TopicNaming {

    /** The cluster and topic a remote topic was replicated from; {@code source} may be null, as with Identity. */
    record Origin(String source, String topic) {
    }

    /**
     * Sample topics used to see what a template makes of names: an ordinary one, and one starting with "mm2"
     * because DefaultReplicationPolicy calls {@code mm2*.internal} topics internal.
     */
    private static final List<String> PROBE_TOPICS = List.of("orders", "mm2-orders");
    /** Stands in for ${source} when no source.cluster.alias is configured (e.g. a bare MirrorClient). */
    private static final String PROBE_ALIAS = "source";

    private final String sourceAlias;
    private final TopicTemplate template;
    private final TopicRenames renames;
    private final Predicate<String> isHeartbeats;
    private final Predicate<String> isInternal;

    private TopicNaming(String sourceAlias, TopicTemplate template, TopicRenames renames,
                        Predicate<String> isHeartbeats, Predicate<String> isInternal) {
        this.sourceAlias = sourceAlias;
        this.template = template;
        this.renames = renames;
        this.isHeartbeats = isHeartbeats;
        this.isInternal = isInternal;
    }

    static TopicNaming identity(Predicate<String> isHeartbeats, Predicate<String> isInternal) {
        return new TopicNaming(null, null, TopicRenames.none(TOPIC_RENAMES_CONFIG), isHeartbeats, isInternal);
    }

    /**
     * @param templateText empty for none
     * @param renamesText  empty for none
     * @throws org.apache.kafka.common.config.ConfigException naming the offending key
     */
    static TopicNaming create(String sourceAlias, String templateText, String renamesText,
                              Predicate<String> isHeartbeats, Predicate<String> isInternal) {
        TopicTemplate template = templateText.isEmpty()
            ? null : TopicTemplate.parse(TOPIC_TEMPLATE_CONFIG, templateText, sourceAlias);
        if (template != null && template.isIdentity()) {
            template = null;
        }
        TopicRenames renames = TopicRenames.parse(TOPIC_RENAMES_CONFIG, renamesText);
        TopicNaming naming = new TopicNaming(sourceAlias, template, renames, isHeartbeats, isInternal);
        naming.validate();
        return naming;
    }

    String describe() {
        String fallback = template == null ? "identity" : "template '" + template.text() + "'";
        Map<String, String> renamed = renames.targetBySource();
        return renamed.isEmpty() ? fallback : "renames " + renamed + ", else " + fallback;
    }

    /** The remote name of an ordinary (non-heartbeats) topic. */
    String remoteName(String sourceClusterAlias, String topic) {
        String target = isOwnSource(sourceClusterAlias) ? renames.targetOf(topic) : null;
        if (target != null) {
            return target;
        }
        String remote = template == null ? topic : rendered(sourceClusterAlias, topic);
        rejectMergeIntoRenameTarget(topic, remote);
        return remote;
    }

    /** Where {@code remoteTopic} came from, or empty when this naming cannot have produced it. */
    Optional<Origin> origin(String remoteTopic) {
        String renamedFrom = renames.sourceOf(remoteTopic);
        if (renamedFrom != null) {
            return Optional.of(new Origin(sourceAlias, renamedFrom));
        }
        return fallbackOrigin(remoteTopic);
    }

    private Optional<Origin> fallbackOrigin(String remoteTopic) {
        Optional<Origin> origin = template == null
            ? Optional.of(new Origin(sourceAlias, remoteTopic))
            : template.match(remoteTopic).map(m -> new Origin(m.source() != null ? m.source() : sourceAlias,
                m.topic()));
        // A renamed or heartbeats topic never gets the fallback name, so a name that looks like one is not ours.
        return origin.filter(o -> !(isOwnSource(o.source()) && renames.isRenamed(o.topic()))
            && !isHeartbeats.test(o.topic()));
    }

    /**
     * The rename map is this connector's, so it covers topics of its own source cluster only; names that the template
     * gives topics of other clusters (further upstream, or the target itself in active/active) are not affected.
     */
    private boolean isOwnSource(String clusterAlias) {
        return sourceAlias == null || clusterAlias == null || sourceAlias.equals(clusterAlias);
    }

    private String rendered(String sourceClusterAlias, String topic) {
        String remote = template.render(sourceClusterAlias, topic);
        String problem = TopicNames.problem(remote);
        if (problem != null) {
            throw template.invalid("topic '" + topic + "' from cluster '" + sourceClusterAlias
                + "' would be replicated to an invalid topic name: " + problem);
        }
        if (isInternal.test(remote) || isHeartbeats.test(remote)) {
            throw template.invalid("topic '" + topic + "' from cluster '" + sourceClusterAlias
                + "' would be replicated to '" + remote + "', which MirrorMaker treats as an internal or heartbeats"
                + " topic; expected names of ordinary topics");
        }
        return remote;
    }

    /**
     * Only detectable at run time, once MirrorMaker meets such a topic: e.g. with identity fallback a source topic
     * that already carries a rename target's name. Failing the task loudly beats silently interleaving two topics'
     * records in one remote topic.
     */
    private void rejectMergeIntoRenameTarget(String topic, String remote) {
        String owner = renames.sourceOf(remote);
        if (owner != null) {
            throw renames.invalid("topic '" + topic + "' would be replicated to '" + remote + "', which is already the"
                + " rename target of '" + owner + "', merging two source topics into one remote topic; expected '"
                + topic + "' to be renamed explicitly or excluded from the connector's topics");
        }
    }

    // ---- validation at configure time ----

    private void validate() {
        if (template != null) {
            validateTemplate();
        }
        renames.targetBySource().forEach(this::validateRename);
        requireUpstreamChainsEnd();
    }

    private void validateTemplate() {
        String alias = sourceAlias != null ? sourceAlias : PROBE_ALIAS;
        if (template.hasSource() && sourceAlias != null && TopicNames.illegalCharProblem(sourceAlias) != null) {
            throw template.invalid("${source} would put source.cluster.alias into topic names, but "
                + TopicNames.illegalCharProblem(sourceAlias));
        }
        int fixedLength = template.render(alias, "").length();
        if (fixedLength >= TopicNames.MAX_LENGTH) {
            throw template.invalid("the template without the topic name is already " + fixedLength
                + " characters long (source alias '" + alias + "'), leaving no room for a topic name within the "
                + TopicNames.MAX_LENGTH + " character limit; expected at most " + (TopicNames.MAX_LENGTH - 1)
                + " characters besides ${topic}");
        }
        for (String probe : PROBE_TOPICS) {
            String remote = template.render(alias, probe);
            if (isInternal.test(remote)) {
                throw template.invalid("topic '" + probe + "' would be replicated to '" + remote + "', which"
                    + " MirrorMaker treats as an internal topic (names starting with '__' or '.', 'mm2*.internal',"
                    + " '*.checkpoints.internal'); expected names of ordinary topics");
            }
            if (isHeartbeats.test(remote)) {
                throw template.invalid("topic '" + probe + "' would be replicated to '" + remote + "', which looks"
                    + " like a heartbeats topic ('heartbeats' or '<alias>.heartbeats');"
                    + " expected names of ordinary topics");
            }
        }
    }

    private void validateRename(String source, String target) {
        if (isHeartbeats.test(source)) {
            throw renames.invalid("'" + source + "' cannot be renamed: heartbeats topics always get the default"
                + " '<alias>.heartbeats' name so that heartbeat tracking and cycle detection keep working;"
                + " expected only ordinary topics as rename sources");
        }
        if (isInternal.test(source)) {
            throw renames.invalid("'" + source + "' is an internal topic, which MirrorMaker never replicates;"
                + " expected only ordinary topics as rename sources");
        }
        if (isHeartbeats.test(target) || isInternal.test(target)) {
            throw renames.invalid("rename target '" + target + "' (of '" + source + "') looks like a heartbeats or"
                + " internal topic, which MirrorMaker would treat specially; expected the name of an ordinary topic");
        }
        rejectTemplateCollision(source, target);
    }

    /** A target the template can also produce would be claimed by two source topics. */
    private void rejectTemplateCollision(String source, String target) {
        if (template == null) {
            return;
        }
        template.match(target)
            .filter(m -> m.source() == null || m.source().equals(sourceAlias))
            .filter(m -> !renames.isRenamed(m.topic()) && !isHeartbeats.test(m.topic()))
            .ifPresent(m -> {
                throw renames.invalid("rename target '" + target + "' (of '" + source + "') is also the name that "
                    + TOPIC_TEMPLATE_CONFIG + " '" + template.text() + "' gives to topic '" + m.topic()
                    + "'; expected rename targets that the template cannot produce");
            });
    }

    /**
     * MirrorMaker follows upstreamTopic() until it stops changing (cycle detection, originalTopic()). Renames can
     * lengthen a name and the template shortens it, so together they could lead back to where they started, e.g.
     * {@code aa.r:b,b.r:aa} with {@code ${topic}.r}. Every such loop passes through a rename target.
     */
    private void requireUpstreamChainsEnd() {
        for (String target : renames.targetBySource().values()) {
            Set<String> seen = new LinkedHashSet<>();
            for (String topic = target; topic != null; topic = upstreamOf(topic)) {
                if (!seen.add(topic)) {
                    throw renames.invalid("together with " + TOPIC_TEMPLATE_CONFIG + " the renames lead in a circle"
                        + " when tracing remote topics upstream (" + String.join(" <- ", seen) + " <- " + topic
                        + "); expected every chain to end at an original topic");
                }
            }
        }
    }

    private String upstreamOf(String topic) {
        return origin(topic).map(Origin::topic).filter(upstream -> !upstream.equals(topic)).orElse(null);
    }
}
