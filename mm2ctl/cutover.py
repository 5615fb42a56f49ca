"""`cutover`: move consumer groups from a source cluster to the destination without losing a record.

A dry run unless `--apply`. Two looks at the migration, `--quiet-seconds` apart, say per topic
whether the source is quiet (end offsets unchanged) and the mirror caught up (its position at
the end). Per group and partition, the destination offset to set:
- a group that consumed to the source end of a caught-up, quiet topic gets the offset after the
  destination's last record: exact, nothing read twice, nothing skipped (the transaction markers
  of exactly-once mirroring follow the last record, and a consumer starting after them misses no
  record);
- a group behind gets MirrorMaker 2's checkpoint translation, which never skips a record but may
  start before the group's exact position: the records it would read twice are counted.
`--apply` writes them (Admin alterConsumerGroupOffsets, in the offsets tool) only when every topic
the groups read is quiet and caught up and no group has members on either cluster; otherwise it
names what stands in the way and writes nothing. Connectors are not touched: the plan lists the
file edits (`"state": "stopped"`) that `pulumi up` applies, so the files stay the source of truth.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from connect.connector_files import FileProblems, read_connector_file
from mm2ctl.access import StackAccess
from mm2ctl.errors import unknown
from mm2ctl.observe import COUNT_LIMIT, MirroredPartition, Observation, RangeCount, observe
from mm2ctl.status import LOST, StatusReport, build_status

READY, NOT_READY = 0, 1


@dataclass(frozen=True)
class TopicReadiness:
    topic: str
    destination_topic: str
    partitions: int
    quiet: bool
    caught_up: bool
    behind: int
    lost: int


@dataclass(frozen=True)
class OffsetMove:
    group: str
    topic: str
    partition: int
    destination_topic: str
    committed: int | None  # on the source; None: the group read nothing of this partition
    source_end: int | None
    # "end" (exact), "checkpoint" (translated), "start" (nothing read: from the log start), "none" (no translation yet)
    rule: str
    target: int | None  # the destination offset to set
    duplicates: int | None  # records the group will read twice from `target`
    exact: bool


@dataclass
class GroupPlan:
    group: str
    source_members: list[dict[str, str]]
    destination_members: list[dict[str, str]]
    moves: list[OffsetMove] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return sum(move.duplicates or 0 for move in self.moves)


@dataclass(frozen=True)
class FileEdit:
    path: str
    connector: str
    state: str  # the file's state now


@dataclass
class CutoverPlan:
    stack: str
    source: str
    apply: bool
    topics: list[TopicReadiness] = field(default_factory=list)
    groups: list[GroupPlan] = field(default_factory=list)
    edits: list[FileEdit] = field(default_factory=list)
    unfiled: list[str] = field(default_factory=list)  # connectors of the source without a file
    blockers: list[str] = field(default_factory=list)  # why --apply would write nothing
    lost: int = 0
    applied: bool = False

    @property
    def exit_status(self) -> int:
        if self.lost:
            return LOST
        return NOT_READY if self.blockers else READY

    def verdict(self) -> str:
        if self.blockers:
            head = "NOT APPLIED" if self.apply else "NOT READY"
            return f"{head}: " + "; ".join(self.blockers[:6]) + (" ..." if len(self.blockers) > 6 else "")
        groups = ", ".join(f"{g.group} ({g.duplicates:,} duplicates)" for g in self.groups) or "no group"
        lost = f"; {self.lost:,} records were lost before mirroring" if self.lost else ""
        if self.applied:
            return (
                f"APPLIED: destination offsets written for {groups}{lost}; now stop the connectors (file edits above)"
            )
        return f"READY: --apply would write destination offsets for {groups}{lost}"


def plan_cutover(
    access: StackAccess, source: str, wanted_groups: list[str], quiet_seconds: float, timeout: float
) -> CutoverPlan:
    # The workers' metrics decide nothing here: offsets only.
    first = observe(access, source, timeout, metrics=False)
    time.sleep(quiet_seconds)
    seen = observe(access, source, timeout, metrics=False)
    report = build_status(access.stack, seen)
    plan = CutoverPlan(access.stack, source, apply=False, lost=report.lost)
    groups = _chosen_groups(seen, source, wanted_groups)
    read_by_groups = {key for name in groups for key in seen.source_groups[source][name].offsets}

    plan.topics = _readiness(first, seen, report, source)
    for topic in plan.topics:
        read = any((topic.topic, n) in read_by_groups for n in range(topic.partitions))
        if read and not topic.quiet:
            plan.blockers.append(f"source topic {topic.topic} is still written to (its end offsets moved)")
        elif read and not topic.caught_up:
            plan.blockers.append(f"source topic {topic.topic} is not mirrored to its end yet ({topic.behind:,} behind)")

    counts = _translated_counts(access, seen, source, groups, timeout)
    for name in groups:
        plan.groups.append(
            _group_plan(seen, source, name, {t.topic for t in plan.topics if t.caught_up and t.quiet}, counts)
        )
    for group in plan.groups:
        if group.source_members:
            plan.blockers.append(
                f"group {group.group} still has members on the source: {_members(group.source_members)}"
            )
        if group.destination_members:
            plan.blockers.append(
                f"group {group.group} has active members on the destination: {_members(group.destination_members)}"
            )
        for move in group.moves:
            if move.rule == "none":
                plan.blockers.append(
                    f"group {group.group} has no checkpoint for {move.topic}-{move.partition} yet "
                    "(wait for the checkpoint connector: emit.checkpoints.interval.seconds)"
                )
    plan.edits, plan.unfiled = _file_edits(access, seen, source)
    return plan


def apply_cutover(access: StackAccess, plan: CutoverPlan, timeout: float) -> None:
    """Write the planned offsets, all groups or none; refused groups are named in the plan's blockers."""
    plan.apply = True
    if plan.blockers:
        return
    groups = {
        group.group: [
            {"topic": m.destination_topic, "partition": m.partition, "offset": m.target}
            for m in group.moves
            if m.target is not None
        ]
        for group in plan.groups
    }
    destination = access.settings.destination.name
    (answer,) = access.kafka.run([{"op": "setGroupOffsets", "cluster": destination, "groups": groups}], timeout)
    if not answer["written"]:
        # A consumer joined between the plan and the write: the tool checked again and wrote nothing.
        for group, members in sorted(answer["refused"].items()):
            plan.blockers.append(f"group {group} has active members on the destination: {_members(members)}")
        return
    plan.applied = True


def _chosen_groups(seen: Observation, source: str, wanted: list[str]) -> list[str]:
    """The groups to move: those the checkpoint connectors of the source cover that read a mirrored topic."""
    mirrored = {m.key for m in seen.mirrored if m.source == source}
    known = sorted(name for name, group in seen.source_groups.get(source, {}).items() if mirrored & set(group.offsets))
    for name in wanted:
        if name not in known:
            raise unknown("group", name, known)
    return sorted(set(wanted)) if wanted else known


def _readiness(first: Observation, seen: Observation, report: StatusReport, source: str) -> list[TopicReadiness]:
    rows = []
    for topic, partitions in sorted(seen.by_source_topic(source).items()):
        before = first.source_topics.get(source, {}).get(topic, [])
        after = seen.source_topics.get(source, {}).get(topic, [])
        quiet = [o.stable for o in before] == [o.stable for o in after]
        statuses = [p for p in report.partitions if p.source == source and p.topic == topic]
        behind = sum(p.behind for p in statuses)
        rows.append(
            TopicReadiness(
                topic,
                partitions[0].destination_topic,
                len(after) or len(partitions),
                quiet,
                behind == 0 and bool(after),
                behind,
                sum(p.lost for p in statuses),
            )
        )
    return rows


def _translated_counts(
    access: StackAccess, seen: Observation, source: str, groups: list[str], timeout: float
) -> dict[tuple[str, str, str, int], RangeCount]:
    """Record counts from each checkpoint translation to the destination end, and of the source records each
    group has not read yet up to the mirrored position: their difference is what the group reads twice."""
    requests: list[dict[str, Any]] = []
    labels: list[tuple[str, str]] = []
    for name in groups:
        down, up = [], []
        for mirrored in seen.mirrored:
            committed = seen.source_groups[source][name].offsets.get(mirrored.key)
            checkpoint = seen.checkpoints.get(source, {}).get((name, mirrored.destination_topic, mirrored.partition))
            if mirrored.source != source or committed is None or checkpoint is None or mirrored.resume is None:
                continue
            down.append(_range(mirrored.destination_topic, mirrored.partition, checkpoint.downstream))
            if committed < mirrored.resume:
                up.append(_range(mirrored.topic, mirrored.partition, committed, mirrored.resume))
        for what, cluster, ranges in ((f"down:{name}", seen.destination, down), (f"up:{name}", source, up)):
            if ranges:
                requests.append({"op": "count", "cluster": cluster, "ranges": ranges})
                labels.append((what, cluster))
    counts: dict[tuple[str, str, str, int], RangeCount] = {}
    if not requests:
        return counts
    for (what, cluster), answer in zip(labels, access.kafka.run(requests, timeout), strict=True):
        for row in answer["ranges"]:
            counts[(what, cluster, row["topic"], int(row["partition"]))] = RangeCount(
                int(row["from"]),
                int(row["to"]),
                int(row["records"]),
                row.get("lastRecordOffset"),
                bool(row["complete"]),
            )
    return counts


def _group_plan(
    seen: Observation,
    source: str,
    name: str,
    ready_topics: set[str],
    counts: dict[tuple[str, str, str, int], RangeCount],
) -> GroupPlan:
    group = seen.source_groups[source][name]
    destination = seen.destination_groups.get(source, {}).get(name)
    plan = GroupPlan(name, list(group.members), list(destination.members) if destination else [])
    read_topics = {topic for topic, _ in group.offsets}
    for mirrored in seen.mirrored:
        committed = group.offsets.get(mirrored.key)
        if mirrored.source != source:
            continue
        if committed is not None:
            plan.moves.append(_move(seen, source, name, mirrored, committed, mirrored.topic in ready_topics, counts))
        elif mirrored.topic in read_topics:
            plan.moves.append(_from_the_start(seen, name, mirrored))
    return plan


def _from_the_start(seen: Observation, group: str, mirrored: MirroredPartition) -> OffsetMove:
    """A partition of a topic the group reads, without a committed offset: it has read nothing there. On the
    destination it starts at the log start, whatever its consumers' auto.offset.reset says (`latest` would
    skip every mirrored record)."""
    offsets = seen.source_offsets(mirrored)
    destination = seen.destination_offsets(mirrored.destination_topic, mirrored.partition)
    return OffsetMove(
        group=group,
        topic=mirrored.topic,
        partition=mirrored.partition,
        destination_topic=mirrored.destination_topic,
        committed=None,
        source_end=None if offsets is None else offsets.stable,
        rule="start",
        target=0 if destination is None else destination.log_start,
        duplicates=0,
        exact=True,
    )


def _move(
    seen: Observation,
    source: str,
    group: str,
    mirrored: MirroredPartition,
    committed: int,
    topic_ready: bool,
    counts: dict[tuple[str, str, str, int], RangeCount],
) -> OffsetMove:
    offsets = seen.source_offsets(mirrored)
    end = None if offsets is None else offsets.stable
    unknown = OffsetMove(
        group=group,
        topic=mirrored.topic,
        partition=mirrored.partition,
        destination_topic=mirrored.destination_topic,
        committed=committed,
        source_end=end,
        rule="none",
        target=None,
        duplicates=None,
        exact=False,
    )
    if topic_ready and end is not None and committed >= end:
        return replace(unknown, rule="end", target=_after_last_record(seen, mirrored), duplicates=0, exact=True)
    checkpoint = seen.checkpoints.get(source, {}).get((group, mirrored.destination_topic, mirrored.partition))
    if checkpoint is None:
        return unknown
    down = counts.get((f"down:{group}", seen.destination, mirrored.destination_topic, mirrored.partition))
    up = counts.get((f"up:{group}", source, mirrored.topic, mirrored.partition))
    resume = mirrored.resume or committed
    unread = 0 if committed >= resume else (up.records if up is not None and up.complete else resume - committed)
    destination = seen.destination_offsets(mirrored.destination_topic, mirrored.partition)
    span = 0 if destination is None else max(0, destination.stable - checkpoint.downstream)
    copies = down.records if down is not None and down.complete else span
    exact = down is not None and down.complete and (committed >= resume or (up is not None and up.complete))
    duplicates = max(0, copies - unread)
    return replace(unknown, rule="checkpoint", target=checkpoint.downstream, duplicates=duplicates, exact=exact)


def _after_last_record(seen: Observation, mirrored: MirroredPartition) -> int:
    """One past the destination's last record; markers after it are not records. The end if none is near."""
    destination = seen.destination_offsets(mirrored.destination_topic, mirrored.partition)
    end = 0 if destination is None else destination.stable
    last = seen.counts.get(("last", seen.destination, mirrored.destination_topic, mirrored.partition))
    if last is None or last.last_record is None:
        return end
    return int(last.last_record) + 1


def _file_edits(access: StackAccess, seen: Observation, source: str) -> tuple[list[FileEdit], list[str]]:
    """The files of the source's connectors, and the connectors that have none in the stack's tree."""
    settings = access.settings
    folder = access.connectors_root / settings.env / settings.destination.name / source
    files: dict[str, tuple[Path, str]] = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        if path.name.startswith("_"):
            continue
        try:
            document = read_connector_file(path, str(path))
        except FileProblems:
            continue  # `pulumi preview` reports a broken file; it cannot be edited meaningfully here
        files[document.name or path.stem] = (path, document.state)
    edits, unfiled = [], []
    for connector in seen.connectors.all():
        if connector.source != source:
            continue
        if connector.name in files:
            path, state = files[connector.name]
            edits.append(FileEdit(_shown(path, access.connectors_root.parent), connector.name, state))
        else:
            unfiled.append(connector.name)
    return edits, unfiled


def _range(topic: str, partition: int, start: int, end: int | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {"topic": topic, "partition": partition, "from": start, "limit": COUNT_LIMIT}
    if end is not None:
        row["to"] = end
    return row


def _members(members: list[dict[str, str]]) -> str:
    return ", ".join(f"{m.get('clientId')} ({m.get('memberId')}, {m.get('host')})" for m in members)


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
