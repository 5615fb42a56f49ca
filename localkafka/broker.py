"""A single-node KRaft Kafka cluster (broker and controller in one JVM).

Its client listener speaks the cluster's auth (`BrokerState.cluster_auth`): PLAINTEXT, SASL/PLAIN
or SASL/SCRAM-SHA-512 with or without TLS, TLS, or TLS with client certificates required. The
two default clusters keep their single listener. Every other cluster also gets a PLAINTEXT
listener on 127.0.0.1 for the broker's own traffic and for the runtime to create SCRAM users
before anyone can log in.
"""

from __future__ import annotations

import base64
import subprocess
import uuid
from collections.abc import Mapping
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialUpsertion,
)

from connect.cluster_connection import SASL_LOGIN_MODULES, SASL_MECHANISMS, ClusterEndpoint, client_properties
from connect.java_command import java_command
from connect.local_runtime import BrokerState, Credential
from connect.secret_file import write_secret
from localkafka import processes
from localkafka.jars import RuntimeJars
from stackconfig.models import MutualTlsAuth, SaslAuth, uses_tls

BROKER_HEAP = ("-Xms128m", "-Xmx512m")
PLAIN_LOGIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"
CLIENT_LISTENER = "CLIENTS"
INTERNAL_LISTENER = "INTERNAL"
SCRAM_ITERATIONS = 8192


def new_cluster_id() -> str:
    """A KRaft cluster id: a UUID in URL-safe base64. Like Kafka's own, never starting with "-"."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def broker_dir(runtime_dir: Path, broker: BrokerState) -> Path:
    return runtime_dir / broker.name


def keystore_file(runtime_dir: Path, broker: BrokerState) -> Path:
    """The broker's key and certificate, PEM (a file-based PEM keystore: no password)."""
    return broker_dir(runtime_dir, broker) / "tls" / "keystore.pem"


def truststore_file(runtime_dir: Path, broker: BrokerState) -> Path:
    """The CA that signs the clients' certificates, for a listener that requires them."""
    return broker_dir(runtime_dir, broker) / "tls" / "truststore.pem"


def server_properties(
    runtime_dir: Path, broker: BrokerState, users: dict[str, Credential], admin: Credential | None
) -> str:
    lines = [
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.bootstrap.servers=127.0.0.1:{broker.controller_port}",
        *_listener_lines(runtime_dir, broker, users, admin),
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
        # Retention is enforced within 15 s instead of 5 minutes, so that a topic's retention takes
        # effect within a session (tests/migration counts the records retention deleted).
        "log.retention.check.interval.ms=15000",
    ]
    return "\n".join(lines) + "\n"


def _listener_lines(
    runtime_dir: Path, broker: BrokerState, users: dict[str, Credential], admin: Credential | None
) -> list[str]:
    controller = f"CONTROLLER://127.0.0.1:{broker.controller_port}"
    if broker.internal_port is None:
        # The two default clusters: one listener named after its protocol, also between brokers.
        listener = "SASL_PLAINTEXT" if broker.auth_mode == "plain" else "PLAINTEXT"
        lines = [
            f"listeners={listener}://{broker.host}:{broker.port},{controller}",
            f"advertised.listeners={listener}://{broker.host}:{broker.port}",
            "controller.listener.names=CONTROLLER",
            f"inter.broker.listener.name={listener}",
            f"listener.security.protocol.map={listener}:{listener},CONTROLLER:PLAINTEXT",
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
        return lines
    auth = broker.cluster_auth
    protocol = client_properties(ClusterEndpoint(broker.name, broker.bootstrap_servers, auth), "")["security.protocol"]
    clients = f"{CLIENT_LISTENER}://{broker.host}:{broker.port}"
    internal = f"{INTERNAL_LISTENER}://127.0.0.1:{broker.internal_port}"
    prefix = f"listener.name.{CLIENT_LISTENER.lower()}."
    lines = [
        f"listeners={clients},{controller},{internal}",
        f"advertised.listeners={clients},{internal}",
        "controller.listener.names=CONTROLLER",
        f"inter.broker.listener.name={INTERNAL_LISTENER}",
        f"listener.security.protocol.map={CLIENT_LISTENER}:{protocol},CONTROLLER:PLAINTEXT,{INTERNAL_LISTENER}:PLAINTEXT",
    ]
    if uses_tls(auth):
        lines += [
            f"{prefix}ssl.keystore.type=PEM",
            f"{prefix}ssl.keystore.location={keystore_file(runtime_dir, broker)}",
        ]
    if isinstance(auth, MutualTlsAuth):
        lines += [
            f"{prefix}ssl.client.auth=required",
            f"{prefix}ssl.truststore.type=PEM",
            f"{prefix}ssl.truststore.location={truststore_file(runtime_dir, broker)}",
        ]
    if isinstance(auth, SaslAuth):
        mechanism = SASL_MECHANISMS[auth.mode]
        # PLAIN's users live in its JAAS line; SCRAM's in the cluster metadata (upsert_scram_users).
        logins = [f'user_{c.username}="{c.password}"' for c in users.values()] if auth.mode == "plain" else []
        jaas = " ".join([SASL_LOGIN_MODULES[auth.mode], "required", *logins]) + ";"
        lines += [
            f"{prefix}sasl.enabled.mechanisms={mechanism}",
            f"{prefix}{mechanism.lower()}.sasl.jaas.config={jaas}",
        ]
    return lines


def upsert_scram_users(broker: BrokerState, users: Mapping[str, Credential]) -> None:
    """Create (or reset) SCRAM-SHA-512 users through the Admin API, over the internal listener.

    The passwords travel in this process's memory and the admin request only: no command line.
    """
    if broker.internal_bootstrap_servers is None:
        raise ValueError(f"cluster {broker.name!r} has no internal listener to create SCRAM users on")
    client = AdminClient({"bootstrap.servers": broker.internal_bootstrap_servers})
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS)
    upserts: list[UserScramCredentialAlteration] = [
        UserScramCredentialUpsertion(c.username, info, c.password.encode()) for c in users.values()
    ]
    for user, future in client.alter_user_scram_credentials(upserts, request_timeout=30).items():
        try:
            future.result()
        except KafkaException as error:
            raise RuntimeError(f"creating SCRAM user {user!r} on {broker.name}: {error}") from None


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
