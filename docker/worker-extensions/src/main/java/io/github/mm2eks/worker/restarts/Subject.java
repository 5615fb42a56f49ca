package io.github.mm2eks.worker.restarts;

/**
 * What can be restarted: a connector instance ({@code task} null) or one of its tasks.
 * {@link #label()} is the {@code task} label of the metrics: the task number, or "connector".
 */
public record Subject(String connector, Integer task) {

    static final String CONNECTOR_LABEL = "connector";

    static Subject connector(String connector) {
        return new Subject(connector, null);
    }

    static Subject task(String connector, int task) {
        return new Subject(connector, task);
    }

    boolean isConnector() {
        return task == null;
    }

    String label() {
        return isConnector() ? CONNECTOR_LABEL : Integer.toString(task);
    }

    @Override
    public String toString() {
        return isConnector() ? "connector '" + connector + "'" : "task " + task + " of connector '" + connector + "'";
    }
}
