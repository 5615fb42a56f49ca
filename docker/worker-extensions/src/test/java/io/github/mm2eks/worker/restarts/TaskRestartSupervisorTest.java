package io.github.mm2eks.worker.restarts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.health.ConnectClusterState;
import org.apache.kafka.connect.health.ConnectorHealth;
import org.apache.kafka.connect.health.ConnectorState;
import org.apache.kafka.connect.health.ConnectorType;
import org.apache.kafka.connect.health.TaskState;
import org.apache.kafka.connect.rest.ConnectRestExtensionContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.management.ObjectName;

/** One poll of the extension as Connect drives it: configure, register, then the cluster's health. */
class TaskRestartSupervisorTest {

    HttpServer server;
    final List<String> posted = new CopyOnWriteArrayList<>();
    volatile Map<String, ConnectorHealth> cluster = Map.of();
    volatile boolean herderReady = true;
    TaskRestartSupervisor supervisor;

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            posted.add(exchange.getRequestMethod() + " " + exchange.getRequestURI());
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        server.start();
        int port = server.getAddress().getPort();
        Map<String, String> worker = new HashMap<>();
        worker.put("listeners", "http://127.0.0.1:" + port);
        worker.put("rest.advertised.host.name", "127.0.0.1");
        worker.put("rest.advertised.port", Integer.toString(port));
        worker.put(RestartSettings.POLL_INTERVAL_MS, "3600000"); // this test polls by hand
        supervisor = new TaskRestartSupervisor();
        supervisor.configure(worker);
        ConnectClusterState state = new ConnectClusterState() {
            @Override
            public Collection<String> connectors() {
                if (!herderReady) {
                    throw new ConnectException("Request timed out");
                }
                return cluster.keySet();
            }

            @Override
            public ConnectorHealth connectorHealth(String name) {
                return cluster.get(name);
            }
        };
        supervisor.register(new ConnectRestExtensionContext() {
            @Override
            public jakarta.ws.rs.core.Configurable<? extends jakarta.ws.rs.core.Configurable<?>> configurable() {
                return null;
            }

            @Override
            public ConnectClusterState clusterState() {
                return state;
            }
        });
    }

    @AfterEach
    void stop() {
        supervisor.close();
        server.stop(0);
    }

    String me() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    @Test
    void restartsItsOwnFailedTaskAndCountsIt() throws Exception {
        Map<Integer, TaskState> tasks = Map.of(
            0, new TaskState(0, "FAILED", me(), "java.lang.RuntimeException: boom\n\tat x.y(Z.java:1)"),
            1, new TaskState(1, "FAILED", "10.0.0.9:8083", "java.lang.RuntimeException: elsewhere"));
        cluster = Map.of("orders", new ConnectorHealth("orders", new ConnectorState("RUNNING", me(), null), tasks,
            ConnectorType.SOURCE));

        supervisor.poll();

        assertEquals(List.of("POST /connectors/orders/tasks/0/restart"), posted);
        ObjectName task = RestartMetrics.name(Subject.task("orders", 0));
        assertEquals(1L, ManagementFactory.getPlatformMBeanServer().getAttribute(task, "RestartsTotal"));
        assertFalse(ManagementFactory.getPlatformMBeanServer().isRegistered(RestartMetrics.name(
            Subject.task("orders", 1))), "another worker's task is not tracked here");
    }

    @Test
    void aHerderThatCannotAnswerYetIsNoError() throws Exception {
        herderReady = false;
        supervisor.poll();
        herderReady = true;
        supervisor.poll();
        assertTrue(posted.isEmpty());
    }

    @Test
    void closeUnregistersTheMetrics() throws Exception {
        cluster = Map.of("events", new ConnectorHealth("events", new ConnectorState("RUNNING", me(), null), Map.of(),
            ConnectorType.SOURCE));
        supervisor.poll();
        ObjectName connector = RestartMetrics.name(Subject.connector("events"));
        assertTrue(ManagementFactory.getPlatformMBeanServer().isRegistered(connector));
        supervisor.close();
        assertFalse(ManagementFactory.getPlatformMBeanServer().isRegistered(connector));
    }
}
