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

from confluent_kafka.admin import AdminClient

from connect.cluster_connection import credentials_file, credentials_file_content
from connect.local_runtime import (
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
from localkafka import broker, clients, processes, worker
from localkafka.jars import RuntimeJars, ensure_jars
from stackconfig.models import SaslAuth
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

    # --- Whole runtime ------------------------------------------------------------------------

    def up(self, workers: int = 1) -> RuntimeState:
        jars = ensure_jars()
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        state = self._load_or_create(workers)
        credentials = self.credentials()
        for name, node in state.brokers.items():
            if not processes.alive(node.pid, broker.marker(self.runtime_dir, node)):
                log(f"starting Kafka cluster {name!r} on {node.bootstrap_servers}")
                users = {"mirror": credentials.source, "admin": credentials.source_admin}
                broker.prepare(self.runtime_dir, node, jars, users, credentials.source_admin)
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

    def restart_workers(self, exactly_once: bool, producer_tuning: bool = True) -> None:
        """Stop every worker, then start them all with exactly-once source support on or off."""
        state = self.state()
        for member in state.workers:
            processes.stop(member.pid, worker.marker(state, member))
        state.exactly_once = exactly_once
        state.producer_tuning = producer_tuning
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

    def _create(self, workers: int) -> RuntimeState:
        ports = processes.free_ports(4 + 2 * workers)
        state = RuntimeState(runtime_dir=str(self.runtime_dir), group_id=GROUP_ID)
        # The source needs SASL/PLAIN, as Confluent Cloud does: connectors reach it with a password
        # that only a secret file holds, so the tests exercise the config-provider path for real.
        host = self.broker_host
        state.brokers["source"] = BrokerState("source", ports[0], ports[1], broker.new_cluster_id(), "plain", host=host)
        state.brokers["destination"] = BrokerState(
            "destination", ports[2], ports[3], broker.new_cluster_id(), "plaintext", host=host
        )
        for index in range(workers):
            state.workers.append(WorkerState(index, ports[4 + 2 * index], ports[5 + 2 * index]))
        self._write_secrets(state)
        state.save()
        return state

    def _write_secrets(self, state: RuntimeState) -> None:
        credentials = LocalCredentials(
            connect=Credential("mm2-admin", secrets.token_urlsafe(18)),
            source=Credential("mirror", secrets.token_urlsafe(18)),
            source_admin=Credential("admin", secrets.token_urlsafe(18)),
        )
        folder = state.secrets_dir
        credentials.save(folder)
        connect = credentials.connect
        write_secret(folder / REST_USERS_FILE, rest_users_file_content(connect.username, connect.password))
        write_secret(folder / REST_JAAS_FILE, rest_jaas_config(str(folder / REST_USERS_FILE)))
        write_secret(folder / PROBE_AUTH_FILE, basic_authorization(connect.username, connect.password))
        sasl = SaslAuth(mode="plain", tls=False)
        write_secret(
            Path(credentials_file(str(folder), "source")),
            credentials_file_content(sasl, credentials.source.username, credentials.source.password),
        )

    def _start_worker(self, state: RuntimeState, member: WorkerState, jars: RuntimeJars) -> None:
        if processes.alive(member.pid, worker.marker(state, member)):
            return
        log(f"starting Connect worker {member.index} on {member.url}")
        member.pid = worker.start(state, member, jars)
        state.save()

    def _wait_for_broker(self, node: BrokerState) -> None:
        config = clients.client_config(self.state(), node.name)

        def serves_metadata() -> bool:
            if not processes.port_open(node.port, node.host):
                return False
            try:
                AdminClient(config).list_topics(timeout=3)
                return True
            except Exception:  # noqa: BLE001 - any failure means "not yet"
                return False

        alive = lambda: processes.alive(node.pid, broker.marker(self.runtime_dir, node))  # noqa: E731
        log_file = broker.broker_dir(self.runtime_dir, node) / "broker.log"
        _wait(f"Kafka cluster {node.name!r}", BROKER_START_SECONDS, alive, serves_metadata, log_file)


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
