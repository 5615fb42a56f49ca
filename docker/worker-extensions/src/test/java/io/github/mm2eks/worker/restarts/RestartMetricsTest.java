package io.github.mm2eks.worker.restarts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import org.junit.jupiter.api.Test;

import java.util.Map;
import javax.management.MBeanServer;
import javax.management.MBeanServerFactory;
import javax.management.ObjectName;

/** The MBeans the JMX exporter turns into mm2_task_restarts_total and mm2_task_restarts_exhausted. */
class RestartMetricsTest {

    @Test
    void oneMBeanPerConnectorAndTaskWithTheExportersAttributes() throws Exception {
        MBeanServer server = MBeanServerFactory.newMBeanServer();
        RestartMetrics metrics = new RestartMetrics(server);
        metrics.update(Map.of(
            Subject.task("orders", 0), new RestartTracker.View(3, true),
            Subject.connector("orders"), new RestartTracker.View(1, false)));

        ObjectName task = new ObjectName("io.github.mm2eks.worker:type=task-restarts,connector=orders,task=0");
        ObjectName connector = new ObjectName(
            "io.github.mm2eks.worker:type=task-restarts,connector=orders,task=connector");
        assertEquals(3L, server.getAttribute(task, "RestartsTotal"));
        assertEquals(1, server.getAttribute(task, "RestartsExhausted"));
        assertEquals(1L, server.getAttribute(connector, "RestartsTotal"));
        assertEquals(0, server.getAttribute(connector, "RestartsExhausted"));

        metrics.update(Map.of(Subject.task("orders", 0), new RestartTracker.View(3, false)));
        assertEquals(0, server.getAttribute(task, "RestartsExhausted"));
        assertFalse(server.isRegistered(connector), "gone from this worker: its MBean is unregistered");
        metrics.close();
        assertFalse(server.isRegistered(task));
    }

    @Test
    void connectorNamesAreQuotedAsKafkaQuotesThem() throws Exception {
        assertEquals("\"a,b\"", RestartMetrics.name(Subject.task("a,b", 1)).getKeyProperty("connector"));
    }
}
