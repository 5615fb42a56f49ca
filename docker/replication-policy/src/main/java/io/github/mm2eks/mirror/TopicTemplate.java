package io.github.mm2eks.mirror;

import org.apache.kafka.common.config.ConfigException;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A remote topic name template such as {@code ${source}-${topic}}: renders remote names and parses them back.
 * Only the syntax is checked here; what the rendered names mean to MirrorMaker is checked by {@link TopicNaming}.
 */
final class TopicTemplate {

    static final String TOPIC = "${topic}";
    static final String SOURCE = "${source}";

    /** What a remote name was rendered from; {@code source} is null when the template has no {@code ${source}}. */
    record Match(String source, String topic) {
    }

    private final String key;
    private final String text;
    /** Literal strings and the placeholders {@link #TOPIC} / {@link #SOURCE}, in order. */
    private final List<String> tokens;
    private final String preferredSource;
    private final Pattern anySourcePattern;
    private final Pattern preferredSourcePattern;

    private TopicTemplate(String key, String text, List<String> tokens, String preferredSource) {
        this.key = key;
        this.text = text;
        this.tokens = Collections.unmodifiableList(tokens);
        this.preferredSource = preferredSource;
        this.anySourcePattern = pattern(null);
        this.preferredSourcePattern = hasSource() && preferredSource != null ? pattern(preferredSource) : null;
    }

    /**
     * @param preferredSource the connector's source alias: when a name could be split in several ways
     *                        (alias {@code us-east} in {@code us-east-orders}), the split with this alias wins
     */
    static TopicTemplate parse(String key, String text, String preferredSource) {
        List<String> tokens = tokenize(key, text);
        requireCount(key, text, tokens, TOPIC, 1, 1);
        requireCount(key, text, tokens, SOURCE, 0, 1);
        requireSeparatedPlaceholders(key, text, tokens);
        return new TopicTemplate(key, text, tokens, preferredSource);
    }

    String text() {
        return text;
    }

    /** {@code ${topic}} alone keeps names unchanged, so it is the identity mapping. */
    boolean isIdentity() {
        return tokens.size() == 1;
    }

    boolean hasSource() {
        return tokens.contains(SOURCE);
    }

    String render(String source, String topic) {
        StringBuilder name = new StringBuilder();
        for (String token : tokens) {
            name.append(token.equals(TOPIC) ? topic : token.equals(SOURCE) ? source : token);
        }
        return name.toString();
    }

    Optional<Match> match(String remoteTopic) {
        if (preferredSourcePattern != null) {
            Matcher matcher = preferredSourcePattern.matcher(remoteTopic);
            if (matcher.matches()) {
                return Optional.of(new Match(preferredSource, matcher.group("topic")));
            }
        }
        Matcher matcher = anySourcePattern.matcher(remoteTopic);
        if (!matcher.matches()) {
            return Optional.empty();
        }
        return Optional.of(new Match(hasSource() ? matcher.group("source") : null, matcher.group("topic")));
    }

    /**
     * The source group is reluctant so that, like DefaultReplicationPolicy splitting at the first separator,
     * an ambiguous name yields the shortest source alias and the longest topic.
     */
    private Pattern pattern(String fixedSource) {
        StringBuilder regex = new StringBuilder();
        for (String token : tokens) {
            if (token.equals(TOPIC)) {
                regex.append("(?<topic>.+)");
            } else if (token.equals(SOURCE)) {
                regex.append(fixedSource == null ? "(?<source>.+?)" : Pattern.quote(fixedSource));
            } else {
                regex.append(Pattern.quote(token));
            }
        }
        return Pattern.compile(regex.toString());
    }

    private static List<String> tokenize(String key, String text) {
        List<String> tokens = new ArrayList<>();
        int position = 0;
        while (position < text.length()) {
            int start = text.indexOf("${", position);
            if (start < 0) {
                addLiteral(key, text, tokens, text.substring(position));
                break;
            }
            addLiteral(key, text, tokens, text.substring(position, start));
            int end = text.indexOf('}', start);
            if (end < 0) {
                throw invalid(key, text, "the placeholder starting at position " + start
                    + " is not closed with '}'; expected ${topic} or ${source}");
            }
            tokens.add(placeholder(key, text, text.substring(start, end + 1)));
            position = end + 1;
        }
        return tokens;
    }

    private static String placeholder(String key, String text, String placeholder) {
        if (placeholder.equals(TOPIC) || placeholder.equals(SOURCE)) {
            return placeholder;
        }
        throw invalid(key, text, "unknown placeholder " + placeholder
            + "; only ${topic} (the source topic name) and ${source} (the source cluster alias) are supported");
    }

    private static void addLiteral(String key, String text, List<String> tokens, String literal) {
        if (literal.isEmpty()) {
            return;
        }
        String problem = TopicNames.illegalCharProblem(literal);
        if (problem != null) {
            throw invalid(key, text, "the literal text " + problem
                + " (placeholders are written ${topic} and ${source})");
        }
        tokens.add(literal);
    }

    private static void requireCount(String key, String text, List<String> tokens, String placeholder,
                                     int min, int max) {
        long count = tokens.stream().filter(placeholder::equals).count();
        if (count < min || count > max) {
            String expected = min == max ? "exactly once" : "at most once";
            throw invalid(key, text, placeholder + " must appear " + expected + " but appears " + count + " times");
        }
    }

    /** Without text between them, {@code ${source}${topic}} could not be split back into alias and topic. */
    private static void requireSeparatedPlaceholders(String key, String text, List<String> tokens) {
        for (int i = 1; i < tokens.size(); i++) {
            if (isPlaceholder(tokens.get(i - 1)) && isPlaceholder(tokens.get(i))) {
                throw invalid(key, text, "${source} and ${topic} must be separated by at least one character "
                    + "(e.g. ${source}.${topic}), otherwise remote names cannot be split back into alias and topic");
            }
        }
    }

    private static boolean isPlaceholder(String token) {
        return token.equals(TOPIC) || token.equals(SOURCE);
    }

    static ConfigException invalid(String key, String text, String message) {
        return new ConfigException(key, text, message);
    }

    ConfigException invalid(String message) {
        return invalid(key, text, message);
    }
}
