package io.github.mm2eks.worker.restarts;

/** The part of a Connect status trace that goes into a log line. */
final class Traces {

    private static final int MAX_CHARS = 500;

    private Traces() {
    }

    /**
     * The trace's first line (the exception Connect failed with) and, when there is one, its last "Caused by:" line
     * (the root cause: for a record the destination rejects, the RecordTooLargeException under Connect's wrapper).
     */
    static String summary(String trace) {
        if (trace == null || trace.isBlank()) {
            return "(no trace)";
        }
        String[] lines = trace.strip().split("\\R");
        String first = lines[0].strip();
        String cause = null;
        for (String line : lines) {
            if (line.strip().startsWith("Caused by:")) {
                cause = line.strip();
            }
        }
        String summary = cause == null ? first : first + " | " + cause;
        return summary.length() <= MAX_CHARS ? summary : summary.substring(0, MAX_CHARS) + "...";
    }
}
