"""The rehearsal's real outputs, written into docs/migration.md between its markers (tests may record into docs)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from localkafka.paths import REPO_ROOT
from tests.migration.support import Run

DOC = REPO_ROOT / "docs" / "migration.md"


def record_rehearsal(
    runs: Sequence[tuple[str, Run]], figures: Mapping[str, Any], block: str = "rehearsal", tree: str | None = None
) -> None:
    """Replace the block between `<!-- {block}:begin -->` and `<!-- {block}:end -->` with these figures and runs.

    `tree`, the test's temporary connector folder, is shown as `<tree>`."""
    begin, end = f"<!-- {block}:begin -->", f"<!-- {block}:end -->"
    lines = ["", "| Figure | Value |", "| --- | --- |"]
    lines += [
        f"| {name} | {value:,} |" if isinstance(value, int) else f"| {name} | {value} |"
        for name, value in figures.items()
    ]
    for title, run in runs:
        shown = run.shown().rstrip()
        lines += ["", f"#### {title}", "", "```", shown.replace(tree, "<tree>") if tree else shown, "```"]
    content = "\n".join([begin, *lines, "", end])
    text = DOC.read_text()
    if begin not in text or end not in text:
        raise AssertionError(f"{DOC} lacks the markers {begin} and {end}")
    DOC.write_text(re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: content, text, flags=re.DOTALL))
