"""The local runtime as its clients see it: the state file, the credentials and the clusters' endpoints.

`python -m localkafka` writes these; the `local` stack, the connector provider, the operator
commands, the benchmarks and the tests read them. The state file holds no secret: passwords live in
files of the runtime's `secrets/` folder (mode 0600), where the workers' FileConfigProvider reads
them, as a mounted Kubernetes Secret is read on EKS.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from connect.cluster_connection import ClusterEndpoint
from connect.connector_tree import TreeContext
from connect.rest import ConnectEndpoint
from connect.secret_file import write_secret
from stackconfig.models import ClusterAuth, PlaintextAuth, SaslAuth

STATE_FILE = "state.json"
CREDENTIALS_FILE = "credentials.json"
# The runtime folder: MM2_LOCAL_RUNTIME_DIR if set, else this folder of the project.
RUNTIME_DIR_VARIABLE = "MM2_LOCAL_RUNTIME_DIR"
DEFAULT_RUNTIME_DIR = ".local/runtime"

# By default the source cluster speaks SASL/PLAIN without TLS, as Confluent Cloud speaks
# SASL/PLAIN; the destination plaintext. A runtime can be created with any other auth per cluster
# (LocalRuntime(..., source_auth=..., destination_auth=...)): TLS, mutual TLS, SASL over TLS.
SOURCE_AUTH = SaslAuth(mode="plain", tls=False)
DESTINATION_AUTH = PlaintextAuth(mode="plaintext")
# How state files written before `BrokerState.auth` existed name these two.
_AUTH_OF_MODE: dict[str, ClusterAuth] = {"plain": SOURCE_AUTH, "plaintext": DESTINATION_AUTH}
_AUTH = TypeAdapter[ClusterAuth](ClusterAuth)


def runtime_dir(project_root: Path, configured: str | None = None) -> Path:
    """The one rule for where the local runtime lives, used by every tool and the `local` stack.

    A configured folder (the stack key `local.runtimeDir`) wins; then the environment variable;
    then the default. Relative paths are relative to the project.
    """
    chosen = configured or os.environ.get(RUNTIME_DIR_VARIABLE) or DEFAULT_RUNTIME_DIR
    return (project_root / chosen).resolve()


@dataclass
class BrokerState:
    name: str
    port: int
    controller_port: int
    cluster_id: str
    auth_mode: str  # the auth's mode: "plaintext", "plain", "scram", "tls" or "mtls"
    pid: int | None = None
    # Where clients reach the broker: loopback, or an address the test run made itself (a dummy
    # interface whose address pods on a test Kubernetes node can reach).
    host: str = "127.0.0.1"
    # The cluster's auth settings as the stack writes them (`auth` of stackconfig), when they are
    # not one of the defaults named by `auth_mode` alone.
    auth: dict[str, Any] | None = None
    # A PLAINTEXT listener on 127.0.0.1 for the broker's own traffic and the runtime's admin calls
    # (creating SCRAM users), on clusters whose client listener has TLS or SCRAM.
    internal_port: int | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def cluster_auth(self) -> ClusterAuth:
        return _AUTH.validate_python(self.auth) if self.auth is not None else _AUTH_OF_MODE[self.auth_mode]

    @property
    def internal_bootstrap_servers(self) -> str | None:
        return f"127.0.0.1:{self.internal_port}" if self.internal_port else None


@dataclass
class WorkerState:
    index: int
    rest_port: int
    jmx_port: int
    pid: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.jmx_port}/metrics"


@dataclass
class RuntimeState:
    runtime_dir: str
    group_id: str
    # Exactly-once source support on the workers (on by default, as on EKS).
    exactly_once: bool = True
    # The tuned producer settings of connect/worker_properties.py (off only to benchmark without).
    producer_tuning: bool = True
    # The workers' maximum restarts of a failed connector or task (None: unlimited, as on EKS).
    task_restarts_max: int | None = None
    brokers: dict[str, BrokerState] = field(default_factory=dict)
    workers: list[WorkerState] = field(default_factory=list)

    @property
    def secrets_dir(self) -> Path:
        return Path(self.runtime_dir) / "secrets"

    @property
    def connect_url(self) -> str:
        return self.workers[0].url

    def save(self) -> None:
        path = Path(self.runtime_dir) / STATE_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=2) + "\n")
        temporary.replace(path)

    @classmethod
    def load(cls, runtime_dir: Path) -> RuntimeState:
        path = runtime_dir / STATE_FILE
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            raise FileNotFoundError(
                f"{path} does not exist: start the local runtime first (python -m localkafka up)"
            ) from None
        return cls(
            runtime_dir=raw["runtime_dir"],
            group_id=raw["group_id"],
            exactly_once=raw.get("exactly_once", True),
            producer_tuning=raw.get("producer_tuning", True),
            task_restarts_max=raw.get("task_restarts_max"),
            brokers={name: BrokerState(**broker) for name, broker in raw["brokers"].items()},
            workers=[WorkerState(**worker) for worker in raw["workers"]],
        )


@dataclass(frozen=True)
class Credential:
    username: str
    password: str

    def __repr__(self) -> str:  # keeps passwords out of tracebacks and logs
        return f"Credential(username={self.username!r}, password='***')"


@dataclass(frozen=True)
class LocalCredentials:
    """Generated once per runtime folder: the Connect REST user and each SASL cluster's users.

    `source` and `destination` are the workers' users; the `_admin` ones the test clients'.
    """

    connect: Credential
    source: Credential
    source_admin: Credential
    destination: Credential | None = None
    destination_admin: Credential | None = None

    def save(self, secrets_dir: Path) -> None:
        write_secret(
            secrets_dir / CREDENTIALS_FILE,
            json.dumps({name: {"username": c.username, "password": c.password} for name, c in self._items().items()}),
        )

    @classmethod
    def load(cls, secrets_dir: Path) -> LocalCredentials:
        raw = json.loads((secrets_dir / CREDENTIALS_FILE).read_text())
        return cls(**{name: Credential(**value) for name, value in raw.items()})

    def mirror_user(self, cluster: str) -> Credential:
        """The SASL user the workers log in to `cluster` with."""
        return _required(self.source if cluster == "source" else self.destination, cluster)

    def admin_user(self, cluster: str) -> Credential:
        """The SASL user the test clients log in to `cluster` with."""
        return _required(self.source_admin if cluster == "source" else self.destination_admin, cluster)

    def _items(self) -> dict[str, Credential]:
        items = {"connect": self.connect, "source": self.source, "source_admin": self.source_admin}
        if self.destination is not None and self.destination_admin is not None:
            items |= {"destination": self.destination, "destination_admin": self.destination_admin}
        return items


def _required(credential: Credential | None, cluster: str) -> Credential:
    if credential is None:
        raise ValueError(f"the local runtime's cluster {cluster!r} has no SASL users")
    return credential


def cluster_endpoints(state: RuntimeState) -> dict[str, ClusterEndpoint]:
    return {
        name: ClusterEndpoint(name, broker.bootstrap_servers, broker.cluster_auth)
        for name, broker in state.brokers.items()
    }


def connect_endpoint(state: RuntimeState, worker_index: int = 0, deadline_seconds: float = 60.0) -> ConnectEndpoint:
    connect = LocalCredentials.load(state.secrets_dir).connect
    return ConnectEndpoint(
        state.workers[worker_index].url, connect.username, connect.password, deadline_seconds=deadline_seconds
    )


def local_tree_context(
    state: RuntimeState,
    root: Path,
    env: str,
    *,
    exactly_once: bool = True,
    replication_factor: int = 1,
    display_root: Path | None = None,
    allow_empty_sources: bool = False,
) -> TreeContext:
    """How connector files under `root/<env>/destination/source/` become configs for this runtime."""
    endpoints = cluster_endpoints(state)
    return TreeContext(
        root=root,
        env=env,
        destination=endpoints["destination"],
        sources={"source": endpoints["source"]},
        secrets_dir=str(state.secrets_dir),
        replication_factor=replication_factor,
        exactly_once=exactly_once,
        display_root=display_root or root.parent,
        allow_empty_sources=allow_empty_sources,
    )
