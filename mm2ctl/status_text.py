"""`status` as tables: connectors, topics, partitions, consumer groups, then what is wrong and the verdict."""

from __future__ import annotations

from mm2ctl.render import table
from mm2ctl.status import StatusReport

# Beyond this many partitions, the table lists only those behind, lost or not mirrored.
PARTITION_ROWS = 50


def status_text(report: StatusReport, all_partitions: bool = False) -> str:
    parts = [f"Stack {report.stack}\n"]
    parts.append(
        table(
            "Connectors",
            ["NAME", "KIND", "SOURCE", "STATE", "TASKS", "RESTARTS"],
            [
                (
                    c.name,
                    c.kind,
                    c.source,
                    c.state,
                    ", ".join(f"{task}:{state}" for task, state in c.tasks) or "-",
                    _restarts(c.restarts, c.exhausted),
                )
                for c in report.connectors
            ],
        )
    )
    parts.append(
        table(
            "Topics",
            ["CONNECTOR", "SOURCE TOPIC", "DESTINATION TOPIC", "PARTITIONS", "DEST PARTITIONS", "BEHIND", "LOST"],
            [
                (t.connector, t.topic, t.destination_topic, t.partitions, t.destination_partitions, t.behind, t.lost)
                for t in report.topics
            ],
        )
    )
    shown = report.partitions
    if len(shown) > PARTITION_ROWS and not all_partitions:
        shown = [p for p in shown if p.behind or p.lost or not p.assigned or p.end is None]
    parts.append(
        table(
            "Partitions (offsets on the source; RESUME = last mirrored + 1; AGE, LATENCY in ms; LAG = records-lag)",
            [
                "TOPIC",
                "P",
                "LOG START",
                "END",
                "RESUME",
                "BEHIND",
                "LOST",
                "DESTINATION",
                "DEST END",
                "AGE",
                "LATENCY",
                "LAG",
            ],
            [
                (
                    p.topic,
                    str(p.partition),
                    p.log_start,
                    p.end,
                    p.resume,
                    p.behind,
                    p.lost,
                    p.destination_topic,
                    p.destination_end,
                    p.record_age_ms,
                    p.latency_ms,
                    p.records_lag,
                )
                for p in shown
            ],
        )
    )
    if len(shown) < len(report.partitions):
        rest = len(report.partitions) - len(shown)
        parts.append(f"  ... and {rest:,} partitions caught up (--all-partitions lists them; --json has them all)\n")
    parts.append(
        table(
            "Consumer groups (DUPLICATES: records read twice if the group moved to the destination now)",
            ["GROUP", "SOURCE", "STATE", "DEST STATE", "DEST MEMBERS", "DUPLICATES"],
            [
                (
                    g.group,
                    g.source,
                    g.source_state,
                    g.destination_state,
                    ", ".join(m.get("clientId", "?") for m in g.destination_members) or "none (empty)",
                    g.duplicates,
                )
                for g in report.groups
            ],
        )
    )
    rows = [
        (
            r.group,
            r.topic,
            str(r.partition),
            r.committed,
            r.source_end,
            None if r.translated is None else f"{r.checkpoint_upstream:,} -> {r.translated:,}",
            r.destination_topic,
            r.destination_committed,
            None if r.duplicates is None else (f"{r.duplicates:,}" if r.exact else f"<= {r.duplicates:,}"),
        )
        for g in report.groups
        for r in g.partitions
    ]
    if rows:
        parts.append(
            table(
                "Group offsets (COMMITTED and END on the source; CHECKPOINT: source offset -> destination offset)",
                [
                    "GROUP",
                    "TOPIC",
                    "P",
                    "COMMITTED",
                    "END",
                    "CHECKPOINT",
                    "DESTINATION",
                    "DEST COMMITTED",
                    "DUPLICATES",
                ],
                rows,
            )
        )
    if report.gaps:
        title = "Records lost (deleted by the source before they were mirrored)"
        parts.append("\n".join([title, *(f"  {gap}" for gap in report.gaps)]) + "\n")
    if report.problems:
        parts.append("\n".join(["Problems", *(f"  {problem}" for problem in report.problems)]) + "\n")
    parts.append(report.verdict() + "\n")
    return "\n".join(parts)


def _restarts(restarts: dict[str, float], exhausted: list[str]) -> str | None:
    """The supervisor's restarts per task ("connector": the connector itself), when the workers export them."""
    if not restarts:
        return None
    text = ", ".join(f"{task}:{count:.0f}" for task, count in sorted(restarts.items()) if count) or "0"
    return text + (f" (exhausted: {', '.join(exhausted)})" if exhausted else "")
