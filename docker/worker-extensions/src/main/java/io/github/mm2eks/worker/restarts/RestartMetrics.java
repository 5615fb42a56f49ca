package io.github.mm2eks.worker.restarts;

import org.apache.kafka.common.utils.Sanitizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.management.ManagementFactory;
import java.util.HashMap;
import java.util.Map;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.StandardMBean;

/**
 * One MBean per connector and task this worker runs:
 * {@code io.github.mm2eks.worker:type=task-restarts,connector=<name>,task=<number or "connector">}.
 * The connector name is quoted as Kafka quotes it in its own Connect MBeans, so the labels match theirs.
 */
final class RestartMetrics implements AutoCloseable {

    static final String DOMAIN = "io.github.mm2eks.worker";
    private static final Logger LOG = LoggerFactory.getLogger(RestartMetrics.class);

    static final class TaskRestarts implements TaskRestartsMBean {
        private volatile long total;
        private volatile boolean exhausted;

        @Override
        public long getRestartsTotal() {
            return total;
        }

        @Override
        public int getRestartsExhausted() {
            return exhausted ? 1 : 0;
        }
    }

    private final MBeanServer server;
    private final Map<Subject, TaskRestarts> beans = new HashMap<>();

    RestartMetrics() {
        this(ManagementFactory.getPlatformMBeanServer());
    }

    RestartMetrics(MBeanServer server) {
        this.server = server;
    }

    static ObjectName name(Subject subject) throws JMException {
        return new ObjectName(DOMAIN + ":type=task-restarts,connector=" + Sanitizer.jmxSanitize(subject.connector())
            + ",task=" + subject.label());
    }

    /** Makes the MBeans show {@code views}: new subjects registered, gone ones unregistered. */
    void update(Map<Subject, RestartTracker.View> views) {
        beans.keySet().removeIf(subject -> {
            if (views.containsKey(subject)) {
                return false;
            }
            unregister(subject);
            return true;
        });
        views.forEach((subject, view) -> {
            TaskRestarts bean = beans.computeIfAbsent(subject, this::register);
            bean.total = view.total();
            bean.exhausted = view.exhausted();
        });
    }

    @Override
    public void close() {
        beans.keySet().forEach(this::unregister);
        beans.clear();
    }

    private TaskRestarts register(Subject subject) {
        TaskRestarts bean = new TaskRestarts();
        try {
            ObjectName name = name(subject);
            if (server.isRegistered(name)) {
                server.unregisterMBean(name); // left by an earlier supervisor in this JVM (a REST server restart)
            }
            server.registerMBean(new StandardMBean(bean, TaskRestartsMBean.class), name);
        } catch (JMException error) {
            LOG.warn("Cannot register the restart metrics of {}: {}", subject, error.toString());
        }
        return bean;
    }

    private void unregister(Subject subject) {
        try {
            ObjectName name = name(subject);
            if (server.isRegistered(name)) {
                server.unregisterMBean(name);
            }
        } catch (JMException error) {
            LOG.warn("Cannot unregister the restart metrics of {}: {}", subject, error.toString());
        }
    }
}
