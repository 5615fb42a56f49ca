"""Kafka clients for the local runtime's clusters: for tests, benchmarks and the run command."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from connect.cluster_connection import (
    ClusterEndpoint,
    certificate_file_name,
    client_properties,
    private_key_file_name,
    trust_file_name,
)
from connect.local_runtime import BrokerState, LocalCredentials, RuntimeState
from connect.polling import poll_until

# librdkafka logs refused connections while a broker restarts; fault tests cause those on purpose.
QUIET_LOGGER = logging.getLogger("localkafka.rdkafka")
QUIET_LOGGER.addHandler(logging.NullHandler())
QUIET_LOGGER.propagate = False


def client_config(state: RuntimeState, cluster: str) -> dict[str, Any]:
    """librdkafka settings that reach `cluster` ("source" or "destination") as its admin user.

    The same security settings as the workers' Java clients (`client_properties`), in librdkafka's
    words: its SASL password is a setting, and its TLS files are paths to the same PEM files.
    """
    broker = state.brokers[cluster]
    endpoint = ClusterEndpoint(cluster, broker.bootstrap_servers, broker.cluster_auth)
    java = client_properties(endpoint, str(state.secrets_dir))
    config: dict[str, Any] = {"bootstrap.servers": broker.bootstrap_servers, "logger": QUIET_LOGGER}
    if java["security.protocol"] != "PLAINTEXT":
        config["security.protocol"] = java["security.protocol"]
    if "sasl.mechanism" in java:
        admin = LocalCredentials.load(state.secrets_dir).admin_user(cluster)
        config |= {"sasl.mechanism": java["sasl.mechanism"], "sasl.username": admin.username}
        config["sasl.password"] = admin.password
    if "ssl.truststore.certificates" in java:
        config["ssl.ca.location"] = str(state.secrets_dir / trust_file_name(cluster))
    if "ssl.keystore.key" in java:
        config["ssl.certificate.location"] = str(state.secrets_dir / certificate_file_name(cluster))
        config["ssl.key.location"] = str(state.secrets_dir / private_key_file_name(cluster))
    return config


def internal_config(broker: BrokerState) -> dict[str, Any]:
    """librdkafka settings for a broker's internal PLAINTEXT listener (the runtime's own admin calls)."""
    return {"bootstrap.servers": broker.internal_bootstrap_servers, "logger": QUIET_LOGGER}


def admin(state: RuntimeState, cluster: str) -> AdminClient:
    return AdminClient(client_config(state, cluster))


def producer(state: RuntimeState, cluster: str, **overrides: Any) -> Producer:
    return Producer({**client_config(state, cluster), "enable.idempotence": True, "linger.ms": 5, **overrides})


def consumer(state: RuntimeState, cluster: str, group: str, **overrides: Any) -> Consumer:
    settings = {
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        # Mirrored records are written in transactions (exactly-once): read only committed ones.
        "isolation.level": "read_committed",
    }
    return Consumer({**client_config(state, cluster), **settings, **overrides})


def create_topics(
    state: RuntimeState, cluster: str, partitions: Mapping[str, int], config: Mapping[str, str] | None = None
) -> None:
    """Create the topics that do not exist yet."""
    client = admin(state, cluster)
    existing = set(client.list_topics(timeout=10).topics)
    wanted = [
        NewTopic(name, count, 1, config=dict(config or {}))
        for name, count in partitions.items()
        if name not in existing
    ]
    if not wanted:
        return
    for name, future in client.create_topics(wanted, operation_timeout=30).items():
        try:
            future.result()
        except KafkaException as error:
            if "TOPIC_ALREADY_EXISTS" not in str(error):
                raise RuntimeError(f"creating topic {name!r} on {cluster}: {error}") from None


def delete_topics(state: RuntimeState, cluster: str, topics: Iterable[str]) -> None:
    """Delete the topics that exist (benchmarks free their disk space as they go)."""
    client = admin(state, cluster)
    present = [topic for topic in topics if topic in set(client.list_topics(timeout=10).topics)]
    for future in client.delete_topics(present, operation_timeout=60).values() if present else []:
        future.result()


def topic_names(state: RuntimeState, cluster: str) -> set[str]:
    return set(admin(state, cluster).list_topics(timeout=10).topics)


def wait_for_topic(state: RuntimeState, cluster: str, topic: str, timeout: float = 60.0) -> None:
    poll_until(
        lambda: topic in topic_names(state, cluster), timeout=timeout, what=f"topic {topic!r} to appear on {cluster}"
    )


def consume(consumer: Consumer, topics: Iterable[str], count: int, timeout: float) -> list[Message]:
    """Up to `count` records from `topics`, waiting at most `timeout` seconds."""
    consumer.subscribe(list(topics))
    records: list[Message] = []
    deadline = time.monotonic() + timeout
    while len(records) < count and time.monotonic() < deadline:
        for message in consumer.consume(num_messages=min(10_000, count - len(records)), timeout=0.5):
            if message.error():
                raise KafkaException(message.error())
            records.append(message)
    return records
