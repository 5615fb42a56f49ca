package io.github.mm2eks.mirror;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.kafka.common.Configurable;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.connect.mirror.ReplicationPolicy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.jar.JarFile;

/**
 * Checks the jar that docker/runtime copies onto the worker classpath, not target/classes: an earlier design kept its
 * policy in a folder Maven never compiled, so the jar shipped without it and topics were silently never renamed.
 * Run by maven-failsafe-plugin after {@code package}; the jar's path comes in as the system property "policy.jar".
 */
class PackagedJarIT {

    private static final String POLICY_CLASS = "io.github.mm2eks.mirror.RenamingReplicationPolicy";
    private static final String OWN_PACKAGES = "io.github.mm2eks.";

    private Path jar;
    private URLClassLoader jarLoader;

    @BeforeEach
    void openPackagedJar() throws IOException {
        String path = System.getProperty("policy.jar");
        assertNotNull(path, "system property policy.jar (set by the failsafe configuration in pom.xml)");
        jar = Path.of(path);
        assertTrue(Files.isRegularFile(jar), "packaged jar exists: " + jar);
        // Kafka's classes come from the test classpath, ours only from the jar, as on the worker.
        jarLoader = new URLClassLoader(new URL[] {jar.toUri().toURL()}, new HidingClassLoader(kafkaClassLoader()));
    }

    @AfterEach
    void closeLoader() throws IOException {
        jarLoader.close();
    }

    @Test
    void jarContainsThePolicyClass() throws IOException {
        try (JarFile jarFile = new JarFile(jar.toFile())) {
            assertNotNull(jarFile.getEntry(POLICY_CLASS.replace('.', '/') + ".class"), "class file in " + jar);
        }
    }

    @Test
    void policyLoadedFromTheJarRenamesTopics() throws Exception {
        Class<?> policyClass = Class.forName(POLICY_CLASS, true, jarLoader);
        assertSame(jarLoader, policyClass.getClassLoader(), "loaded from the packaged jar");
        assertEquals(jar.toUri().toURL(), policyClass.getProtectionDomain().getCodeSource().getLocation());
        assertTrue(ReplicationPolicy.class.isAssignableFrom(policyClass), "implements ReplicationPolicy");
        assertTrue(Configurable.class.isAssignableFrom(policyClass), "implements Configurable");

        ReplicationPolicy policy = (ReplicationPolicy) policyClass.getConstructor().newInstance();
        assertRenamesOrders(policy);
    }

    /** MirrorMaker finds the class by its name in replication.policy.class, through the context class loader. */
    @Test
    void kafkaFindsThePolicyByNameInTheJar() {
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(jarLoader);
        try {
            ReplicationPolicy policy = Utils.newInstance(POLICY_CLASS, ReplicationPolicy.class);
            assertSame(jarLoader, policy.getClass().getClassLoader());
            assertRenamesOrders(policy);
        } catch (ClassNotFoundException e) {
            throw new AssertionError(POLICY_CLASS + " not loadable from " + jar, e);
        } finally {
            thread.setContextClassLoader(previous);
        }
    }

    private static void assertRenamesOrders(ReplicationPolicy policy) {
        ((Configurable) policy).configure(Map.of(
            "source.cluster.alias", "east",
            "replication.policy.topic.renames", "orders:orders-replica"));
        assertEquals("orders-replica", policy.formatRemoteTopic("east", "orders"));
        assertEquals("orders", policy.upstreamTopic("orders-replica"));
        assertEquals("east", policy.topicSource("orders-replica"));
        assertEquals("payments", policy.formatRemoteTopic("east", "payments"));
    }

    private static ClassLoader kafkaClassLoader() {
        return ReplicationPolicy.class.getClassLoader();
    }

    /** Delegates to Kafka's loader but hides this project's classes, which the test classpath also holds. */
    private static final class HidingClassLoader extends ClassLoader {

        HidingClassLoader(ClassLoader parent) {
            super(parent);
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            if (name.startsWith(OWN_PACKAGES)) {
                throw new ClassNotFoundException(name + " must come from the packaged jar");
            }
            return super.loadClass(name, resolve);
        }

        @Override
        public URL getResource(String name) {
            return name.startsWith(OWN_PACKAGES.replace('.', '/')) ? null : super.getResource(name);
        }
    }
}
