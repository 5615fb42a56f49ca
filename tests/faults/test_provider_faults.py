"""`pulumi up` (the real CLI) while Connect misbehaves: a bounded, clear failure, then convergence."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator

import pytest

from harness.project_copy import Project, copy_project
from localkafka.connect_log import ConnectLog
from localkafka.runtime import LocalRuntime
from tests.faults.streams import Outcome, record_outcome

pytestmark = pytest.mark.runtime

STACK = "faults"
# The default REST timeouts, and the short ones the frozen worker is tried with (so that it fails fast).
DEFAULT_REST = {"connectorDeadlineSeconds": 120}
SHORT_REST = {**DEFAULT_REST, "restTimeoutSeconds": 2, "restDeadlineSeconds": 8}


@pytest.fixture(scope="module")
def project(runtime: LocalRuntime, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    project = copy_project(runtime, tmp_path_factory.mktemp("faults"), STACK)
    project.set_config(STACK, "connect", DEFAULT_REST)
    project.up(STACK)
    yield project
    project.cli.run("destroy", "--stack", STACK, "--yes", check=False)


def edit_tasks_max(project: Project, connector: str, tasks: int) -> None:
    path = project.source_folder / f"{connector}.json"
    document = json.loads(path.read_text())
    document["config"]["tasks.max"] = tasks
    path.write_text(json.dumps(document))


def test_frozen_worker_fails_up_within_the_deadline_then_up_converges(project: Project, runtime: LocalRuntime) -> None:
    state = runtime.state()
    target = state.workers[0]
    assert target.pid
    edit_tasks_max(project, "orders", 3)
    project.set_config(STACK, "connect", SHORT_REST)

    os.kill(target.pid, signal.SIGSTOP)  # the JVM accepts connections but answers nothing
    started = time.monotonic()
    try:
        failed = project.cli.up(STACK, check=False)
    finally:
        os.kill(target.pid, signal.SIGCONT)
    elapsed = time.monotonic() - started
    assert failed.returncode != 0
    assert "still failing after 8s of retries" in failed.stdout, failed.stdout[-3000:]
    assert target.url in failed.stdout

    # The state is intact: the stack still lists every connector resource.
    exported = json.loads(project.cli.run("stack", "export", "--stack", STACK).stdout)
    names = {
        r["urn"].rsplit("::", 1)[1] for r in exported["deployment"]["resources"] if "dynamic:Resource" in r["type"]
    }
    assert names == {"checkpoints", "events", "heartbeats", "orders"}

    runtime.wait_for_worker(state, target)
    # Back to the default timeouts: 2 s per call is for failing fast, not for a loaded machine.
    project.set_config(STACK, "connect", DEFAULT_REST)
    recovered_at = time.monotonic()
    mark = project.log.mark()
    converged = project.up(STACK)
    writes = [(w.verb, w.path) for w in project.log.writes_since(mark)]
    # The edited connector is written; any other connector the freeze left with failed tasks may
    # have them restarted, and one that is still rebalancing is waited for (no write).
    assert ("PUT", "/connectors/orders/config") in writes, (writes, converged)
    others = [w for w in writes if w != ("PUT", "/connectors/orders/config")]
    assert all(verb == "POST" and "/restart?" in path for verb, path in others), (writes, converged)
    assert "6 unchanged" in project.up(STACK)
    record_outcome(
        Outcome(
            fault="Connect worker frozen (SIGSTOP) during `pulumi up`: connections accepted, nothing answered",
            checked="`pulumi up` exit code and message; stack export; the next `pulumi up` after SIGCONT",
            records=0,
            lost=0,
            duplicates=0,
            recovery_seconds=round(time.monotonic() - recovered_at, 1),
            notes={
                "failed_after_seconds": round(elapsed, 1),
                "rest_timeout_seconds": 2,
                "rest_deadline_seconds": 8,
                "writes_of_the_converging_up": writes,
            },
        )
    )
    assert elapsed < 90, f"pulumi up took {elapsed:.0f}s to give up"


def test_up_succeeds_through_a_worker_joining_the_group(project: Project, runtime: LocalRuntime) -> None:
    # The stack talks to a worker that is only starting: refused connections, then Jetty's 404
    # until its REST resources exist, while the group rebalances to take it in.
    project.set_config(STACK, "connect", DEFAULT_REST)
    joining = runtime.add_worker(wait=False)
    log = ConnectLog(runtime.state())
    mark = log.mark()
    project.set_config(STACK, "local", {"runtimeDir": str(runtime.runtime_dir), "connectWorker": joining.index})
    edit_tasks_max(project, "events", 3)
    started = time.monotonic()
    try:
        output = project.up(STACK)
        elapsed = time.monotonic() - started
        transient = [r.status for r in log.requests_since(mark) if r.status in (404, 409, 500, 503)]
        # Every connector's `connect` input changed (another URL); only the edited one is written.
        assert "4 updated" in output, output
        writes = [(w.verb, w.path) for w in log.writes_since(mark)]
        assert writes == [("PUT", "/connectors/events/config")], writes
    finally:
        project.set_config(STACK, "local", {"runtimeDir": str(runtime.runtime_dir), "connectWorker": 0})
        runtime.remove_worker(joining.index)
        project.up(STACK)
    record_outcome(
        Outcome(
            fault="`pulumi up` against a Connect worker that is still joining the group (a rebalance)",
            checked="`pulumi up` succeeds and writes exactly one config; transient answers retried",
            records=0,
            lost=0,
            duplicates=0,
            recovery_seconds=round(elapsed, 1),
            notes={"transient_answers_seen_by_workers": transient},
        )
    )
