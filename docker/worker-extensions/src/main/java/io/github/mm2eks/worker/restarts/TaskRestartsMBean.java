package io.github.mm2eks.worker.restarts;

/**
 * One connector's or task's restarts on this worker, as the JMX exporter reads them
 * (docker/config/jmx-exporter.yaml: mm2_task_restarts_total and mm2_task_restarts_exhausted).
 */
public interface TaskRestartsMBean {

    /** Restarts this worker made of the connector or task, since it was assigned here. */
    long getRestartsTotal();

    /** 1 while it is FAILED and left so because it reached the maximum number of restarts, else 0. */
    int getRestartsExhausted();
}
