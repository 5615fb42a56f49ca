package io.github.mm2eks.worker.offsets;

import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.ConfigTransformer;
import org.apache.kafka.common.config.provider.ConfigProvider;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * How the tool reaches one cluster: the connection settings of a client properties file (a worker's own
 * {@code connect-distributed.properties}, or one written for the tool) plus settings from the request.
 *
 * <p>Only connection settings are kept ({@code bootstrap.servers}, {@code security.protocol}, {@code sasl.*},
 * {@code ssl.*}): a worker's file also holds its {@code group.id} and prefixed client settings, which must not reach
 * the tool's consumers. Secrets stay where the worker keeps them: values such as
 * {@code ${file:/etc/mm2/secrets/source.properties:sasl.jaas.config}} are resolved here with the config providers
 * the properties declare ({@code config.providers}, as the worker resolves them), so no password travels on a command
 * line or through the request.
 */
final class ClientProperties {

    static final String PROVIDERS = "config.providers";

    private ClientProperties() {
    }

    /** The file's settings overlaid with {@code inline}; either may be empty. */
    static Map<String, String> merge(Path file, Map<String, String> inline) {
        Map<String, String> merged = new LinkedHashMap<>();
        if (file != null) {
            merged.putAll(read(file));
        }
        merged.putAll(inline);
        return merged;
    }

    static Map<String, String> read(Path file) {
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            properties.load(reader);
        } catch (IOException error) {
            throw ToolFailure.request("cannot read client properties file " + file + ": " + error.getMessage());
        }
        Map<String, String> values = new TreeMap<>();
        properties.stringPropertyNames().forEach(name -> values.put(name, properties.getProperty(name)));
        return values;
    }

    /** The connection settings, with every config-provider reference resolved. */
    static Map<String, Object> connection(String cluster, Map<String, String> properties) {
        Map<String, String> kept = new TreeMap<>();
        properties.forEach((key, value) -> {
            if (isConnectionKey(key)) {
                kept.put(key, value);
            }
        });
        if (!kept.containsKey("bootstrap.servers")) {
            throw ToolFailure.request("cluster '" + cluster + "': the client properties have no bootstrap.servers");
        }
        Map<String, ConfigProvider> providers = providers(cluster, properties);
        try {
            Map<String, String> resolved = providers.isEmpty() ? kept : new ConfigTransformer(providers).transform(kept).data();
            resolved.forEach((key, value) -> requireResolved(cluster, key, value));
            return new HashMap<>(resolved);
        } catch (ConfigException error) {
            throw ToolFailure.request("cluster '" + cluster + "': a config-provider reference cannot be resolved: "
                + error.getMessage());
        } finally {
            providers.values().forEach(ClientProperties::closeQuietly);
        }
    }

    /**
     * A reference the providers could not resolve stays in the value as it is (FileConfigProvider only logs a file
     * outside its allowed paths): sent to the broker, it would fail as a cryptic authentication error instead.
     */
    private static void requireResolved(String cluster, String key, String value) {
        var reference = ConfigTransformer.DEFAULT_PATTERN.matcher(value);
        if (reference.find()) {
            throw ToolFailure.request("cluster '" + cluster + "': " + key + ": " + reference.group()
                + " could not be resolved; expected a readable file inside the provider's allowed.paths");
        }
    }

    static boolean isConnectionKey(String key) {
        return key.equals("bootstrap.servers") || key.equals("security.protocol") || key.equals("client.dns.lookup")
            || key.startsWith("sasl.") || key.startsWith("ssl.");
    }

    /** The providers named by {@code config.providers}, configured with their {@code .param.*} settings. */
    static Map<String, ConfigProvider> providers(String cluster, Map<String, String> properties) {
        Map<String, ConfigProvider> providers = new HashMap<>();
        String names = properties.getOrDefault(PROVIDERS, "").trim();
        if (names.isEmpty()) {
            return providers;
        }
        for (String name : names.split("\\s*,\\s*")) {
            String prefix = PROVIDERS + "." + name;
            String className = properties.get(prefix + ".class");
            if (className == null) {
                throw ToolFailure.request("cluster '" + cluster + "': " + PROVIDERS + " names '" + name
                    + "' but " + prefix + ".class is not set");
            }
            Map<String, String> params = new HashMap<>();
            properties.forEach((key, value) -> {
                if (key.startsWith(prefix + ".param.")) {
                    params.put(key.substring((prefix + ".param.").length()), value);
                }
            });
            providers.put(name, instantiate(cluster, className, params));
        }
        return providers;
    }

    private static ConfigProvider instantiate(String cluster, String className, Map<String, String> params) {
        try {
            Class<?> type = Class.forName(className);
            if (!ConfigProvider.class.isAssignableFrom(type)) {
                throw ToolFailure.request("cluster '" + cluster + "': " + className + " is not a ConfigProvider");
            }
            ConfigProvider provider = (ConfigProvider) type.getDeclaredConstructor().newInstance();
            provider.configure(params);
            return provider;
        } catch (ConfigException error) {
            throw ToolFailure.request("cluster '" + cluster + "': config provider " + className + ": "
                + error.getMessage());
        } catch (ReflectiveOperationException error) {
            throw ToolFailure.request("cluster '" + cluster + "': cannot create config provider " + className + ": "
                + error);
        }
    }

    private static void closeQuietly(ConfigProvider provider) {
        try {
            provider.close();
        } catch (IOException ignored) {
            // Nothing held that matters to a process about to exit.
        }
    }
}
