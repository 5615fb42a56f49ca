"""The MirrorMaker 2 connectors as Connect runs them: configs, states, task assignments, positions.

Read from the live Connect cluster, not from the connector files: `status` reports what runs.
A source connector's committed position per partition (Connect's offsets API, KIP-875) is the
offset of the last record it mirrored; it resumes at that offset + 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connect.connector_defaults import CHECKPOINT_CONNECTOR, HEARTBEAT_CONNECTOR, MIRROR_PACKAGE, SOURCE_CONNECTOR
from connect.rest import ConnectClient
from connect.topic_selection import DEFAULT_TOPICS, DEFAULT_TOPICS_EXCLUDE
from mm2ctl.naming import RemoteNaming

# MirrorCheckpointConfig's defaults (DefaultGroupFilter) when a connector sets neither key.
DEFAULT_GROUPS = ".*"
DEFAULT_GROUPS_EXCLUDE = "console-consumer-.*,connect-.*,__.*"

Partition = tuple[str, int]


@dataclass(frozen=True)
class LiveConnector:
    name: str
    kind: str  # "source", "checkpoint" or "heartbeat"
    config: dict[str, str]
    status: dict[str, Any]

    @property
    def source(self) -> str:
        return self.config.get("source.cluster.alias", "")

    @property
    def state(self) -> str:
        return str(self.status.get("connector", {}).get("state", "UNKNOWN"))

    @property
    def tasks(self) -> list[dict[str, Any]]:
        return list(self.status.get("tasks", []))

    def problems(self) -> list[str]:
        """Why this connector does not mirror right now, in an operator's words (empty: it runs)."""
        if self.state != "RUNNING":
            return [f"connector {self.name} is {self.state}"]
        problems = [
            f"connector {self.name} task {t.get('id')} is {t.get('state')}"
            for t in self.tasks
            if t.get("state") != "RUNNING"
        ]
        if not self.tasks and self.kind == "source":
            # A checkpoint connector has no task while no group is selected: that is not a fault.
            problems.append(f"connector {self.name} has no task")
        return problems


@dataclass(frozen=True)
class SourceConnector(LiveConnector):
    naming: RemoteNaming
    # partitions the connector's tasks were given (task.assigned.partitions)
    assigned: frozenset[Partition] = frozenset()
    # offset of the last mirrored record, per partition
    positions: dict[Partition, int] = field(default_factory=dict)

    @property
    def include(self) -> list[str]:
        return _patterns(self.config.get("topics", DEFAULT_TOPICS))

    @property
    def exclude(self) -> list[str]:
        return _patterns(self.config.get("topics.exclude", self.config.get("topics.blacklist", DEFAULT_TOPICS_EXCLUDE)))


@dataclass(frozen=True)
class CheckpointConnector(LiveConnector):
    naming: RemoteNaming

    @property
    def include(self) -> list[str]:
        return _patterns(self.config.get("groups", DEFAULT_GROUPS))

    @property
    def exclude(self) -> list[str]:
        return _patterns(self.config.get("groups.exclude", self.config.get("groups.blacklist", DEFAULT_GROUPS_EXCLUDE)))


@dataclass
class MirrorConnectors:
    sources: list[SourceConnector] = field(default_factory=list)
    checkpoints: list[CheckpointConnector] = field(default_factory=list)
    heartbeats: list[LiveConnector] = field(default_factory=list)

    def all(self) -> list[LiveConnector]:
        return sorted([*self.sources, *self.checkpoints, *self.heartbeats], key=lambda c: c.name)

    def aliases(self) -> set[str]:
        return {connector.source for connector in self.all()}


def read_connectors(client: ConnectClient, source: str | None = None) -> MirrorConnectors:
    """Every MirrorMaker 2 connector of Connect (of one source cluster alias when given)."""
    found = MirrorConnectors()
    for name, live in sorted(client.connectors_with_status().items()):
        config = live.config
        connector_class = config.get("connector.class", "")
        if "." not in connector_class:
            connector_class = f"{MIRROR_PACKAGE}.{connector_class}"
        if source is not None and config.get("source.cluster.alias") != source:
            continue
        if connector_class == SOURCE_CONNECTOR:
            found.sources.append(_source_connector(client, name, config, live.status))
        elif connector_class == CHECKPOINT_CONNECTOR:
            found.checkpoints.append(
                CheckpointConnector(name, "checkpoint", config, live.status, RemoteNaming.of(config))
            )
        elif connector_class == HEARTBEAT_CONNECTOR:
            found.heartbeats.append(LiveConnector(name, "heartbeat", config, live.status))
    return found


def _source_connector(
    client: ConnectClient, name: str, config: dict[str, str], status: dict[str, Any]
) -> SourceConnector:
    assigned: set[Partition] = set()
    for task in client.task_configs(name) or []:
        for entry in task.get("config", {}).get("task.assigned.partitions", "").split(","):
            if entry.strip():
                topic, _, number = entry.strip().rpartition("-")
                assigned.add((topic, int(number)))
    positions: dict[Partition, int] = {}
    for entry in client.connector_offsets(name):
        partition, offset = entry.get("partition", {}), entry.get("offset") or {}
        if "topic" in partition and "offset" in offset:
            positions[(str(partition["topic"]), int(partition["partition"]))] = int(offset["offset"])
    return SourceConnector(name, "source", config, status, RemoteNaming.of(config), frozenset(assigned), positions)


def _patterns(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]
