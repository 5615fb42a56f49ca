"""How the connector provider reaches Kafka Connect, and what one provider-host process remembers.

The `connect` input says where Connect is, in one of three ways:
- `url`: a fixed address (an internal load balancer on EKS);
- `kubernetes`: a port-forward to a Ready worker pod through the Kubernetes API (`kubeconfig`);
- `local_runtime`: the local runtime's folder and worker index. Its address and REST password
  are read from the runtime's state at each call, so a restarted runtime (new ports, new
  credentials) is found, and a runtime that no longer exists has nothing left to delete.

The engine starts one provider-host process per run and calls it for every connector, often on
several threads at once. `HostMemory` keeps, per Connect address, what was learned moments ago:
that a worker is healthy, that it was unreachable, and one listing of every connector's config
and status, so that a no-op preview of 1,000 connectors costs a few REST calls instead of 2,000.
Every write through this process forgets the listing of that address.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from connect.local_runtime import LocalCredentials, RuntimeState
from connect.rest import ConnectClient, ConnectEndpoint, ConnectUnavailable, LiveConnector

# Best-effort reads (validation in check, drift in diff) give up sooner than writes, and skip an
# address that just failed: waiting the full deadline for each of 1,000 connectors would turn one
# outage into a long hang.
BEST_EFFORT_DEADLINE_SECONDS = 10.0
UNREACHABLE_MEMORY_SECONDS = 30.0
# A worker found healthy is not asked again for this long.
READY_MEMORY_SECONDS = 30.0
# One listing serves the diffs of a whole run: the engine diffs every resource within seconds.
LISTING_MEMORY_SECONDS = 15.0


class LocalRuntimeGone(ConnectUnavailable):
    """The local runtime's folder has no state file: the runtime was stopped and removed."""


@dataclass(frozen=True)
class ConnectAddress:
    """Where to reach Connect for one call, resolved from the `connect` input."""

    key: str  # the same for every connector of one Connect cluster
    url: str
    password: str | None


@dataclass
class HostMemory:
    ready_since: dict[str, float] = field(default_factory=dict)
    unreachable_since: dict[str, float] = field(default_factory=dict)
    listings: dict[str, tuple[float, dict[str, LiveConnector]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # The one instance of this process (class-level, so the pickled provider never carries it).
    current: ClassVar[HostMemory]

    def recently(self, table: dict[str, float], key: str, seconds: float) -> bool:
        at = table.get(key)
        return at is not None and time.monotonic() - at < seconds


HostMemory.current = HostMemory()


def address_key(props: Mapping[str, Any]) -> str:
    return json.dumps(props["connect"], sort_keys=True)


@contextmanager
def connect_client(props: Mapping[str, Any], deadline_seconds: float | None = None) -> Iterator[ConnectClient]:
    """A client for the Connect cluster the props name, after its worker says it is ready."""
    connect = props["connect"]
    with _resolve(props) as address:
        endpoint = ConnectEndpoint(
            url=address.url,
            username=connect.get("username") or None,
            password=address.password,
            ca_file=connect.get("ca_file") or None,
            timeout_seconds=float(connect.get("timeout_seconds", 10)),
            deadline_seconds=deadline_seconds or float(connect.get("deadline_seconds", 60)),
        )
        with ConnectClient(endpoint) as client:
            _ensure_ready(client, address.url)
            yield client


@contextmanager
def best_effort_client(props: Mapping[str, Any]) -> Iterator[ConnectClient]:
    """A client with a shorter deadline, refusing at once an address that was unreachable moments ago."""
    memory, key = HostMemory.current, address_key(props)
    if memory.recently(memory.unreachable_since, key, UNREACHABLE_MEMORY_SECONDS):
        raise ConnectUnavailable("GET", "/", None, "unreachable moments ago; not retried for a best-effort read")
    deadline = min(float(props["connect"].get("deadline_seconds", 60)), BEST_EFFORT_DEADLINE_SECONDS)
    try:
        with connect_client(props, deadline) as client:
            yield client
    except ConnectUnavailable:
        memory.unreachable_since[key] = time.monotonic()
        raise


def live_connectors(client: ConnectClient, props: Mapping[str, Any], fresh: bool = False) -> dict[str, LiveConnector]:
    """Every connector of this Connect cluster, from one listing shared by this process's calls."""
    memory, key = HostMemory.current, address_key(props)
    with memory.lock:
        cached = memory.listings.get(key)
        if cached is not None and not fresh and time.monotonic() - cached[0] < LISTING_MEMORY_SECONDS:
            return cached[1]
        listing = client.connectors_with_status()
        memory.listings[key] = (time.monotonic(), listing)
        return listing


def forget_listing(props: Mapping[str, Any]) -> None:
    """After a write: the next read asks Connect again."""
    with HostMemory.current.lock:
        HostMemory.current.listings.pop(address_key(props), None)


def _ensure_ready(client: ConnectClient, url: str) -> None:
    """Ask /health before acting on a worker's answers, at most once per READY_MEMORY_SECONDS."""
    memory = HostMemory.current
    if not memory.recently(memory.ready_since, url, READY_MEMORY_SECONDS):
        client.wait_until_ready()
        memory.ready_since[url] = time.monotonic()


@contextmanager
def _resolve(props: Mapping[str, Any]) -> Iterator[ConnectAddress]:
    connect, key = props["connect"], address_key(props)
    if connect.get("url"):
        yield ConnectAddress(key, connect["url"], props.get("connect_password") or None)
    elif connect.get("local_runtime"):
        yield _local_runtime_address(connect["local_runtime"], key)
    else:
        # Imported here: only stacks that port-forward need the Kubernetes client.
        from connect.port_forward import PortForwardError, forwarded_url

        kubernetes = connect["kubernetes"]
        try:
            url = forwarded_url(
                props["kubeconfig"], kubernetes["namespace"], kubernetes["selector"], int(kubernetes["port"])
            )
        except PortForwardError as error:
            raise ConnectUnavailable("GET", "/", None, str(error)) from None
        yield ConnectAddress(key, url, props.get("connect_password") or None)


def _local_runtime_address(local: Mapping[str, Any], key: str) -> ConnectAddress:
    folder = Path(local["dir"])
    try:
        state = RuntimeState.load(folder)
    except FileNotFoundError:
        raise LocalRuntimeGone(
            "GET", "/", None, f"the local runtime in {folder} is not running (start it: python -m localkafka up)"
        ) from None
    index = int(local.get("worker", 0))
    if index >= len(state.workers):
        raise ConnectUnavailable(
            "GET", "/", None, f"the local runtime in {folder} has {len(state.workers)} worker(s), no worker {index}"
        )
    connect = LocalCredentials.load(state.secrets_dir).connect
    return ConnectAddress(key, state.workers[index].url, connect.password)
