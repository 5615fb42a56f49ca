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
    assert results["complete"]

    throughput = results["throughput"]
    assert [r["round"] for r in throughput["rounds"]] == list(range(1, SMOKE.warmup_rounds + SMOKE.repeats + 1))
    assert throughput["ceiling"]["records_per_second"]["median"] > 0
    names = [row["name"] for row in throughput["rows"]]
    assert sorted(names) == sorted([*SMOKE.throughput_profiles, "mirrormaker1"])
    for row in throughput["rows"]:
        assert "error" not in row, row
        assert row["records_per_second"]["median"] > 0
        assert row["mb_per_cpu_second"]["median"] > 0
        if row["name"] != "mirrormaker1":
            assert row["mb_per_worker_cpu_second"]["median"] > 0
    assert any(c["ours"] == "tuned" and c["other"] == "strimzi-eos" for c in throughput["comparisons"])
    ablation = results["ablation"]
    assert ablation[0]["step"].startswith("stock") and "exactly-once" in ablation[-1]["step"]
    assert all(step["records"] == SMOKE.records and step["records_per_second"] > 0 for step in ablation)
    table = (tmp_path / "latest-smoke.md").read_text()
    assert "+ exactly-once" in table and "Sizing on paper" in table and "External anchor" in table
    assert [row["profile"]["name"] for row in results["latency"]] == list(SMOKE.latency_profiles)
    for row in results["latency"]:
        assert row["arrived"] == row["produced"] > 0, row
    assert [row["connector_files"] for row in results["evaluation"]] == list(SMOKE.program_files)
    assert results["evaluation"][-1]["profile"]["by_area_seconds"]

    # The registration's correctness counts hold at any size; their timings are not judged here.
    runs = results["registration"]["runs"]
    for label in ("preview, no change", "second up, no change", "preview after drift"):
        assert runs[label]["writes"] == 0 and runs[label]["connector_restarts"] == 0, (label, runs[label])
    assert runs["second up, no change"]["summary"].get("unchanged", 0) > 0
    assert runs["preview after drift"]["summary"].get("to update") == len(results["registration"]["drifted"])
    assert runs["up repairing drift"]["writes"] == len(results["registration"]["drifted"]), runs["up repairing drift"]
    assert all(state.startswith("RUNNING (tasks RUNNING") for state in runs["repaired"].values()), runs["repaired"]
    assert runs["destroy"]["writes"] == SMOKE.registration_connectors
    blind = results["blind_put_loop"]["runs"]
    assert blind["second"]["writes"] == blind["second"]["connector_restarts"] == SMOKE.blind_connectors

    scale = results["scale"]
    assert [row["topics"] for row in scale] == list(SMOKE.scale_topics)
    for row in scale:
        arrivals = row["arrivals"]
        assert arrivals["partitions_short"] == arrivals["partitions_with_duplicates"] == 0, arrivals
        assert row["worker"]["heap_used_mb"] > 0
    assert scale[-1]["new_topic"]
    for plot in ("throughput.png", "efficiency.png", "latency.png", "scaling.png", "topics.png"):
        assert (tmp_path / plot).stat().st_size > 1000
    assert runtime.state().exactly_once and runtime.state().producer_tuning
