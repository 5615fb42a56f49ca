"""Helpers shared by the integration, end-to-end and fault tests."""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from connect.connector_tree import ConnectorSpec, load_connector_tree
from connect.local_runtime import LocalCredentials, RuntimeState, connect_endpoint, local_tree_context
from localkafka.paths import REPO_ROOT

_counter = itertools.count()
T = TypeVar("T")


def unique(prefix: str) -> str:
    """A name no other test (or earlier run against the same runtime) uses."""
    return f"{prefix}-{os.getpid()}-{next(_counter)}"


def write_tree(root: Path, files: Mapping[str, Any]) -> Path:
    """Write connector files under root/local/destination/source/ from {file name: JSON value}."""
    import json

    folder = root / "local" / "destination" / "source"
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_text(content if isinstance(content, str) else json.dumps(content, indent=2))
    return root


def load_specs(state: RuntimeState, root: Path, exactly_once: bool = True) -> list[ConnectorSpec]:
    return load_connector_tree(local_tree_context(state, root, "local", exactly_once=exactly_once)).connectors


def provider_props(state: RuntimeState, spec: ConnectorSpec, worker: int = 0, **connect: Any) -> dict[str, Any]:
    """The inputs the ConnectorSet component gives the provider, for the local runtime."""
    credentials = LocalCredentials.load(state.secrets_dir)
    endpoint = connect_endpoint(state, worker)
    return {
        "connector_name": spec.name,
        "config": spec.config,
        "state": spec.state,
        "source_file": spec.source_file,
        "connect": {
            "url": endpoint.url,
            "username": credentials.connect.username,
            "timeout_seconds": 10,
            "deadline_seconds": 60,
            "state_deadline_seconds": 120,
            **connect,
        },
        "connect_password": credentials.connect.password,
        "kubeconfig": "",
    }


LOCAL_TREE = REPO_ROOT / "connectors"


def runtime_secret_values(state: RuntimeState) -> dict[str, str]:
    """Every password and private key of a local runtime, by name: what no log, state or answer may hold.

    The passwords of every generated user, and each line of each private key's base64 body.
    """
    credentials = LocalCredentials.load(state.secrets_dir)
    values = {f"{name} password": c.password for name, c in vars(credentials).items() if c is not None}
    for path in sorted(state.secrets_dir.glob("*-private-key.pem")):
        body = [line for line in path.read_text().splitlines() if line and not line.startswith("-----")]
        values |= {f"{path.name} line {index}": line for index, line in enumerate(body)}
    return values
