"""A Kafka Connect worker, configured and started exactly as in the container image."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from connect.cluster_connection import ClusterEndpoint
from connect.local_runtime import RuntimeState, WorkerState
from connect.worker_properties import TaskRestarts, WorkerSettings, render_worker_properties
from localkafka import processes
from localkafka.jars import RuntimeJars
from localkafka.paths import ENTRYPOINT, WORKER_CONFIG_DIR
from workload.image_layout import PROBE_AUTH_FILE, REST_JAAS_FILE

DEFAULT_HEAP = "-Xms256m -Xmx768m"
# Short, so that fault tests see a dead worker's tasks move within seconds (EKS default: 60 s).
LOCAL_REBALANCE_DELAY_MS = 5_000
# The restart back-off in seconds instead of minutes (0, 2, 6, ... s), so that fault tests see a
# failed task restarted within seconds; the count resets after 60 s running (EKS: 10 minutes).
LOCAL_TASK_RESTARTS = TaskRestarts(backoff_unit_ms=1_000, healthy_after_ms=60_000, poll_interval_ms=1_000)


def worker_dir(state: RuntimeState, worker: WorkerState) -> Path:
    return Path(state.runtime_dir) / f"worker-{worker.index}"


def local_worker_settings(state: RuntimeState, worker: WorkerState) -> WorkerSettings:
    destination = state.brokers["destination"]
    return WorkerSettings(
        group_id=state.group_id,
        destination=ClusterEndpoint("destination", destination.bootstrap_servers, destination.cluster_auth),
        replication_factor=1,
        rest_bind_host="127.0.0.1",
        rest_port=worker.rest_port,
        rest_advertised_host="127.0.0.1",
        secrets_dir=str(state.secrets_dir),
        exactly_once=state.exactly_once,
        producer_tuning=state.producer_tuning,
        rebalance_delay_ms=LOCAL_REBALANCE_DELAY_MS,
        task_restarts=replace(LOCAL_TASK_RESTARTS, max_restarts=state.task_restarts_max),
        rest_authorization_file=str(state.secrets_dir / PROBE_AUTH_FILE),
    )


def start(state: RuntimeState, worker: WorkerState, jars: RuntimeJars) -> int:
    folder = worker_dir(state, worker)
    folder.mkdir(parents=True, exist_ok=True)
    properties = folder / "connect-distributed.properties"
    properties.write_text(render_worker_properties(local_worker_settings(state, worker)))
    env = {
        "MM2_LIBS_DIR": str(jars.libs_dir),
        "MM2_JMX_AGENT_JAR": str(jars.jmx_agent),
        "MM2_CONFIG_DIR": str(WORKER_CONFIG_DIR),
        "MM2_JMX_EXPORTER_PORT": str(worker.jmx_port),
        "MM2_REST_JAAS_CONFIG": str(state.secrets_dir / REST_JAAS_FILE),
        "MM2_HEAP_OPTS": os.environ.get("MM2_LOCAL_WORKER_HEAP", DEFAULT_HEAP),
        "MM2_TMP_DIR": str(folder),
    }
    # The properties path is an argument so that it marks the process before and after `exec java`.
    return processes.start(["bash", str(ENTRYPOINT), str(properties)], folder / "worker.log", env)


def marker(state: RuntimeState, worker: WorkerState) -> str:
    return str(worker_dir(state, worker) / "connect-distributed.properties")


def log_file(state: RuntimeState, worker: WorkerState) -> Path:
    return worker_dir(state, worker) / "worker.log"
