package io.github.mm2eks.mirror;

import java.util.regex.Pattern;

/** Kafka's rules for a legal topic name, as the broker enforces them (org.apache.kafka.common.internals.Topic). */
final class TopicNames {

    static final int MAX_LENGTH = 249;
    static final String LEGAL_CHARS = "[a-zA-Z0-9._-]";

    private static final Pattern ILLEGAL_CHAR = Pattern.compile("[^a-zA-Z0-9._-]");

    private TopicNames() {
    }

    /** @return why {@code name} is not a legal topic name, or null when it is legal */
    static String problem(String name) {
        if (name == null || name.isEmpty()) {
            return "the name is empty";
        }
        if (name.equals(".") || name.equals("..")) {
            return "'.' and '..' are not allowed as topic names";
        }
        if (name.length() > MAX_LENGTH) {
            return "'" + name + "' is " + name.length() + " characters long, the maximum is " + MAX_LENGTH;
        }
        return illegalCharProblem(name);
    }

    /** @return why {@code text} cannot be part of a topic name, or null when all its characters are legal */
    static String illegalCharProblem(String text) {
        var matcher = ILLEGAL_CHAR.matcher(text);
        if (matcher.find()) {
            return "'" + text + "' contains the illegal character '" + matcher.group()
                + "'; topic names may only contain " + LEGAL_CHARS;
        }
        return null;
    }
}
