package io.github.mm2eks.mirror;

import org.apache.kafka.common.config.ConfigException;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An explicit, one-to-one rename map written {@code source:target,source:target}.
 * Checks the entries and that the map can be inverted; what the names mean to MirrorMaker is checked by
 * {@link TopicNaming}.
 */
final class TopicRenames {

    private final String key;
    private final String text;
    private final Map<String, String> targetBySource;
    private final Map<String, String> sourceByTarget;

    private TopicRenames(String key, String text, Map<String, String> targetBySource,
                         Map<String, String> sourceByTarget) {
        this.key = key;
        this.text = text;
        this.targetBySource = Collections.unmodifiableMap(targetBySource);
        this.sourceByTarget = Collections.unmodifiableMap(sourceByTarget);
    }

    static TopicRenames none(String key) {
        return new TopicRenames(key, "", new LinkedHashMap<>(), new LinkedHashMap<>());
    }

    static TopicRenames parse(String key, String text) {
        if (text.isEmpty()) {
            return none(key);
        }
        Map<String, String> targetBySource = new LinkedHashMap<>();
        Map<String, String> sourceByTarget = new LinkedHashMap<>();
        String[] entries = text.split(",", -1);
        for (int i = 0; i < entries.length; i++) {
            String[] pair = parseEntry(key, text, i + 1, entries[i].trim());
            add(key, text, targetBySource, sourceByTarget, pair[0], pair[1]);
        }
        requireNoChains(key, text, targetBySource);
        return new TopicRenames(key, text, targetBySource, sourceByTarget);
    }

    String text() {
        return text;
    }

    Map<String, String> targetBySource() {
        return targetBySource;
    }

    /** @return the remote name of {@code topic}, or null when it is not renamed */
    String targetOf(String topic) {
        return targetBySource.get(topic);
    }

    /** @return the source topic renamed to {@code target}, or null when no topic is */
    String sourceOf(String target) {
        return sourceByTarget.get(target);
    }

    boolean isRenamed(String topic) {
        return targetBySource.containsKey(topic);
    }

    ConfigException invalid(String message) {
        return new ConfigException(key, text, message);
    }

    private static String[] parseEntry(String key, String text, int number, String entry) {
        if (entry.isEmpty()) {
            throw new ConfigException(key, text, "entry " + number
                + " is empty (look for a doubled or trailing comma); expected source:target[,source:target...]");
        }
        String[] pair = entry.split(":", -1);
        if (pair.length != 2) {
            throw new ConfigException(key, text, "entry '" + entry + "' must be source:target with exactly one ':'"
                + " (found " + (pair.length - 1) + ")");
        }
        return new String[] {checkedName(key, text, entry, "source", pair[0].trim()),
            checkedName(key, text, entry, "target", pair[1].trim())};
    }

    private static String checkedName(String key, String text, String entry, String role, String name) {
        if (name.isEmpty()) {
            throw new ConfigException(key, text, "entry '" + entry + "' has an empty " + role
                + " topic name; expected source:target");
        }
        String problem = TopicNames.problem(name);
        if (problem != null) {
            throw new ConfigException(key, text, "entry '" + entry + "': the " + role
                + " is not a valid topic name: " + problem);
        }
        return name;
    }

    private static void add(String key, String text, Map<String, String> targetBySource,
                            Map<String, String> sourceByTarget, String source, String target) {
        String earlierTarget = targetBySource.putIfAbsent(source, target);
        if (earlierTarget != null) {
            throw new ConfigException(key, text, "topic '" + source + "' is listed twice (renamed to '" + earlierTarget
                + "' and to '" + target + "'); expected each source topic at most once");
        }
        String earlierSource = sourceByTarget.putIfAbsent(target, source);
        if (earlierSource != null) {
            throw new ConfigException(key, text, "topics '" + earlierSource + "' and '" + source
                + "' are both renamed to '" + target + "'; two source topics would be merged into one remote topic;"
                + " expected every rename target to be unique");
        }
    }

    /**
     * With {@code a:b,b:c} the remote topic {@code b} could be the copy of {@code a} or the original {@code b} one
     * hop further upstream, so offsets and cycles could no longer be traced. {@code a:a} is fine: it exempts
     * {@code a} from the template.
     */
    private static void requireNoChains(String key, String text, Map<String, String> targetBySource) {
        targetBySource.forEach((source, target) -> {
            String next = targetBySource.get(target);
            if (next != null && !target.equals(source)) {
                throw new ConfigException(key, text, "'" + source + "' is renamed to '" + target + "', which is itself"
                    + " a renamed source topic (to '" + next + "'); remote names would be ambiguous;"
                    + " expected no rename target to also be a rename source");
            }
        });
    }
}
