"""A single-node KRaft Kafka cluster (broker and controller in one JVM)."""

from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path

from connect.java_command import java_command
from connect.local_runtime import BrokerState, Credential
from connect.secret_file import write_secret
from localkafka import processes
from localkafka.jars import RuntimeJars

BROKER_HEAP = ("-Xms128m", "-Xmx512m")
PLAIN_LOGIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"


def new_cluster_id() -> str:
    """A KRaft cluster id: a UUID in URL-safe base64. Like Kafka's own, never starting with "-"."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def broker_dir(runtime_dir: Path, broker: BrokerState) -> Path:
    return runtime_dir / broker.name


def server_properties(
    runtime_dir: Path, broker: BrokerState, users: dict[str, Credential], admin: Credential | None
) -> str:
    listener = "SASL_PLAINTEXT" if broker.auth_mode == "plain" else "PLAINTEXT"
    lines = [
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.bootstrap.servers=127.0.0.1:{broker.controller_port}",
        f"listeners={listener}://{broker.host}:{broker.port},CONTROLLER://127.0.0.1:{broker.controller_port}",
        f"advertised.listeners={listener}://{broker.host}:{broker.port}",
        "controller.listener.names=CONTROLLER",
        f"inter.broker.listener.name={listener}",
        f"listener.security.protocol.map={listener}:{listener},CONTROLLER:PLAINTEXT",
        f"log.dirs={broker_dir(runtime_dir, broker) / 'data'}",
        # One broker: every internal topic has one replica.
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=10",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "transaction.state.log.num.partitions=10",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        # As on MSK: topics are created on purpose, by MirrorMaker 2 or by a test.
        "auto.create.topics.enable=false",
        "log.segment.bytes=268435456",
        # Free a deleted topic's disk at once (benchmarks delete gigabytes as they go).
        "file.delete.delay.ms=1000",
    ]
    if broker.auth_mode == "plain":
        assert admin is not None
        accounts = " ".join(f'user_{c.username}="{c.password}"' for c in users.values())
        lines += [
            "sasl.enabled.mechanisms=PLAIN",
            "sasl.mechanism.inter.broker.protocol=PLAIN",
            f"listener.name.sasl_plaintext.plain.sasl.jaas.config={PLAIN_LOGIN_MODULE} required "
            f'username="{admin.username}" password="{admin.password}" {accounts};',
        ]
    return "\n".join(lines) + "\n"


def prepare(
    runtime_dir: Path, broker: BrokerState, jars: RuntimeJars, users: dict[str, Credential], admin: Credential | None
) -> Path:
    """Write server.properties (owner-only: it holds the SASL users) and format the storage once."""
    folder = broker_dir(runtime_dir, broker)
    properties = folder / "server.properties"
    write_secret(properties, server_properties(runtime_dir, broker, users, admin))
    if not (folder / "data" / "meta.properties").exists():
        command = java_command(
            jars.java,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            broker.cluster_id,
            "-c",
            str(properties),
            "--standalone",
        )
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"formatting {broker.name} storage failed: {result.stdout}{result.stderr}")
    return properties


def start(runtime_dir: Path, broker: BrokerState, jars: RuntimeJars) -> int:
    folder = broker_dir(runtime_dir, broker)
    command = java_command(
        jars.java,
        "kafka.Kafka",
        str(folder / "server.properties"),
        heap=BROKER_HEAP,
        jvm_options=["-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError"],
    )
    return processes.start(command, folder / "broker.log")


def marker(runtime_dir: Path, broker: BrokerState) -> str:
    return str(broker_dir(runtime_dir, broker) / "server.properties")
