"""The two commands end to end: observe, compute, print, and say how it went in the exit status."""

from __future__ import annotations

import sys

from mm2ctl.access import StackAccess
from mm2ctl.observe import observe
from mm2ctl.render import to_json
from mm2ctl.status import build_status
from mm2ctl.status_text import status_text


def run_status(access: StackAccess, source: str | None, timeout: float, as_json: bool, all_partitions: bool) -> int:
    report = build_status(access.stack, observe(access, source, timeout))
    if as_json:
        sys.stdout.write(to_json({"report": report, "verdict": report.verdict(), "exitStatus": report.exit_status}))
    else:
        sys.stdout.write(status_text(report, all_partitions))
    return report.exit_status


def run_cutover(
    access: StackAccess,
    source: str,
    groups: list[str],
    apply: bool,
    quiet_seconds: float,
    timeout: float,
    as_json: bool,
) -> int:
    from mm2ctl.cutover import apply_cutover, plan_cutover
    from mm2ctl.cutover_text import cutover_text

    plan = plan_cutover(access, source, groups, quiet_seconds, timeout)
    if apply:
        apply_cutover(access, plan, timeout)
    if as_json:
        sys.stdout.write(to_json({"plan": plan, "verdict": plan.verdict(), "exitStatus": plan.exit_status}))
    else:
        sys.stdout.write(cutover_text(plan))
    return plan.exit_status
