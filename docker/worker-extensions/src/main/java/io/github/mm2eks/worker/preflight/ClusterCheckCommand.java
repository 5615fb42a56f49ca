package io.github.mm2eks.worker.preflight;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

/**
 * The same check from a command line, with the image's jars: {@code ClusterCheckCommand <client.properties>
 * [timeout-ms]}. The file's {@code config.providers*} entries resolve its references, as a worker's would. Prints the
 * result as one JSON object; exits 0 when the cluster answered, 1 when it did not, 2 on a usage error.
 */
public final class ClusterCheckCommand {

    private ClusterCheckCommand() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: ClusterCheckCommand <client.properties> [timeout-ms]");
            System.exit(2);
        }
        Properties file = new Properties();
        try (Reader reader = Files.newBufferedReader(Paths.get(args[0]))) {
            file.load(reader);
        }
        Map<String, String> properties = new HashMap<>();
        Map<String, Object> providers = new HashMap<>();
        for (String key : file.stringPropertyNames()) {
            if (key.startsWith(ClusterCheck.PROVIDERS_PREFIX)) {
                providers.put(key, file.getProperty(key));
            } else {
                properties.put(key, file.getProperty(key));
            }
        }
        Duration timeout = Duration.ofMillis(args.length > 1 ? Long.parseLong(args[1]) : 10_000L);
        CheckResult result;
        try {
            result = new ClusterCheck(providers).check(properties, timeout);
        } catch (IllegalArgumentException error) {
            System.err.println(error.getMessage());
            System.exit(2);
            return;
        }
        System.out.println(new ObjectMapper().writeValueAsString(result.toJson()));
        System.exit(result.reachable() ? 0 : 1);
    }
}
