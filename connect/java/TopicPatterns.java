// Checks MirrorMaker 2's topic and group patterns with Java's own regex engine, the one Connect
// uses, and says which names each pattern matches. Run by connect/topic_patterns.py through the
// JDK's source launcher (`java TopicPatterns.java`): no build step, only a JDK.
//
// stdin:  <n>, then n patterns (one per line); <m>, then m names (one per line)
// stdout: for each pattern "ok" or "error <Java's description> near index <i>";
//         then for each pattern a line of m characters, 1 where the name matches the whole pattern.
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

public final class TopicPatterns {
    public static void main(String[] args) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        List<String> patterns = readBlock(in);
        List<String> names = readBlock(in);
        List<Pattern> compiled = new ArrayList<>();
        StringBuilder out = new StringBuilder();
        for (String pattern : patterns) {
            try {
                compiled.add(Pattern.compile(pattern));
                out.append("ok\n");
            } catch (PatternSyntaxException error) {
                compiled.add(null);
                out.append("error ").append(error.getDescription()).append(" near index ")
                        .append(error.getIndex()).append('\n');
            }
        }
        for (Pattern pattern : compiled) {
            for (String name : names) {
                out.append(pattern != null && pattern.matcher(name).matches() ? '1' : '0');
            }
            out.append('\n');
        }
        System.out.print(out);
    }

    private static List<String> readBlock(BufferedReader in) throws IOException {
        int count = Integer.parseInt(in.readLine().trim());
        List<String> lines = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            lines.add(in.readLine());
        }
        return lines;
    }
}
