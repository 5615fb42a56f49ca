"""The program itself: evaluation time and memory as connector files grow, and registration cost.

- Evaluation: the staging (EKS) program under Pulumi mocks, in a fresh process per size, with N
  connector files split over its two sources (harness/mocked_program.py runs it).
- Registration: N running (heartbeat) connectors registered by `pulumi up` (this project's provider) and by a
  loop that PUTs every config (the seed design's script); then each a second time, counting the
  REST calls, the writes and the connector restarts the workers logged.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from connect.connector_tree import load_connector_tree
from connect.local_runtime import connect_endpoint, local_tree_context
from connect.rest import ConnectClient
from harness.project_copy import Project, copy_project
from localkafka.connect_log import ConnectLog
from localkafka.paths import REPO_ROOT
from localkafka.runtime import LocalRuntime

STACK = "bench"
SOURCES = ("msk-east", "confluent")

# Run in a child process: a fresh interpreter per size, so peak memory is that size's alone.
_EVALUATE = """
import json, resource, sys, time
from pathlib import Path
started = time.perf_counter()
from harness.mocked_program import run_program
imported = time.perf_counter()
run = run_program(project_root=Path(sys.argv[1]))
finished = time.perf_counter()
print(json.dumps({
    "import_seconds": round(imported - started, 3),
    "evaluate_seconds": round(finished - imported, 3),
    "resources": len(run.registrations),
    "connector_resources": sum(1 for r in run.registrations if r.type == "pulumi-python:dynamic:Resource"),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
}))
"""


def evaluate_program(connector_files: int, folder: Path) -> dict[str, Any]:
    root = folder / f"program-{connector_files}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for name in ("docker", "monitoring"):
        (root / name).symlink_to(REPO_ROOT / name)
    for index in range(connector_files):
        source = SOURCES[index % len(SOURCES)]
        target = root / "connectors" / "staging" / "msk-main" / source / f"topic-{index:05d}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(
            json.dumps({"config": {"connector.class": "MirrorSourceConnector", "topics": f"topic-{index}"}})
        )
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _EVALUATE, str(root)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"evaluating the program with {connector_files} files failed:\n{result.stderr[-3000:]}")
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    assert measured["connector_resources"] == connector_files, measured
    return {"connector_files": connector_files, "process_seconds": round(wall, 2), **measured}


# Connect logs a connector's stop a moment after the request that caused it.
RESTART_LOG_WAIT_SECONDS = 5


def _write_connectors(folder: Path, count: int, prefix: str) -> list[str]:
    """`count` heartbeat connectors: real connectors with a running task each, but little data to move."""
    names = []
    for index in range(count):
        name = f"{prefix}-{index:04d}"
        config = {"connector.class": "MirrorHeartbeatConnector", "emit.heartbeats.interval.seconds": 60}
        (folder / f"{name}.json").write_text(json.dumps({"config": config}))
        names.append(name)
    return names


def registration(runtime: LocalRuntime, connectors: int, folder: Path) -> dict[str, Any]:
    state = runtime.state()
    (folder / "registration").mkdir(parents=True, exist_ok=True)
    project = copy_project(runtime, folder / "registration", STACK)
    for path in project.source_folder.glob("*.json"):
        path.unlink()
    names = _write_connectors(project.source_folder, connectors, "reg")
    project.set_config(STACK, "connect", {"connectorDeadlineSeconds": 300})
    log = ConnectLog(state)

    ours: dict[str, Any] = {}
    for run in ("first", "second"):
        mark = log.mark()
        started = time.perf_counter()
        output = project.up(STACK)
        seconds = time.perf_counter() - started
        time.sleep(RESTART_LOG_WAIT_SECONDS)  # as for the blind loop below: restarts are logged late
        ours[run] = _counts(log, mark, seconds)
        ours[run]["summary"] = [
            line.strip() for line in output.splitlines() if "created" in line or "unchanged" in line
        ][-1:]
    project.cli.run("destroy", "--stack", STACK, "--yes")
    time.sleep(RESTART_LOG_WAIT_SECONDS)  # the deleted connectors' stops are logged before the next mark

    blind: dict[str, Any] = {}
    configs = _configs_as_registered(project)
    assert sorted(configs) == names
    with ConnectClient(connect_endpoint(state, deadline_seconds=120)) as client:
        for run in ("first", "second"):
            mark = log.mark()
            started = time.perf_counter()
            for name, config in configs.items():  # what the seed design's script did, file by file
                client.put_connector_config(name, config)
            seconds = time.perf_counter() - started
            time.sleep(RESTART_LOG_WAIT_SECONDS)  # let the restarts a blind PUT triggers show up in the logs
            blind[run] = _counts(log, mark, seconds)
        for name in configs:
            client.delete_connector(name)
    return {"connectors": connectors, "pulumi_up": ours, "blind_put_loop": blind}


def _configs_as_registered(project: Project) -> dict[str, dict[str, str]]:
    """The full configs the provider sends for the project's files (the loader makes them)."""
    tree = load_connector_tree(local_tree_context(project.state, project.directory / "connectors", "local"))
    return {spec.name: spec.config for spec in tree.connectors}


def _counts(log: ConnectLog, mark: Any, seconds: float) -> dict[str, Any]:
    requests = log.requests_since(mark)
    client_requests = [r for r in requests if not r.is_internal and not r.is_forwarded]
    return {
        "seconds": round(seconds, 2),
        "rest_calls": len(client_requests),
        "writes": sum(1 for r in requests if r.is_write),
        "connector_restarts": len(log.connector_stops_since(mark)),
    }
