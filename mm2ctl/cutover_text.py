"""`cutover` as tables: topics ready or not, the offsets per group, the file edits, the verdict."""

from __future__ import annotations

from mm2ctl.cutover import CutoverPlan
from mm2ctl.render import table

RULES = {
    "start": "nothing read on the source -> the log start",
    "end": "source end -> after the last record",
    "checkpoint": "checkpoint translation",
    "none": "no checkpoint yet",
}


def cutover_text(plan: CutoverPlan) -> str:
    mode = "apply" if plan.apply else "dry run (nothing is written without --apply)"
    parts = [f"Cutover of source {plan.source}, stack {plan.stack}: {mode}\n"]
    parts.append(
        table(
            "Topics (QUIET: source end offsets unchanged between two reads; CAUGHT UP: mirrored to the end)",
            ["SOURCE TOPIC", "DESTINATION TOPIC", "PARTITIONS", "QUIET", "CAUGHT UP", "BEHIND", "LOST"],
            [(t.topic, t.destination_topic, t.partitions, t.quiet, t.caught_up, t.behind, t.lost) for t in plan.topics],
        )
    )
    parts.append(
        table(
            "Destination offsets per group",
            ["GROUP", "TOPIC", "P", "COMMITTED", "SOURCE END", "DESTINATION", "SET TO", "DUPLICATES", "HOW"],
            [
                (
                    m.group,
                    m.topic,
                    str(m.partition),
                    m.committed,
                    m.source_end,
                    m.destination_topic,
                    m.target,
                    None if m.duplicates is None else (f"{m.duplicates:,}" if m.exact else f"<= {m.duplicates:,}"),
                    RULES[m.rule],
                )
                for g in plan.groups
                for m in g.moves
            ],
        )
    )
    parts.append(
        table(
            "Groups",
            ["GROUP", "SOURCE MEMBERS", "DESTINATION MEMBERS", "DUPLICATES"],
            [(g.group, len(g.source_members), len(g.destination_members), g.duplicates) for g in plan.groups],
        )
    )
    if plan.edits or plan.unfiled:
        lines = ["Then stop the source's connectors through their files, and run `pulumi up`:"]
        lines += [f'  {e.path}: set "state": "stopped" (now {e.state!r})' for e in plan.edits]
        lines += [
            f"  connector {name}: no file in the stack's tree; `pulumi up` does not manage it" for name in plan.unfiled
        ]
        parts.append("\n".join(lines) + "\n")
    if plan.blockers:
        parts.append("\n".join(["Blockers", *(f"  {b}" for b in plan.blockers)]) + "\n")
    parts.append(plan.verdict() + "\n")
    return "\n".join(parts)
