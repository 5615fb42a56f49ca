"""Helpers shared by the integration, end-to-end and fault tests."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from connect.connector_tree import ConnectorSpec, TreeContext, load_connector_tree
from localkafka.endpoints import cluster_endpoints, connect_endpoint
from localkafka.paths import REPO_ROOT
from localkafka.state import LocalCredentials, RuntimeState

_counter = itertools.count()
T = TypeVar("T")


def unique(prefix: str) -> str:
    """A name no other test (or earlier run against the same runtime) uses."""
    return f"{prefix}-{os.getpid()}-{next(_counter)}"


def tree_context(state: RuntimeState, root: Path, env: str = "local", exactly_once: bool = True) -> TreeContext:
    endpoints = cluster_endpoints(state)
    return TreeContext(
        root=root,
        env=env,
        destination=endpoints["destination"],
        sources={"source": endpoints["source"]},
        secrets_dir=str(state.secrets_dir),
        replication_factor=1,
        exactly_once=exactly_once,
        display_root=root.parent,
    )


def write_tree(root: Path, files: Mapping[str, Any]) -> Path:
    """Write connector files under root/local/destination/source/ from {file name: JSON value}."""
    import json

    folder = root / "local" / "destination" / "source"
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_text(content if isinstance(content, str) else json.dumps(content, indent=2))
    return root


def load_specs(state: RuntimeState, root: Path, exactly_once: bool = True) -> list[ConnectorSpec]:
    return load_connector_tree(tree_context(state, root, exactly_once=exactly_once)).connectors


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


def eventually(check: Callable[[], T], timeout: float, what: str, interval: float = 0.5) -> T:
    """Poll `check` until it returns a truthy value; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: T = check()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last value {last!r})")
        time.sleep(interval)
        last = check()
    return last


LOCAL_TREE = REPO_ROOT / "connectors"
