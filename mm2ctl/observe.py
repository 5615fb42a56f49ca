"""One look at a migration: the live connectors, every offset that matters, and the workers' metrics.

Both commands start from an `Observation`; what they compute from it is theirs (status.py,
cutover.py). The Kafka reads go through the offsets tool in two batches: first what the
connectors select on the source (topics, groups) and the destination's groups and checkpoints,
then the destination topics those names lead to and the exact record counts of the ranges
the first batch revealed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from connect.rest import ConnectClient
from mm2ctl.access import StackAccess
from mm2ctl.connectors import MirrorConnectors, Partition, SourceConnector, read_connectors
from mm2ctl.metrics import WorkerMetrics, scrape

# A source partition this close to its end is counted record by record: trailing transaction
# markers of a transactional source producer are offsets but not records.
EXACT_BEHIND_SPAN = 1000
# Ranges counted for the duplicate window: beyond this, the offset span stands in (an upper bound).
COUNT_LIMIT = 1_000_000
# How far before the end to look for the destination's last record (transaction markers follow it).
READ_BACK_OFFSETS = 64


@dataclass(frozen=True)
class Offsets:
    log_start: int
    end: int  # the high watermark
    stable: int  # the last stable offset: where read_committed consumers see the end


@dataclass(frozen=True)
class Group:
    name: str
    state: str
    members: list[dict[str, str]]
    offsets: dict[Partition, int]

    @property
    def empty(self) -> bool:
        return not self.members


@dataclass(frozen=True)
class Checkpoint:
    upstream: int
    downstream: int


@dataclass(frozen=True)
class RangeCount:
    start: int
    end: int
    records: int
    last_record: int | None
    complete: bool


@dataclass(frozen=True)
class MirroredPartition:
    """One source partition that a source connector mirrors (or should), and where it goes."""

    connector: SourceConnector
    source: str
    topic: str
    partition: int
    destination_topic: str

    @property
    def key(self) -> Partition:
        return (self.topic, self.partition)

    @property
    def position(self) -> int | None:
        return self.connector.positions.get(self.key)

    @property
    def resume(self) -> int | None:
        """Where the connector resumes: one past the last mirrored record."""
        return None if self.position is None else self.position + 1


@dataclass
class Observation:
    destination: str
    connectors: MirrorConnectors
    # alias -> topic -> offsets per partition (index = partition number)
    source_topics: dict[str, dict[str, list[Offsets]]] = field(default_factory=dict)
    destination_topics: dict[str, list[Offsets]] = field(default_factory=dict)
    mirrored: list[MirroredPartition] = field(default_factory=list)
    # alias -> group -> group on the source; the groups of the same names on the destination
    source_groups: dict[str, dict[str, Group]] = field(default_factory=dict)
    destination_groups: dict[str, dict[str, Group]] = field(default_factory=dict)
    # alias -> (group, destination topic, partition) -> the latest checkpoint
    checkpoints: dict[str, dict[tuple[str, str, int], Checkpoint]] = field(default_factory=dict)
    # exact record counts: (what, alias or destination, topic, partition) -> count
    counts: dict[tuple[str, str, str, int], RangeCount] = field(default_factory=dict)
    metrics: WorkerMetrics = field(default_factory=WorkerMetrics)
    problems: list[str] = field(default_factory=list)

    def source_offsets(self, mirrored: MirroredPartition) -> Offsets | None:
        partitions = self.source_topics.get(mirrored.source, {}).get(mirrored.topic)
        return partitions[mirrored.partition] if partitions and mirrored.partition < len(partitions) else None

    def destination_offsets(self, topic: str, partition: int) -> Offsets | None:
        partitions = self.destination_topics.get(topic)
        return partitions[partition] if partitions and partition < len(partitions) else None

    def by_source_topic(self, source: str) -> dict[str, list[MirroredPartition]]:
        topics: dict[str, list[MirroredPartition]] = {}
        for mirrored in self.mirrored:
            if mirrored.source == source:
                topics.setdefault(mirrored.topic, []).append(mirrored)
        return topics


def observe(access: StackAccess, source: str | None, timeout_seconds: float, metrics: bool = True) -> Observation:
    with ConnectClient(access.connect) as client:
        connectors = read_connectors(client, source)
    seen = Observation(access.settings.destination.name, connectors)
    _drop_unknown_sources(access, seen)
    if metrics:
        seen.metrics = scrape(access.metrics_urls)
    if not connectors.sources and not connectors.checkpoints:
        return seen
    _first_batch(access, seen, timeout_seconds)
    _second_batch(access, seen, timeout_seconds)
    return seen


def _drop_unknown_sources(access: StackAccess, seen: Observation) -> None:
    """Connectors of a source the stack does not define cannot be read (no credentials for it): named, skipped."""
    known = set(access.settings.sources)
    connectors = seen.connectors
    for connector in connectors.all():
        if connector.source not in known:
            seen.problems.append(
                f"connector {connector.name} mirrors source {connector.source!r}, which the stack does not define "
                f"(its sources: {', '.join(sorted(known))})"
            )
    connectors.sources = [c for c in connectors.sources if c.source in known]
    connectors.checkpoints = [c for c in connectors.checkpoints if c.source in known]
    connectors.heartbeats = [c for c in connectors.heartbeats if c.source in known]


def _first_batch(access: StackAccess, seen: Observation, timeout: float) -> None:
    requests: list[dict[str, Any]] = []
    for connector in seen.connectors.sources:
        requests.append(
            {"op": "topics", "cluster": connector.source, "include": connector.include, "exclude": connector.exclude}
        )
    for checkpoint in seen.connectors.checkpoints:
        selection = {"include": checkpoint.include, "exclude": checkpoint.exclude}
        requests += [
            {"op": "groups", "cluster": checkpoint.source, **selection},
            {"op": "groups", "cluster": seen.destination, **selection},
            {"op": "checkpoints", "cluster": seen.destination, "topic": checkpoint.naming.checkpoints_topic()},
        ]
    answers = iter(access.kafka.run(requests, timeout))

    for connector in seen.connectors.sources:
        topics = _topics(next(answers))
        seen.source_topics.setdefault(connector.source, {}).update(topics)
        wanted = {(topic, n) for topic, partitions in topics.items() for n in range(len(partitions))}
        # Positions of topics the connector no longer selects are history, not partitions it mirrors.
        for topic, partition in sorted(wanted | connector.assigned):
            destination = connector.naming.remote_topic(topic)
            seen.mirrored.append(MirroredPartition(connector, connector.source, topic, partition, destination))
    for checkpoint in seen.connectors.checkpoints:
        seen.source_groups.setdefault(checkpoint.source, {}).update(_groups(next(answers)))
        seen.destination_groups.setdefault(checkpoint.source, {}).update(_groups(next(answers)))
        seen.checkpoints.setdefault(checkpoint.source, {}).update(_checkpoints(next(answers)))


def _second_batch(access: StackAccess, seen: Observation, timeout: float) -> None:
    destination_names = sorted({m.destination_topic for m in seen.mirrored})
    requests: list[dict[str, Any]] = [{"op": "topics", "cluster": seen.destination, "names": destination_names}]
    labels: list[tuple[str, str]] = []  # (what, cluster) of each count request, in order

    behind: dict[str, dict[Partition, dict[str, Any]]] = {}
    for mirrored in seen.mirrored:
        offsets, resume = seen.source_offsets(mirrored), mirrored.resume
        if offsets and resume is not None and 0 < offsets.stable - resume <= EXACT_BEHIND_SPAN:
            # Keyed by partition: two connectors that select one topic (a mistake) ask for it once.
            behind.setdefault(mirrored.source, {})[mirrored.key] = _range(mirrored.key, resume)
    for alias, by_partition in sorted(behind.items()):
        requests.append({"op": "count", "cluster": alias, "ranges": list(by_partition.values())})
        labels.append(("behind", alias))

    # The destination's last record before its end, for every partition a group may be moved onto.
    read = {(m.destination_topic, m.partition) for m in seen.mirrored if _read_by_a_group(seen, m)}
    if read:
        ranges = [{"topic": topic, "partition": n, "fromEnd": READ_BACK_OFFSETS} for topic, n in sorted(read)]
        requests.append({"op": "count", "cluster": seen.destination, "ranges": ranges})
        labels.append(("last", seen.destination))

    for alias, groups in sorted(seen.source_groups.items()):
        for group in sorted(groups.values(), key=lambda g: g.name):
            for what, cluster, ranges in duplicate_ranges(seen, alias, group):
                if ranges:
                    requests.append({"op": "count", "cluster": cluster, "ranges": ranges})
                    labels.append((what, cluster))

    answers = iter(access.kafka.run(requests, timeout))
    seen.destination_topics.update(_topics(next(answers)))
    for what, cluster in labels:
        for row in next(answers)["ranges"]:
            seen.counts[(what, cluster, row["topic"], int(row["partition"]))] = RangeCount(
                int(row["from"]),
                int(row["to"]),
                int(row["records"]),
                row.get("lastRecordOffset"),
                bool(row["complete"]),
            )


def _read_by_a_group(seen: Observation, mirrored: MirroredPartition) -> bool:
    return any(mirrored.key in group.offsets for group in seen.source_groups.get(mirrored.source, {}).values())


def duplicate_ranges(seen: Observation, alias: str, group: Group) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """The ranges whose record counts give a group's duplicate window (status.duplicate_window)."""
    downstream: list[dict[str, Any]] = []
    upstream: list[dict[str, Any]] = []
    for mirrored in seen.mirrored:
        committed = group.offsets.get(mirrored.key)
        if mirrored.source != alias or committed is None:
            continue
        start = destination_start(seen, alias, group.name, mirrored)
        resume = mirrored.resume
        if start is None or resume is None:
            continue
        downstream.append(_range((mirrored.destination_topic, mirrored.partition), start))
        if committed != resume:
            upstream.append(_range(mirrored.key, min(committed, resume), max(committed, resume)))
    return [(f"down:{group.name}", seen.destination, downstream), (f"up:{group.name}", alias, upstream)]


def destination_start(seen: Observation, alias: str, group: str, mirrored: MirroredPartition) -> int | None:
    """Where the group would start on the destination if it moved now: its committed offset there, else the
    translated one (MirrorMaker 2 writes translations into empty destination groups, so they agree)."""
    destination = seen.destination_groups.get(alias, {}).get(group)
    if destination is not None and (mirrored.destination_topic, mirrored.partition) in destination.offsets:
        return destination.offsets[(mirrored.destination_topic, mirrored.partition)]
    checkpoint = seen.checkpoints.get(alias, {}).get((group, mirrored.destination_topic, mirrored.partition))
    return None if checkpoint is None else checkpoint.downstream


def _range(key: Partition, start: int, end: int | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {"topic": key[0], "partition": key[1], "from": start, "limit": COUNT_LIMIT}
    if end is not None:
        row["to"] = end
    return row


def _topics(answer: Mapping[str, Any]) -> dict[str, list[Offsets]]:
    topics = {}
    for topic in answer["topics"]:
        rows = sorted(topic["partitions"], key=lambda row: row["partition"])
        topics[topic["name"]] = [Offsets(row["logStart"], row["end"], row["stable"]) for row in rows]
    return topics


def _groups(answer: Mapping[str, Any]) -> dict[str, Group]:
    return {
        row["group"]: Group(
            row["group"],
            row["state"],
            list(row["members"]),
            {(o["topic"], int(o["partition"])): int(o["offset"]) for o in row["offsets"]},
        )
        for row in answer["groups"]
    }


def _checkpoints(answer: Mapping[str, Any]) -> dict[tuple[str, str, int], Checkpoint]:
    return {
        (row["group"], row["topic"], int(row["partition"])): Checkpoint(
            int(row["upstreamOffset"]), int(row["downstreamOffset"])
        )
        for row in answer.get("checkpoints", [])
    }


def names(items: Iterable[MirroredPartition]) -> list[str]:
    return sorted({item.topic for item in items})
