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
# Our REST extensions (docker/worker-extensions), loaded by every worker after basic auth.
MM2_REST_EXTENSIONS: tuple[str, ...] = ()
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
    connection = client_properties(settings.destination, settings.secrets_dir)
    for prefix in CLIENT_PREFIXES:
        for key, value in connection.items():
            properties[prefix + key] = value
    if settings.producer_tuning:
        properties.update(PRODUCER_TUNING)
    return properties
