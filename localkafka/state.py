"""The state file: what a running local runtime looks like, read by tests and the `local` stack.

It holds no secret. Passwords live in files of the runtime's `secrets/` folder (mode 0600), where
the workers' FileConfigProvider reads them, as a mounted Kubernetes Secret would be read on EKS.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATE_FILE = "state.json"
CREDENTIALS_FILE = "credentials.json"


@dataclass
class BrokerState:
    name: str
    port: int
    controller_port: int
    cluster_id: str
    auth_mode: str  # "plaintext" or "plain" (SASL/PLAIN without TLS)
    pid: int | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"


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
    """Generated once per runtime folder: the Connect REST user and the source cluster's SASL user."""

    connect: Credential
    source: Credential
    source_admin: Credential

    def save(self, secrets_dir: Path) -> None:
        write_secret(
            secrets_dir / CREDENTIALS_FILE,
            json.dumps({name: {"username": c.username, "password": c.password} for name, c in self._items().items()}),
        )

    @classmethod
    def load(cls, secrets_dir: Path) -> LocalCredentials:
        raw = json.loads((secrets_dir / CREDENTIALS_FILE).read_text())
        return cls(**{name: Credential(**value) for name, value in raw.items()})

    def _items(self) -> dict[str, Credential]:
        return {"connect": self.connect, "source": self.source, "source_admin": self.source_admin}


def write_secret(path: Path, content: str) -> None:
    """Create the file readable by its owner only, before any byte is written to it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(content)
