"""The benchmark harness works end to end (tiny sizes; no figure is judged here, only that it runs).

Uses the session's runtime rather than starting another one, and leaves its workers as it found
them (tuned, exactly-once on).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.common import SMOKE
from localkafka.paths import REPO_ROOT
from localkafka.runtime import LocalRuntime

pytestmark = pytest.mark.runtime


def test_smoke_run_measures_every_part(runtime: LocalRuntime, tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "bench",
        "--smoke",
        "--results-dir",
        str(tmp_path),
        "--runtime-dir",
        str(runtime.runtime_dir),
    ]
    result = subprocess.run(
        command,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert result.returncode == 0, result.stderr[-4000:]
    results = json.loads((tmp_path / "latest-smoke.json").read_text())

    assert results["ceiling"]["produce"]["records"] == SMOKE.records
    names = [row["profile"]["name"] for row in results["throughput"]]
    assert names == ["tuned", "tuned-no-eos", "stock", "mirrormaker1"]
    for row in results["throughput"]:
        assert "error" not in row, row
        assert row["records"] == SMOKE.records and row["records_per_second"] > 0
    ablation = results["ablation"]
    assert ablation[0]["step"].startswith("stock") and "exactly-once" in ablation[-1]["step"]
    assert all(step["records"] == SMOKE.records and step["records_per_second"] > 0 for step in ablation)
    assert "+ exactly-once" in (tmp_path / "latest-smoke.md").read_text()
    for row in results["latency"]:
        assert row["arrived"] == row["produced"] > 0, row
    assert [row["connector_files"] for row in results["evaluation"]] == list(SMOKE.program_files)

    registration = results["registration"]
    count = SMOKE.registration_connectors
    assert registration["pulumi_up"]["second"]["writes"] == 0
    assert registration["pulumi_up"]["second"]["connector_restarts"] == 0
    assert registration["blind_put_loop"]["second"]["writes"] == count
    assert registration["blind_put_loop"]["second"]["connector_restarts"] == count
    for plot in ("throughput.png", "latency.png", "scaling.png"):
        assert (tmp_path / plot).stat().st_size > 1000
    assert runtime.state().exactly_once and runtime.state().producer_tuning
