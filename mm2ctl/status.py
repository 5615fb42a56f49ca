"""`status`: how far behind every mirrored partition is, what was lost, where each group would land.

Computed from one `Observation` (observe.py), so that the same numbers come out on every platform:
- records behind = the source's last stable offset - the connector's resume point (its committed
  position + 1), counted record by record near the end (markers are offsets, not records);
- lost = the source's log-start offset - the resume point, when positive: records the source
  deleted (retention) before they were mirrored. MirrorMaker 2 resumes at the log start and says
  nothing; this is the only place it shows, until the connector runs past it;
- the duplicate window of a group = the records it would read again on the destination if it
  moved now: the destination records from where it would start up to the end, minus the source
  records it has not consumed yet up to the mirrored position.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mm2ctl.connectors import LiveConnector
from mm2ctl.metrics import RECORD_AGE, RECORDS_LAG, REPLICATION_LATENCY, RESTARTS, RESTARTS_EXHAUSTED
from mm2ctl.observe import MirroredPartition, Observation, destination_start

HEALTHY, BEHIND, LOST = 0, 1, 2


@dataclass(frozen=True)
class PartitionRow:
    connector: str
    source: str
    topic: str
    partition: int
    log_start: int | None
    end: int | None
    resume: int | None
    behind: int
    lost: int
    assigned: bool
    destination_topic: str
    destination_end: int | None
    record_age_ms: float | None
    latency_ms: float | None
    records_lag: float | None


@dataclass(frozen=True)
class TopicRow:
    connector: str
    source: str
    topic: str
    destination_topic: str
    partitions: int
    destination_partitions: int | None
    behind: int
    lost: int


@dataclass(frozen=True)
class GroupPartitionRow:
    group: str
    source: str
    topic: str
    partition: int
    destination_topic: str
    committed: int | None  # on the source
    source_end: int | None
    checkpoint_upstream: int | None
    translated: int | None  # MirrorMaker 2's checkpoint: the destination offset
    destination_committed: int | None
    duplicates: int | None  # records read twice if it moved now (negative: records it would skip)
    exact: bool


@dataclass(frozen=True)
class GroupRow:
    group: str
    source: str
    source_state: str
    source_members: int
    destination_state: str
    destination_members: list[dict[str, str]]
    partitions: list[GroupPartitionRow]

    @property
    def destination_empty(self) -> bool:
        return not self.destination_members

    @property
    def duplicates(self) -> int | None:
        known = [row.duplicates for row in self.partitions if row.duplicates is not None]
        return sum(max(0, d) for d in known) if known else None


@dataclass(frozen=True)
class ConnectorRow:
    name: str
    kind: str
    source: str
    state: str
    tasks: list[tuple[int, str]]
    restarts: dict[str, float]  # task -> restarts by the workers' supervisor
    exhausted: list[str]  # tasks whose restarts are used up


@dataclass
class StatusReport:
    stack: str
    connectors: list[ConnectorRow] = field(default_factory=list)
    topics: list[TopicRow] = field(default_factory=list)
    partitions: list[PartitionRow] = field(default_factory=list)
    groups: list[GroupRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # degraded: why
    gaps: list[str] = field(default_factory=list)  # records lost: exactly which

    @property
    def behind(self) -> int:
        return sum(row.behind for row in self.partitions)

    @property
    def lost(self) -> int:
        return sum(row.lost for row in self.partitions)

    @property
    def exit_status(self) -> int:
        if self.lost:
            return LOST
        return BEHIND if self.behind or self.problems or not self.partitions else HEALTHY

    def verdict(self) -> str:
        """The last line: why the exit status is what it is."""
        if self.lost:
            where = "; ".join(self.gaps[:5]) + (" ..." if len(self.gaps) > 5 else "")
            return f"RECORDS LOST: {self.lost:,} records were deleted by the source before they were mirrored ({where})"
        if self.behind or self.problems:
            reasons = []
            if self.behind:
                count = sum(1 for row in self.partitions if row.behind)
                reasons.append(f"{self.behind:,} records behind on {count} partition(s)")
            reasons += self.problems[:5] + (["..."] if len(self.problems) > 5 else [])
            return "BEHIND OR DEGRADED: " + "; ".join(reasons)
        if not self.partitions:
            return "NOTHING TO MIRROR: no source connector has partitions"
        return (
            f"CAUGHT UP AND HEALTHY: {len(self.topics)} topic(s), {len(self.partitions)} partition(s), "
            "0 records behind, 0 lost"
        )


def build_status(stack: str, seen: Observation) -> StatusReport:
    report = StatusReport(stack)
    report.problems += seen.problems
    for connector in seen.connectors.all():
        report.connectors.append(_connector_row(connector, seen))
        report.problems += connector.problems()
    for url, cause in sorted(seen.metrics.unreachable.items()):
        report.problems.append(f"worker metrics at {url} unreachable ({cause})")
    report.problems += [
        f"connector {r.name} task {t} has used up its restarts" for r in report.connectors for t in r.exhausted
    ]

    for mirrored in seen.mirrored:
        row = _partition_row(mirrored, seen)
        report.partitions.append(row)
        if row.lost and row.resume is not None and row.log_start is not None:
            offsets = f"offsets {row.resume:,} to {row.log_start - 1:,}"
            report.gaps.append(f"{row.topic} partition {row.partition}: {row.lost:,} records ({offsets})")
        if row.end is None:
            report.problems.append(f"source topic {row.topic} partition {row.partition} no longer exists")
        elif not row.assigned and mirrored.connector.state == "RUNNING":
            report.problems.append(
                f"source partition {row.topic}-{row.partition} is not mirrored: no task of {row.connector} has it"
            )
    report.topics = _topic_rows(seen, report)
    for topic in report.topics:
        if topic.destination_partitions is None:
            report.problems.append(f"destination topic {topic.destination_topic} (of {topic.topic}) does not exist")
        elif topic.destination_partitions < topic.partitions:
            report.problems.append(
                f"destination topic {topic.destination_topic} has {topic.destination_partitions} partitions, "
                f"its source {topic.topic} {topic.partitions}"
            )
    report.groups = group_rows(seen)
    return report


def _connector_row(connector: LiveConnector, seen: Observation) -> ConnectorRow:
    restarts = {
        task: value
        for (name, task), value in seen.metrics.by(RESTARTS, "connector", "task").items()
        if name == connector.name
    }
    exhausted = sorted(
        task
        for (name, task), value in seen.metrics.by(RESTARTS_EXHAUSTED, "connector", "task").items()
        if name == connector.name and value > 0
    )
    tasks = [(int(task.get("id", -1)), str(task.get("state"))) for task in connector.tasks]
    return ConnectorRow(connector.name, connector.kind, connector.source, connector.state, tasks, restarts, exhausted)


def _partition_row(mirrored: MirroredPartition, seen: Observation) -> PartitionRow:
    offsets = seen.source_offsets(mirrored)
    resume = mirrored.resume
    behind = lost = 0
    if offsets is not None:
        # Without a committed position the connector starts at the log start (auto.offset.reset=earliest).
        start = offsets.log_start if resume is None else max(resume, offsets.log_start)
        behind = max(0, offsets.stable - start)
        exact = seen.counts.get(("behind", mirrored.source, mirrored.topic, mirrored.partition))
        if exact is not None and exact.complete and resume is not None and resume >= offsets.log_start:
            behind = exact.records
        if resume is not None and resume < offsets.log_start:
            lost = offsets.log_start - resume
    destination = seen.destination_offsets(mirrored.destination_topic, mirrored.partition)
    labels = (mirrored.source, mirrored.destination_topic, str(mirrored.partition))
    age = seen.metrics.by(RECORD_AGE, "source", "topic", "partition").get(labels)
    latency = seen.metrics.by(REPLICATION_LATENCY, "source", "topic", "partition").get(labels)
    lag = seen.metrics.by(RECORDS_LAG, "connector", "topic", "partition").get(
        (mirrored.connector.name, mirrored.topic, str(mirrored.partition))
    )
    return PartitionRow(
        connector=mirrored.connector.name,
        source=mirrored.source,
        topic=mirrored.topic,
        partition=mirrored.partition,
        log_start=None if offsets is None else offsets.log_start,
        end=None if offsets is None else offsets.stable,
        resume=resume,
        behind=behind,
        lost=lost,
        assigned=mirrored.key in mirrored.connector.assigned,
        destination_topic=mirrored.destination_topic,
        destination_end=None if destination is None else destination.stable,
        record_age_ms=age,
        latency_ms=latency,
        records_lag=lag,
    )


def _topic_rows(seen: Observation, report: StatusReport) -> list[TopicRow]:
    rows: dict[tuple[str, str], list[PartitionRow]] = {}
    for row in report.partitions:
        rows.setdefault((row.connector, row.topic), []).append(row)
    topics = []
    for (connector, topic), partitions in sorted(rows.items()):
        first = partitions[0]
        source_partitions = len(seen.source_topics.get(first.source, {}).get(topic, [])) or len(partitions)
        destination = seen.destination_topics.get(first.destination_topic)
        topics.append(
            TopicRow(
                connector,
                first.source,
                topic,
                first.destination_topic,
                source_partitions,
                None if destination is None else len(destination),
                sum(p.behind for p in partitions),
                sum(p.lost for p in partitions),
            )
        )
    return topics


def group_rows(seen: Observation) -> list[GroupRow]:
    rows = []
    for alias, groups in sorted(seen.source_groups.items()):
        destination_groups = seen.destination_groups.get(alias, {})
        for name, group in sorted(groups.items()):
            destination = destination_groups.get(name)
            partitions = [
                _group_partition(seen, alias, name, mirrored)
                for mirrored in seen.mirrored
                if mirrored.source == alias and mirrored.key in group.offsets
            ]
            if not partitions:
                continue  # the group reads nothing this source mirrors
            rows.append(
                GroupRow(
                    name,
                    alias,
                    group.state,
                    len(group.members),
                    destination.state if destination else "none",
                    list(destination.members) if destination else [],
                    partitions,
                )
            )
    return rows


def _group_partition(seen: Observation, alias: str, group: str, mirrored: MirroredPartition) -> GroupPartitionRow:
    committed = seen.source_groups[alias][group].offsets.get(mirrored.key)
    checkpoint = seen.checkpoints.get(alias, {}).get((group, mirrored.destination_topic, mirrored.partition))
    destination = seen.destination_groups.get(alias, {}).get(group)
    destination_key = (mirrored.destination_topic, mirrored.partition)
    duplicates, exact = duplicate_window(seen, alias, group, mirrored)
    offsets = seen.source_offsets(mirrored)
    return GroupPartitionRow(
        group=group,
        source=alias,
        topic=mirrored.topic,
        partition=mirrored.partition,
        destination_topic=mirrored.destination_topic,
        committed=committed,
        source_end=None if offsets is None else offsets.stable,
        checkpoint_upstream=None if checkpoint is None else checkpoint.upstream,
        translated=None if checkpoint is None else checkpoint.downstream,
        destination_committed=None if destination is None else destination.offsets.get(destination_key),
        duplicates=duplicates,
        exact=exact,
    )


def duplicate_window(seen: Observation, alias: str, group: str, mirrored: MirroredPartition) -> tuple[int | None, bool]:
    """Records the group would read again if it moved to the destination now (and whether that is exact).

    From where it would start on the destination, it reads the mirrored copies up to the end; of
    those, the copies of source records it has not consumed yet (its committed offset up to the
    mirrored position) are new to it, the rest it has read before. A committed offset beyond the
    mirrored position adds the records it read on the source that are not mirrored yet: it will
    read their copies too once they arrive.
    """
    committed = seen.source_groups[alias][group].offsets.get(mirrored.key)
    start = destination_start(seen, alias, group, mirrored)
    resume = mirrored.resume
    destination = seen.destination_offsets(mirrored.destination_topic, mirrored.partition)
    if committed is None or start is None or resume is None or destination is None:
        return None, False
    down = seen.counts.get((f"down:{group}", seen.destination, mirrored.destination_topic, mirrored.partition))
    up = seen.counts.get((f"up:{group}", alias, mirrored.topic, mirrored.partition))
    exact = down is not None and down.complete and (committed == resume or (up is not None and up.complete))
    copies = down.records if down is not None and down.complete else max(0, destination.stable - start)
    if committed == resume:
        unread = 0
    elif up is not None and up.complete:
        unread = up.records
    else:
        unread = abs(resume - committed)
    return (copies - unread if committed < resume else copies + unread), exact
