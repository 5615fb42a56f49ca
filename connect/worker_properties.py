"""`connect-distributed.properties` for a MirrorMaker 2 Kafka Connect worker.

The ONE renderer of worker config: the EKS ConfigMap, the local runtime and the tests all call
`render_worker_properties`. Values that differ per pod (the pod IP) are left as `${env:...}`
placeholders that the worker resolves itself through its EnvVarConfigProvider at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass

from connect.cluster_connection import ClusterEndpoint, client_properties, properties_escape

BYTE_ARRAY_CONVERTER = "org.apache.kafka.connect.converters.ByteArrayConverter"
BASIC_AUTH_EXTENSION = "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension"
# Restarts the worker's own failed connectors and tasks with back-off (see TaskRestarts below).
TASK_RESTART_SUPERVISOR = "io.github.mm2eks.worker.restarts.TaskRestartSupervisor"
# Our REST extensions (docker/worker-extensions), loaded by every worker after basic auth.
# PUT /mm2-eks/clusters/check: the pre-flight connection check the provider runs before a create.
CLUSTER_CHECK_EXTENSION = "io.github.mm2eks.worker.preflight.ClusterCheckExtension"
MM2_REST_EXTENSIONS: tuple[str, ...] = (TASK_RESTART_SUPERVISOR, CLUSTER_CHECK_EXTENSION)
CONFIG_PROVIDERS = {
    "file": "org.apache.kafka.common.config.provider.FileConfigProvider",
    "dir": "org.apache.kafka.common.config.provider.DirectoryConfigProvider",
    "env": "org.apache.kafka.common.config.provider.EnvVarConfigProvider",
}
# The worker's own clients and the clients it builds for connectors each take the destination's
# security settings under their own prefix; without `producer.` the mirrored records cannot be written.
CLIENT_PREFIXES = ("", "producer.", "consumer.", "admin.")

# Throughput settings for the producers that write mirrored records (see docs/performance.md for
# what each changed). Connect's own defaults are tuned for safety with one record in flight.
PRODUCER_TUNING = {
    "producer.linger.ms": "20",
    "producer.batch.size": "524288",
    "producer.buffer.memory": "67108864",
    "producer.compression.type": "lz4",
    "producer.enable.idempotence": "true",
    "producer.max.in.flight.requests.per.connection": "5",
}


@dataclass(frozen=True)
class TaskRestarts:
    """How the worker restarts its failed connectors and tasks: Strimzi's back-off, in every worker.

    Restart n (counted from 0) waits n*(n+1) units after the failure is seen, at most 60 units:
    0, 2, 6, 12, 20, 30, 42, 56, then every 60 minutes with the EKS unit of a minute.
    """

    # None: unlimited, as Strimzi. At the cap the task stays FAILED (and the failed-task alert fires).
    max_restarts: int | None = None
    backoff_unit_ms: int = 60_000
    # Running this long resets the count to 0. 10 minutes: a task that still fails fails again
    # within seconds of a restart, so it never gets there and its back-off keeps growing; one that
    # ran 10 minutes had recovered, and its next failure is restarted at once, not after the
    # back-off of an old incident. Keep it well above 30 s: a failed exactly-once task still
    # reports RUNNING while it closes its producer, for up to 30 s (measured on Kafka 4.1).
    healthy_after_ms: int = 600_000
    # How often the worker reads its connectors' health (from its own memory, no request to Kafka).
    poll_interval_ms: int = 10_000


@dataclass(frozen=True)
class WorkerSettings:
    """Everything that varies between the worker configs of the stacks and the local runtime."""

    group_id: str
    destination: ClusterEndpoint
    # Replication factor of the worker's internal topics (1 on a single local broker).
    replication_factor: int
    rest_bind_host: str
    rest_port: int
    # `${env:POD_IP}` on Kubernetes: followers forward writes to the leader at this address.
    rest_advertised_host: str
    # The only folder the file and dir config providers may read.
    secrets_dir: str
    rest_basic_auth: bool = True
    exactly_once: bool = True
    # False leaves the mirrored records' producers at Connect's defaults (benchmarks compare both).
    producer_tuning: bool = True
    rebalance_delay_ms: int = 60_000
    offset_flush_interval_ms: int = 10_000
    task_restarts: TaskRestarts = TaskRestarts()
    # The Basic auth token of the worker's own REST API (the readiness probe's file), with which
    # the worker restarts its failed tasks; only read when REST basic auth is on.
    rest_authorization_file: str | None = None


def render_worker_properties(settings: WorkerSettings) -> str:
    properties = worker_properties(settings)
    lines = [
        "# Rendered by connect/worker_properties.py (render_worker_properties). Do not edit by hand.",
        *(f"{key}={properties_escape(value)}" for key, value in properties.items()),
    ]
    return "\n".join(lines) + "\n"


def worker_properties(settings: WorkerSettings) -> dict[str, str]:
    group = settings.group_id
    properties: dict[str, str] = {
        "group.id": group,
        "config.storage.topic": f"{group}-configs",
        "offset.storage.topic": f"{group}-offsets",
        "status.storage.topic": f"{group}-status",
        "config.storage.replication.factor": str(settings.replication_factor),
        "offset.storage.replication.factor": str(settings.replication_factor),
        "status.storage.replication.factor": str(settings.replication_factor),
        # MirrorMaker 2 copies bytes: any other converter re-encodes keys, values or headers.
        "key.converter": BYTE_ARRAY_CONVERTER,
        "value.converter": BYTE_ARRAY_CONVERTER,
        "header.converter": BYTE_ARRAY_CONVERTER,
        "listeners": f"http://{settings.rest_bind_host}:{settings.rest_port}",
        "rest.advertised.host.name": settings.rest_advertised_host,
        "rest.advertised.port": str(settings.rest_port),
        "rest.advertised.listener": "http",
        # Lets connector files tune their own producers and consumers (producer.override.*).
        "connector.client.config.override.policy": "All",
        "exactly.once.source.support": "enabled" if settings.exactly_once else "disabled",
        "scheduled.rebalance.max.delay.ms": str(settings.rebalance_delay_ms),
        "offset.flush.interval.ms": str(settings.offset_flush_interval_ms),
        # MirrorMaker 2 and the config providers ship service manifests: no classpath scan needed.
        "plugin.discovery": "service_load",
        "config.providers": ",".join(CONFIG_PROVIDERS),
    }
    for name, provider_class in CONFIG_PROVIDERS.items():
        properties[f"config.providers.{name}.class"] = provider_class
    properties["config.providers.file.param.allowed.paths"] = settings.secrets_dir
    properties["config.providers.dir.param.allowed.paths"] = settings.secrets_dir
    extensions = ([BASIC_AUTH_EXTENSION] if settings.rest_basic_auth else []) + list(MM2_REST_EXTENSIONS)
    if extensions:
        properties["rest.extension.classes"] = ",".join(extensions)
    properties.update(task_restart_properties(settings))
    connection = client_properties(settings.destination, settings.secrets_dir)
    for prefix in CLIENT_PREFIXES:
        for key, value in connection.items():
            properties[prefix + key] = value
    if settings.producer_tuning:
        properties.update(PRODUCER_TUNING)
    return properties


def task_restart_properties(settings: WorkerSettings) -> dict[str, str]:
    """The settings of TaskRestartSupervisor (docker/worker-extensions, RestartSettings.java)."""
    restarts = settings.task_restarts
    properties = {
        "mm2.task.restarts.backoff.unit.ms": str(restarts.backoff_unit_ms),
        "mm2.task.restarts.healthy.after.ms": str(restarts.healthy_after_ms),
        "mm2.task.restarts.poll.interval.ms": str(restarts.poll_interval_ms),
    }
    if restarts.max_restarts is not None:  # unset: unlimited
        properties["mm2.task.restarts.max"] = str(restarts.max_restarts)
    if settings.rest_basic_auth and settings.rest_authorization_file:
        properties["mm2.task.restarts.authorization.file"] = settings.rest_authorization_file
    return properties
