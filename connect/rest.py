"""A small Kafka Connect REST client: every call bounded, every error carrying Connect's message.

Retries live in `ConnectClient._request` and nowhere else. Connect answers 409 ("conflicting
operation") and 500/503 ("rebalance is expected", "request timed out") while workers join or leave;
those, and refused connections, are retried with backoff until the call's deadline.
Config values are never logged: only verbs, paths and status codes reach `on_request`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import quote

import httpx

# Connect's words (lower case) when a worker could not forward a request to the group's leader.
LEADER_FORWARD_FAILED = "trying to forward rest request"
# Connect's own phrases for transient states, as returned in the `message` field.
# Phrases of Connect's 500s that pass once the group settles; "trying to forward rest request": the
# worker asked forwards to a leader that is gone (a deleted pod) until the group elects another;
# "can be safely retried": the leader's write to the config topic failed (Connect's own advice, seen
# while a worker left the group during `pulumi destroy`).
_TRANSIENT_MESSAGES = (
    "rebalance",
    "leader",
    "timed out",
    "not yet",
    "starting",
    "cannot complete request",
    LEADER_FORWARD_FAILED,
    "can be safely retried",
)
_FIRST_BACKOFF_SECONDS = 0.25
_MAX_BACKOFF_SECONDS = 4.0

RequestHook = Callable[[str, str, int], None]
CLUSTER_CHECK_PATH = "/mm2-eks/clusters/check"


class ConnectError(Exception):
    """A Connect REST call failed; the message says which call, for which connector, and why."""

    def __init__(self, verb: str, path: str, status: int | None, message: str, connector: str | None = None) -> None:
        self.verb, self.path, self.status, self.connect_message, self.connector = verb, path, status, message, connector
        subject = f" (connector {connector!r})" if connector else ""
        code = f"HTTP {status}" if status is not None else "no answer"
        super().__init__(f"Kafka Connect {verb} {path}{subject} failed: {code}: {message}")


class ConnectorAlreadyExists(ConnectError):
    pass


class ConnectUnavailable(ConnectError):
    """No usable answer before the deadline: the worker is down, unreachable or too slow."""


@dataclass(frozen=True)
class LiveConnector:
    """A connector as Connect has it: the stored config (placeholders unresolved) and its status."""

    config: dict[str, str]
    status: dict[str, Any]


@dataclass(frozen=True)
class ClusterCheckResult:
    """What a worker's pre-flight check of a cluster found: reachable, or the cause why not."""

    reachable: bool
    cause: str | None = None


@dataclass(frozen=True)
class ConnectEndpoint:
    url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    # A CA bundle for https URLs; None uses the system's trust store.
    ca_file: str | None = None
    # Each HTTP call's own timeout, and the deadline for retrying one logical call.
    timeout_seconds: float = 10.0
    deadline_seconds: float = 60.0


class ConnectClient:
    def __init__(self, endpoint: ConnectEndpoint, on_request: RequestHook | None = None) -> None:
        self.endpoint = endpoint
        self._on_request = on_request
        auth = httpx.BasicAuth(endpoint.username, endpoint.password or "") if endpoint.username else None
        self._http = httpx.Client(
            base_url=endpoint.url.rstrip("/"),
            auth=auth,
            timeout=httpx.Timeout(endpoint.timeout_seconds),
            verify=endpoint.ca_file or True,
            headers={"Accept": "application/json"},
        )

    def __enter__(self) -> ConnectClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- Reads -----------------------------------------------------------------------------

    def server_info(self) -> dict[str, Any]:
        return cast(dict[str, Any], self._json("GET", "/"))

    def wait_until_ready(self) -> None:
        """Until GET /health says the worker completed start-up (retried to the call's deadline).

        A worker that is still joining its group answers some calls from a stale view (404 for a
        connector that exists); a client must not act on those answers. Needs Kafka 3.9+ workers
        (KIP-1017); while starting, they answer /health with 503, or 404 before it is registered.
        """
        self._request("GET", "/health")

    def connectors(self) -> list[str]:
        return list(self._json("GET", "/connectors"))

    def connectors_with_status(self) -> dict[str, LiveConnector]:
        """Every connector's stored config and status in one call (`?expand=info&expand=status`)."""
        listing = cast(dict[str, Any], self._json("GET", "/connectors?expand=info&expand=status"))
        return {
            name: LiveConnector(config=dict(entry["info"]["config"]), status=entry["status"])
            for name, entry in listing.items()
        }

    def connector_config(self, name: str) -> dict[str, str] | None:
        """The stored config (placeholders such as ${file:...} unresolved), or None if absent."""
        return cast(
            dict[str, str] | None,
            self._json("GET", f"/connectors/{_quote(name)}/config", connector=name, missing_ok=True),
        )

    def connector_status(self, name: str) -> dict[str, Any] | None:
        return cast(
            dict[str, Any] | None,
            self._json("GET", f"/connectors/{_quote(name)}/status", connector=name, missing_ok=True),
        )

    def task_configs(self, name: str) -> list[dict[str, Any]] | None:
        """[{id: {connector, task}, config: {...}}]: the task configs the connector last generated."""
        return cast(
            list[dict[str, Any]] | None,
            self._json("GET", f"/connectors/{_quote(name)}/tasks", connector=name, missing_ok=True),
        )

    def connector_offsets(self, name: str) -> list[dict[str, Any]]:
        """The committed source offsets: [{partition: {...}, offset: {...}}] (KIP-875)."""
        path = f"/connectors/{_quote(name)}/offsets"
        return list(cast(dict[str, Any], self._json("GET", path, connector=name)).get("offsets", []))

    def connector_plugins(self) -> list[dict[str, Any]]:
        return list(self._json("GET", "/connector-plugins"))

    def validate(self, connector_class: str, config: Mapping[str, str]) -> dict[str, Any]:
        """Connect's own validation, without creating anything."""
        path = f"/connector-plugins/{_quote(connector_class)}/config/validate"
        return cast(dict[str, Any], self._json("PUT", path, body=dict(config)))

    def check_cluster(self, properties: Mapping[str, str]) -> ClusterCheckResult:
        """Whether the worker reaches a Kafka cluster with these client properties, references and all.

        PUT /mm2-eks/clusters/check (our REST extension, docker/worker-extensions .../preflight): the
        worker connects with its own network and its own secret files. The check's own timeout
        leaves room within this call's HTTP timeout.
        """
        timeout_ms = int(max(1.0, self.endpoint.timeout_seconds * 0.7) * 1000)
        body = {"properties": dict(properties), "timeoutMs": timeout_ms}
        answer = cast(dict[str, Any], self._json("PUT", CLUSTER_CHECK_PATH, body=body))
        return ClusterCheckResult(bool(answer.get("reachable")), answer.get("cause"))

    # --- Writes ----------------------------------------------------------------------------

    def create_connector(self, name: str, config: Mapping[str, str], initial_state: str | None = None) -> None:
        body: dict[str, Any] = {"name": name, "config": dict(config)}
        if initial_state:
            body["initial_state"] = initial_state.upper()
        self._request("POST", "/connectors", body=body, connector=name)

    def put_connector_config(self, name: str, config: Mapping[str, str]) -> None:
        self._request("PUT", f"/connectors/{_quote(name)}/config", body=dict(config), connector=name)

    def set_state(self, name: str, state: str) -> None:
        """running | paused | stopped, through PUT /resume, /pause or /stop."""
        action = {"running": "resume", "paused": "pause", "stopped": "stop"}[state]
        self._request("PUT", f"/connectors/{_quote(name)}/{action}", connector=name)

    def restart_failed(self, name: str) -> None:
        path = f"/connectors/{_quote(name)}/restart?includeTasks=true&onlyFailed=true"
        self._request("POST", path, connector=name)

    def delete_connector(self, name: str) -> bool:
        """False when there was nothing to delete (404)."""
        response = self._request("DELETE", f"/connectors/{_quote(name)}", connector=name, missing_ok=True)
        return response is not None

    # --- The one place that sends, checks and retries ----------------------------------------

    def _json(
        self, verb: str, path: str, *, body: Any = None, connector: str | None = None, missing_ok: bool = False
    ) -> Any:
        response = self._request(verb, path, body=body, connector=connector, missing_ok=missing_ok)
        return None if response is None else response.json()

    def _request(
        self, verb: str, path: str, *, body: Any = None, connector: str | None = None, missing_ok: bool = False
    ) -> httpx.Response | None:
        deadline = time.monotonic() + self.endpoint.deadline_seconds
        backoff = _FIRST_BACKOFF_SECONDS
        while True:
            failure = self._attempt(verb, path, body, connector, missing_ok)
            if not isinstance(failure, ConnectError):
                return failure
            if not _transient(failure) or time.monotonic() + backoff > deadline:
                if _transient(failure):
                    raise ConnectUnavailable(
                        verb,
                        path,
                        failure.status,
                        f"still failing after {self.endpoint.deadline_seconds:.0f}s of retries "
                        f"against {self.endpoint.url}: {failure.connect_message}",
                        connector,
                    ) from None
                raise failure
            time.sleep(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF_SECONDS)

    def _attempt(
        self, verb: str, path: str, body: Any, connector: str | None, missing_ok: bool
    ) -> httpx.Response | ConnectError | None:
        try:
            response = self._http.request(verb, path, json=body)
        except httpx.TransportError as error:
            self._notify(verb, path, 0)
            return ConnectError(verb, path, None, f"{type(error).__name__}: {error}", connector)
        self._notify(verb, path, response.status_code)
        if response.is_success:
            return response
        if response.status_code in (404, 503) and path == "/health":
            return ConnectError(verb, path, 503, f"the worker is not ready yet: {_message(response)}", connector)
        if response.status_code == 404 and not _is_connect_error(response) and path != CLUSTER_CHECK_PATH:
            # Not Connect's answer but Jetty's error page (HTML, or JSON for `Accept: application/json`):
            # a worker that is starting (its REST resources not registered yet) or stopping (already
            # unregistered, as a kept-alive connection to a pod being deleted finds).
            # (The cluster check is asked only of a ready worker: there it means an older image.)
            return ConnectError(
                verb,
                path,
                503,
                f"the worker's REST API is starting or stopping (Jetty's 404: {_message(response)})",
                connector,
            )
        if response.status_code == 404 and missing_ok:
            return None
        message = _message(response)
        if response.status_code == 409 and "already exists" in message:
            return ConnectorAlreadyExists(verb, path, 409, message, connector)
        return ConnectError(verb, path, response.status_code, message, connector)

    def _notify(self, verb: str, path: str, status: int) -> None:
        if self._on_request:
            self._on_request(verb, path, status)


def _transient(error: ConnectError) -> bool:
    if isinstance(error, ConnectorAlreadyExists):
        return False
    if error.status is None or error.status in (409, 503):
        return True
    return error.status == 500 and any(phrase in error.connect_message.lower() for phrase in _TRANSIENT_MESSAGES)


def _is_connect_error(response: httpx.Response) -> bool:
    """Whether an error response is Connect's own: JSON with its `error_code` (Jetty's pages have none)."""
    try:
        payload = response.json()
    except ValueError:
        return False
    return isinstance(payload, dict) and "error_code" in payload


def _message(response: httpx.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    if isinstance(payload, dict) and payload.get("message"):
        return str(payload["message"])
    return response.text.strip()[:500]


def _quote(segment: str) -> str:
    return quote(segment, safe="")
