"""What the Connect workers did, read from their logs: REST requests and connector restarts.

Connect logs every REST request it serves (`"PUT /connectors/x/config HTTP/1.1" 200`) and every
connector stop. Counting those lines measures what a client really did to the workers, whichever
process made the calls (the Pulumi engine's provider host, a script, a test).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from connect.local_runtime import RuntimeState
from connect.rest import CLUSTER_CHECK_PATH
from localkafka.worker import log_file

# Jetty's NCSA line: "VERB path HTTP/1.1" status bytes "referer" "user agent" ms.
REQUEST = re.compile(
    r'"(?P<verb>GET|POST|PUT|DELETE|PATCH) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3})'
    r'(?: \S+ "[^"]*" "(?P<agent>[^"]*)")?'
)
# The workers' own restart supervisor (docker/worker-extensions, WorkerRestClient.USER_AGENT).
RESTART_SUPERVISOR_AGENT = "mm2-eks-restart-supervisor"
STOPPING_CONNECTOR = re.compile(r"Stopping connector (?P<name>\S+) \(org\.apache\.kafka\.connect\.runtime\.Worker\)")
WRITE_VERBS = ("POST", "PUT", "DELETE", "PATCH")
# Calls the workers make to each other (task configs to the leader, exactly-once fencing).
INTERNAL = re.compile(r"^(POST /connectors/[^/]+/tasks|PUT /connectors/[^/]+/fence)(\?.*)?$")


@dataclass(frozen=True)
class Request:
    verb: str
    path: str
    status: int
    agent: str = ""

    @classmethod
    def of(cls, found: re.Match[str]) -> Request:
        """The request a REQUEST match describes."""
        return cls(found["verb"], found["path"], int(found["status"]), found["agent"] or "")

    @property
    def is_internal(self) -> bool:
        return bool(INTERNAL.match(f"{self.verb} {self.path}"))

    @property
    def is_forwarded(self) -> bool:
        """A follower passing a client's request on to the leader (`?forward=`): not a second write."""
        return "forward=" in self.path.partition("?")[2]

    @property
    def is_write(self) -> bool:
        """A client's change to the cluster; validation and the cluster check are PUTs that change nothing."""
        return (
            self.verb in WRITE_VERBS
            and not self.is_internal
            and not self.is_forwarded
            and not self.path.endswith("/config/validate")
            and self.path != CLUSTER_CHECK_PATH
            and self.agent != RESTART_SUPERVISOR_AGENT
        )


@dataclass(frozen=True)
class LogMark:
    offsets: dict[str, int]


class ConnectLog:
    """Everything the workers logged after a mark: the local runtime's workers, or the given log
    files (a container's log, which podman writes in the kubelet's CRI format)."""

    def __init__(self, state: RuntimeState | None = None, files: Sequence[Path] = ()) -> None:
        self._files = [log_file(state, worker) for worker in state.workers] if state is not None else list(files)

    def mark(self) -> LogMark:
        return LogMark({str(path): _size(path) for path in self._files})

    def lines_since(self, mark: LogMark) -> list[str]:
        lines: list[str] = []
        for path in self._files:
            start = mark.offsets.get(str(path), 0)
            if path.exists():
                with open(path, "rb") as handle:
                    handle.seek(start)
                    lines += handle.read().decode(errors="replace").splitlines()
        return lines

    def requests_since(self, mark: LogMark) -> list[Request]:
        found = (REQUEST.search(line) for line in self.lines_since(mark))
        return [Request.of(m) for m in found if m]

    def writes_since(self, mark: LogMark) -> list[Request]:
        return [request for request in self.requests_since(mark) if request.is_write]

    def connector_stops_since(self, mark: LogMark) -> list[str]:
        found = (STOPPING_CONNECTOR.search(line) for line in self.lines_since(mark))
        return [m["name"] for m in found if m]


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0
