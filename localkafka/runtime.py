"""Start, inspect and stop the local runtime: `source` and `destination` clusters plus Connect workers.

`up` is idempotent: it starts only what is not running, reusing ports and data, and returns once
every broker serves metadata and every worker's REST API answers. `down` stops every process and
removes the runtime folder.
"""

from __future__ import annotations

import secrets
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient

from connect.cluster_connection import TlsFiles, credentials_file, credentials_file_content, tls_file_contents
from connect.local_runtime import (
    DESTINATION_AUTH,
    SOURCE_AUTH,
    BrokerState,
    Credential,
    LocalCredentials,
    RuntimeState,
    WorkerState,
    connect_endpoint,
)
from connect.polling import PollTimeout, poll_until
from connect.rest import ConnectClient, ConnectEndpoint, ConnectError
from connect.rest_auth import basic_authorization, rest_jaas_config, rest_users_file_content
from connect.secret_file import write_secret
from localkafka import broker, certs, clients, processes, worker
from localkafka.jars import RuntimeJars, ensure_jars
from stackconfig.models import ClusterAuth, IamAuth, MutualTlsAuth, SaslAuth, private_ca, uses_tls
from workload.image_layout import PROBE_AUTH_FILE, REST_JAAS_FILE, REST_USERS_FILE

GROUP_ID = "mm2-local"
BROKER_START_SECONDS = 60.0
WORKER_START_SECONDS = 120.0


def log(message: str) -> None:
    print(f"localkafka: {message}", file=sys.stderr, flush=True)


@dataclass
class LocalRuntime:
    runtime_dir: Path
    # The brokers' address when the runtime is created (see BrokerState.host).
    broker_host: str = "127.0.0.1"
    # Each cluster's auth when the runtime is created; kept in the state file (BrokerState.auth).
    # TLS listeners present certificates of the runtime's own CA: TLS modes need private_ca=True.
    source_auth: ClusterAuth = SOURCE_AUTH
    destination_auth: ClusterAuth = DESTINATION_AUTH

    def __post_init__(self) -> None:
        for name, auth in self._auths().items():
            if isinstance(auth, IamAuth):
                raise ValueError(f"{name}_auth: MSK IAM needs AWS's brokers; the local runtime cannot serve it")
            if uses_tls(auth) and not private_ca(auth):
                raise ValueError(
                    f"{name}_auth: the local runtime's TLS certificates are signed by its own CA: set private_ca=True"
                )

    # --- Whole runtime ------------------------------------------------------------------------

    def up(self, workers: int = 1) -> RuntimeState:
        jars = ensure_jars()
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        state = self._load_or_create(workers)
        credentials = self.credentials()
        for name, node in state.brokers.items():
            if not processes.alive(node.pid, broker.marker(self.runtime_dir, node)):
                log(f"starting Kafka cluster {name!r} on {node.bootstrap_servers} ({node.auth_mode})")
                users = _sasl_users(credentials, name)
                broker.prepare(self.runtime_dir, node, jars, users, users.get("admin"))
                node.pid = broker.start(self.runtime_dir, node, jars)
                state.save()
        for node in state.brokers.values():
            self._wait_for_broker(node)
        for member in state.workers:
            self._start_worker(state, member, jars)
        for member in state.workers:
            self.wait_for_worker(state, member)
        connect = f"Connect REST {state.connect_url}" if state.workers else "no Connect worker"
        log(f"ready: {connect}, state file {self.runtime_dir / 'state.json'}")
        return state

    def down(self) -> None:
        try:
            state = self.state()
        except FileNotFoundError:
            state = None
        if state is not None:
            for member in state.workers:
                processes.stop(member.pid, worker.marker(state, member))
            for node in state.brokers.values():
                processes.stop(node.pid, broker.marker(self.runtime_dir, node))
        shutil.rmtree(self.runtime_dir, ignore_errors=True)
        log(f"stopped every process and removed {self.runtime_dir}")

    def status(self) -> dict[str, str]:
        state = self.state()
        report = {}
        for name, node in state.brokers.items():
            running = processes.alive(node.pid, broker.marker(self.runtime_dir, node))
            report[f"kafka {name}"] = f"{'running' if running else 'stopped'} {node.bootstrap_servers}"
        for member in state.workers:
            running = processes.alive(member.pid, worker.marker(state, member))
            report[f"connect worker {member.index}"] = f"{'running' if running else 'stopped'} {member.url}"
        return report

    # --- Pieces, for fault-injection tests ------------------------------------------------------

    def state(self) -> RuntimeState:
        return RuntimeState.load(self.runtime_dir)

    def credentials(self) -> LocalCredentials:
        return LocalCredentials.load(self.runtime_dir / "secrets")

    def connect_endpoint(self, worker_index: int = 0, deadline_seconds: float = 60.0) -> ConnectEndpoint:
        return connect_endpoint(self.state(), worker_index, deadline_seconds)

    def kill_worker(self, index: int, sig: int) -> None:
        state = self.state()
        member = state.workers[index]
        processes.stop(member.pid, worker.marker(state, member), grace_seconds=30, sig=sig)

    def start_worker(self, index: int) -> None:
        state = self.state()
        member = state.workers[index]
        self._start_worker(state, member, ensure_jars())
        self.wait_for_worker(state, member)

    def restart_workers(
        self, exactly_once: bool, producer_tuning: bool = True, task_restarts_max: int | None = None
    ) -> None:
        """Stop every worker, then start them all with exactly-once source support on or off.

        `task_restarts_max` caps the workers' restarts of failed tasks (None: unlimited, the default).
        """
        state = self.state()
        for member in state.workers:
            processes.stop(member.pid, worker.marker(state, member))
        state.exactly_once = exactly_once
        state.producer_tuning = producer_tuning
        state.task_restarts_max = task_restarts_max
        state.save()
        jars = ensure_jars()
        for member in state.workers:
            self._start_worker(state, member, jars)
        for member in state.workers:
            self.wait_for_worker(state, member)

    def add_worker(self, wait: bool = True) -> WorkerState:
        """Start one more worker; it joins the group (a rebalance). `wait=False` returns at once."""
        state = self.state()
        rest_port, jmx_port = processes.free_ports(2)
        member = WorkerState(index=len(state.workers), rest_port=rest_port, jmx_port=jmx_port)
        state.workers.append(member)
        state.save()
        self._start_worker(state, member, ensure_jars())
        if wait:
            self.wait_for_worker(state, member)
        return member

    def remove_worker(self, index: int) -> None:
        """Stop the last-added worker and forget it (tests that add a worker clean up with this)."""
        state = self.state()
        member = state.workers[index]
        processes.stop(member.pid, worker.marker(state, member))
        state.workers.remove(member)
        state.save()

    def restart_broker(self, name: str, down_seconds: float = 0.0) -> None:
        state = self.state()
        node = state.brokers[name]
        processes.stop(node.pid, broker.marker(self.runtime_dir, node))
        time.sleep(down_seconds)
        node.pid = broker.start(self.runtime_dir, node, ensure_jars())
        state.save()
        self._wait_for_broker(node)

    def wait_for_worker(self, state: RuntimeState, member: WorkerState, seconds: float = WORKER_START_SECONDS) -> None:
        """Until the worker's REST API answers an authenticated request (it has joined the group)."""
        connect = self.credentials().connect
        endpoint = ConnectEndpoint(
            member.url, connect.username, connect.password, timeout_seconds=5, deadline_seconds=2
        )
        alive = lambda: processes.alive(member.pid, worker.marker(state, member))  # noqa: E731
        _wait(
            f"Connect worker {member.index}", seconds, alive, lambda: _answers(endpoint), worker.log_file(state, member)
        )

    # --- Internals ------------------------------------------------------------------------------

    def _load_or_create(self, workers: int) -> RuntimeState:
        try:
            state = self.state()
        except FileNotFoundError:
            state = self._create(workers)
        while len(state.workers) < workers:
            rest_port, jmx_port = processes.free_ports(2)
            state.workers.append(WorkerState(index=len(state.workers), rest_port=rest_port, jmx_port=jmx_port))
        state.save()
        return state

    def _auths(self) -> dict[str, ClusterAuth]:
        return {"source": self.source_auth, "destination": self.destination_auth}

    def _create(self, workers: int) -> RuntimeState:
        # By default the source needs SASL/PLAIN, as Confluent Cloud does: connectors reach it with
        # a password that only a secret file holds, so the tests exercise the config-provider path.
        defaults: dict[str, ClusterAuth] = {"source": SOURCE_AUTH, "destination": DESTINATION_AUTH}
        internal = [name for name, auth in self._auths().items() if auth not in (SOURCE_AUTH, DESTINATION_AUTH)]
        ports = processes.free_ports(4 + 2 * workers + len(internal))
        internal_ports = dict(zip(internal, ports[4 + 2 * workers :], strict=True))
        state = RuntimeState(runtime_dir=str(self.runtime_dir), group_id=GROUP_ID)
        for index, (name, auth) in enumerate(self._auths().items()):
            state.brokers[name] = BrokerState(
                name,
                ports[2 * index],
                ports[2 * index + 1],
                broker.new_cluster_id(),
                auth.mode,
                host=self.broker_host,
                auth=None if auth == defaults[name] else auth.model_dump(by_alias=True),
                internal_port=internal_ports.get(name),
            )
        for index in range(workers):
            state.workers.append(WorkerState(index, ports[4 + 2 * index], ports[5 + 2 * index]))
        self._write_secrets(state)
        state.save()
        return state

    def _write_secrets(self, state: RuntimeState) -> None:
        sasl_destination = isinstance(self.destination_auth, SaslAuth)
        credentials = LocalCredentials(
            connect=Credential("mm2-admin", secrets.token_urlsafe(18)),
            source=Credential("mirror", secrets.token_urlsafe(18)),
            source_admin=Credential("admin", secrets.token_urlsafe(18)),
            destination=Credential("mirror", secrets.token_urlsafe(18)) if sasl_destination else None,
            destination_admin=Credential("admin", secrets.token_urlsafe(18)) if sasl_destination else None,
        )
        folder = state.secrets_dir
        credentials.save(folder)
        connect = credentials.connect
        write_secret(folder / REST_USERS_FILE, rest_users_file_content(connect.username, connect.password))
        write_secret(folder / REST_JAAS_FILE, rest_jaas_config(str(folder / REST_USERS_FILE)))
        write_secret(folder / PROBE_AUTH_FILE, basic_authorization(connect.username, connect.password))
        for name, node in state.brokers.items():
            auth = node.cluster_auth
            # The workers' files, as a Kubernetes Secret mounts them (workload/worker_files.py).
            if isinstance(auth, SaslAuth):
                user = credentials.mirror_user(name)
                write_secret(
                    Path(credentials_file(str(folder), name)),
                    credentials_file_content(auth, user.username, user.password),
                )
        self._write_tls_files(state)

    def _write_tls_files(self, state: RuntimeState) -> None:
        """One CA for the runtime; a certificate per TLS broker naming its host; mutual TLS client certificates.

        The CA's key is used here and dropped: nothing else is ever signed by it.
        """
        tls_brokers = {name: node for name, node in state.brokers.items() if uses_tls(node.cluster_auth)}
        if not tls_brokers:
            return
        ca = certs.new_ca(f"mm2-eks local runtime CA ({self.runtime_dir.name})")
        for name, node in tls_brokers.items():
            write_secret(
                broker.keystore_file(self.runtime_dir, node), certs.issue(ca, name, (node.host,), server=True).keystore
            )
            client = None
            if isinstance(node.cluster_auth, MutualTlsAuth):
                write_secret(broker.truststore_file(self.runtime_dir, node), ca.certificate)
                client = certs.issue(ca, f"mirror@{name}", server=False)
            files = TlsFiles(
                trusted_certificates=ca.certificate,
                certificate=client.certificate if client else None,
                private_key=client.private_key if client else None,
            )
            for file_name, content in tls_file_contents(name, files).items():
                write_secret(state.secrets_dir / file_name, content)

    def _start_worker(self, state: RuntimeState, member: WorkerState, jars: RuntimeJars) -> None:
        if processes.alive(member.pid, worker.marker(state, member)):
            return
        log(f"starting Connect worker {member.index} on {member.url}")
        member.pid = worker.start(state, member, jars)
        state.save()

    def _wait_for_broker(self, node: BrokerState) -> None:
        """Until the broker leads its partitions and serves metadata through the listener of its auth.

        A cluster with an internal listener is asked there first: its SCRAM users are created
        through it (no one can log in before), then the client listener must answer too.
        """
        state = self.state()
        if node.internal_port is not None:
            self._wait_for_listener(node, node.internal_port, clients.internal_config(node))
            if node.cluster_auth.mode == "scram":
                broker.upsert_scram_users(node, _sasl_users(self.credentials(), node.name))
        self._wait_for_listener(node, node.port, clients.client_config(state, node.name))

    def _wait_for_listener(self, node: BrokerState, port: int, config: dict[str, Any]) -> None:
        host = node.host if port == node.port else "127.0.0.1"

        def serves_metadata() -> bool:
            if not processes.port_open(port, host):
                return False
            try:
                metadata = AdminClient(config).list_topics(timeout=3)
            except Exception:  # noqa: BLE001 - any failure means "not yet"
                return False
            # A restarted broker answers before it leads its partitions again; until then every
            # client gets NOT_LEADER_FOR_PARTITION (2026-12-02 CI: a watermark query just after it).
            return all(
                partition.leader >= 0 for topic in metadata.topics.values() for partition in topic.partitions.values()
            )

        alive = lambda: processes.alive(node.pid, broker.marker(self.runtime_dir, node))  # noqa: E731
        log_file = broker.broker_dir(self.runtime_dir, node) / "broker.log"
        _wait(f"Kafka cluster {node.name!r} on port {port}", BROKER_START_SECONDS, alive, serves_metadata, log_file)


def _sasl_users(credentials: LocalCredentials, cluster: str) -> dict[str, Credential]:
    """The SASL users a cluster's broker accepts: the workers' and the test clients' (none without SASL)."""
    if cluster == "destination" and credentials.destination is None:
        return {}
    return {"mirror": credentials.mirror_user(cluster), "admin": credentials.admin_user(cluster)}


def _answers(endpoint: ConnectEndpoint) -> bool:
    try:
        with ConnectClient(endpoint) as client:
            client.connectors()
        return True
    except ConnectError:
        return False


def _wait(what: str, seconds: float, alive: Callable[[], bool], ready: Callable[[], bool], log_file: Path) -> None:
    """Until `ready()`, failing at once with the log's tail if the process exits meanwhile."""

    def probe() -> bool:
        if not alive():
            raise RuntimeError(f"{what} exited during start-up; last lines of {log_file}:\n{_tail(log_file)}")
        return ready()

    try:
        poll_until(probe, timeout=seconds, what=f"{what} to be ready")
    except PollTimeout:
        raise RuntimeError(
            f"{what} not ready after {seconds:.0f}s; last lines of {log_file}:\n{_tail(log_file)}"
        ) from None


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log file)"
