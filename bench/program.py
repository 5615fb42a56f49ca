"""The program itself: evaluation time and memory as connector files grow, and registration at scale.

- Evaluation: the staging (EKS) program under Pulumi mocks, in a fresh process per size, with N
  connector files split over its sources (harness/mocked_program.py runs it). One more run of
  the largest size under cProfile says where the time goes, package by package.
- Registration at scale (`registration`): N connectors through the real Pulumi CLI against the
  live worker: `pulumi preview` and the first `pulumi up`, a no-op preview and `up`, drift
  (changed, stopped, deleted and failed out of band) seen and repaired, then `pulumi destroy`.
  Every run's REST calls, writes, conflicts (409), rebalances and connector restarts are counted
  from the worker's log; the worker's heap is measured with N connectors running.
- The seed design's blind PUT loop (`blind_put_loop`), twice over the same configs, beside it.

The N connectors are heartbeat connectors (one small task each, a heartbeat a minute) plus one
MirrorSourceConnector whose destination topic refuses large records: the drift step makes its task
fail by producing one such record, as tests/faults/test_task_restarts.py does.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ResourceType,
)

from bench import jvm
from bench.common import log
from bench.cpu import ChildProcessMeter
from connect.connector_tree import load_connector_tree
from connect.local_runtime import RuntimeState, connect_endpoint, local_tree_context
from connect.polling import poll_until
from connect.rest import ConnectClient, ConnectUnavailable
from harness.mocked_program import staging_values
from harness.project_copy import copy_project
from localkafka import clients
from localkafka.connect_log import ConnectLog, LogMark, Request
from localkafka.paths import REPO_ROOT
from localkafka.runtime import LocalRuntime
from localrun.pulumi_cli import PulumiError
from stackconfig.load import PROJECT

STACK = "bench"

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

# The same under cProfile: time spent inside each package's own functions (tottime), and the
# cumulative time of the calls that say which part of the work is ours.
_PROFILE = """
import cProfile, json, pstats, sys
from pathlib import Path
from harness.mocked_program import run_program
profiler = cProfile.Profile()
profiler.enable()
run_program(project_root=Path(sys.argv[1]))
profiler.disable()
stats = pstats.Stats(profiler).stats
root = sys.argv[2]

def area(file):
    if "site-packages/" in file:
        return file.split("site-packages/")[1].split("/")[0].removesuffix(".py")
    if file.startswith(root):
        return "this project: " + file[len(root):].lstrip("/").split("/")[0]
    if "/lib/python3" in file:
        return "Python standard library: " + file.split("/lib/python3")[1].split("/")[1].removesuffix(".py")
    return "Python built-ins (isinstance, contextvars, compile, ...)"

areas, cumulative = {}, {}
for (file, line, function), (_, _, own, total, _) in stats.items():
    areas[area(file)] = areas.get(area(file), 0.0) + own
    if function in ("load_connector_tree", "serialize_provider", "register_resource", "build_stack"):
        cumulative[function] = max(cumulative.get(function, 0.0), total)
print(json.dumps({
    "profiled_seconds": round(sum(areas.values()), 2),
    "by_area_seconds": {k: round(v, 2) for k, v in sorted(areas.items(), key=lambda kv: -kv[1])[:10]},
    "cumulative_seconds": {k: round(v, 2) for k, v in cumulative.items()},
}))
"""


def evaluate_program(connector_files: int, folder: Path, profile: bool = False) -> dict[str, Any]:
    root = _program_with_files(connector_files, folder)
    started = time.perf_counter()
    measured = _child(_EVALUATE, root)
    wall = time.perf_counter() - started
    assert measured["connector_resources"] == connector_files, measured
    result = {"connector_files": connector_files, "process_seconds": round(wall, 2), **measured}
    if profile:
        result["profile"] = _child(_PROFILE, root, str(REPO_ROOT))
    return result


def _program_with_files(connector_files: int, folder: Path) -> Path:
    root = folder / f"program-{connector_files}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for name in ("docker", "monitoring"):
        (root / name).symlink_to(REPO_ROOT / name)
    # Spread over every source the staging stack declares: each needs connector files.
    sources = sorted(staging_values()[f"{PROJECT}:sources"])
    for index in range(connector_files):
        source = sources[index % len(sources)]
        target = root / "connectors" / "staging" / "msk-main" / source / f"topic-{index:05d}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(
            json.dumps({"config": {"connector.class": "MirrorSourceConnector", "topics": f"topic-{index}"}})
        )
    return root


def _child(script: str, *args: str | Path) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        timeout=1800,
    )
    if result.returncode != 0:
        raise RuntimeError(f"evaluating the program in {args[0]} failed:\n{result.stderr[-3000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


# --- Registration at scale ------------------------------------------------------------------

# Connect logs a connector's stop a moment after the request that caused it.
RESTART_LOG_WAIT_SECONDS = 5
# The bench worker's 1.5 GiB ran out at the 918th heartbeat connector (2026-12-02: "Terminating due
# to java.lang.OutOfMemoryError"): every connector and task has clients of its own, about 1.1 MiB
# of live heap each with 1,000 running. The live set with all of them running is reported.
REGISTRATION_WORKER_HEAP = "-Xms1g -Xmx4g"
REJECTING = "reject-0000"  # the MirrorSourceConnector whose task the drift step fails
REJECTING_TOPIC = "bench-rejecting"
# As tests/faults/test_task_restarts.py: the limit is above the producer's batch.size (512 KiB),
# so batches of small records fit; the one big record (padding in a header) is refused.
LIMIT = 600_000
BIG_PADDING = 800_000
RAISED_LIMIT = 1_048_588  # Kafka's default
SUMMARY = re.compile(
    r"^\s*(?:[+~\-]+\s*)?(\d+) (to create|to update|to delete|to replace|created|updated|deleted|replaced|unchanged)",
    re.MULTILINE,
)
REBALANCE_STARTED = "Rebalance started"
GRACEFUL_STOP_FAILED = "Graceful stop of task"
# What each process under a Pulumi CLI run is, by its command line (first match wins).
PULUMI_PROCESSES = {
    "pulumi-language-python-exec": "the program (Python)",
    "pulumi.dynamic": "the dynamic provider host (Python)",
    "pulumi-language-python": "the Python language plugin",
    "bin/pulumi": "the engine (pulumi CLI)",
    "connect-distributed.properties": "the Connect worker",
}
# Connect's request log ends with the time it took to answer, in milliseconds.
ANSWERED_IN = re.compile(
    r'"(?P<verb>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3}) \S+ "[^"]*" "[^"]*" (?P<ms>\d+)'
)
# The provider's pre-flight cluster check (our REST extension, docker/worker-extensions): a PUT
# that changes nothing in Connect, so not a write.
CLUSTER_CHECK = "/mm2-eks/clusters/check"


def _heartbeat_files(folder: Path, count: int) -> list[str]:
    """`count` heartbeat connectors: real connectors with a running task each, but little data to move.

    Their heartbeat stays at MirrorMaker 2's default of one a second. A source task is stopped only
    when its poll returns, and a heartbeat task's poll waits a whole interval: at one a minute,
    every rebalance that removed one waited out Connect's 5 s graceful-stop timeout ("Graceful stop
    of task ... failed"), which alone made `pulumi destroy` of 200 take 5 minutes. A
    MirrorSourceTask's poll returns within a second, as this one's does.
    """
    names = []
    for index in range(count):
        name = f"reg-{index:04d}"
        config = {"connector.class": "MirrorHeartbeatConnector"}
        (folder / f"{name}.json").write_text(json.dumps({"config": config}))
        names.append(name)
    return names


def _rejecting_file(state: RuntimeState, folder: Path) -> None:
    clients.create_topics(state, "source", {REJECTING_TOPIC: 1})
    clients.create_topics(state, "destination", {REJECTING_TOPIC: 1}, {"max.message.bytes": str(LIMIT)})
    config = {
        "connector.class": "MirrorSourceConnector",
        "topics": REJECTING_TOPIC,
        "tasks.max": 1,
        # Else MirrorMaker 2 copies the source topic's max.message.bytes over the destination's limit.
        "sync.topic.configs.enabled": "false",
    }
    (folder / f"{REJECTING}.json").write_text(json.dumps({"config": config}))


def registration(runtime: LocalRuntime, connectors: int, folder: Path) -> dict[str, Any]:
    """`connectors` connectors through the Pulumi CLI: every run timed and its REST calls counted.

    The worker runs without exactly-once here: with it, every source connector and every task
    (heartbeat connectors are source connectors) reads the offsets topic with a consumer of its own
    and holds a fencing admin client, about 4.7 MB of heap per heartbeat connector, measured; 1,000
    would not fit one local worker. The provider's calls and Connect's rebalances are the same.
    Failed tasks stay failed (no restarts), so that the drift step sees one.
    """
    with registration_workers(runtime) as restart_for_registration:
        return _registration(runtime, connectors, folder, restart_for_registration)


@contextmanager
def registration_workers(runtime: LocalRuntime) -> Iterator[Callable[[], None]]:
    """Workers for many small connectors: a larger heap, no exactly-once, failed tasks not restarted.

    Yields the restart that brings them back with these settings; afterwards the workers run as
    every stack runs them again.
    """
    heap_before = os.environ.get("MM2_LOCAL_WORKER_HEAP")
    os.environ["MM2_LOCAL_WORKER_HEAP"] = REGISTRATION_WORKER_HEAP
    restart = partial(runtime.restart_workers, exactly_once=False, producer_tuning=True, task_restarts_max=0)
    try:
        restart()
        yield restart
    finally:
        if heap_before is None:
            os.environ.pop("MM2_LOCAL_WORKER_HEAP", None)
        else:
            os.environ["MM2_LOCAL_WORKER_HEAP"] = heap_before
        runtime.restart_workers(exactly_once=True, producer_tuning=True)


def _registration(
    runtime: LocalRuntime, connectors: int, folder: Path, restart_for_registration: Callable[[], None]
) -> dict[str, Any]:
    state = runtime.state()
    (folder / "registration").mkdir(parents=True, exist_ok=True)
    project = copy_project(runtime, folder / "registration", STACK)
    for path in project.source_folder.glob("*.json"):
        path.unlink()
    _heartbeat_files(project.source_folder, connectors - 1)
    _rejecting_file(state, project.source_folder)
    # A first `up` of 1,000 waits for each connector's tasks behind many others.
    project.set_config(STACK, "connect", {"connectorDeadlineSeconds": 1800, "exactlyOnce": False})
    connect_log = ConnectLog(state)
    runs: dict[str, Any] = {}
    drifted: dict[str, str] = {}
    try:

        def timed(label: str, *args: str) -> str:
            mark = connect_log.mark()
            with ChildProcessMeter(PULUMI_PROCESSES) as processes:
                output = project.cli.run(*args).stdout
            time.sleep(RESTART_LOG_WAIT_SECONDS)  # restarts are logged a moment after the request
            runs[label] = _counts(connect_log, mark, processes.wall) | {"summary": _summary(output)}
            runs[label]["cpu_seconds_by_process"] = processes.report()
            log(f"  {label}: {runs[label]['seconds']} s, {runs[label]['rest_calls']} REST calls")
            return output

        preview = ("preview", "--stack", STACK)
        up = ("up", "--stack", STACK, "--yes", "--skip-preview")
        timed("preview, all new", *preview)
        timed("first up", *up)
        runs["heap with every connector running"] = jvm.heap(state.workers[0].pid)
        timed("preview, no change", *preview)
        timed("second up, no change", *up)
        drifted = _drift(state)
        time.sleep(RESTART_LOG_WAIT_SECONDS)  # the drift's own stops are logged before the next mark
        timed("preview after drift", *preview)
        _raise_limit(state)
        timed("up repairing drift", *up)
        runs["repaired"] = _repaired(state, drifted)
        timed("destroy", "destroy", "--stack", STACK, "--yes")
    except (PulumiError, RuntimeError, TimeoutError) as error:
        # Kept with the runs before it, as the throughput part keeps a failed profile's error.
        runs["error"] = str(error)[-3000:]
        log(f"  registration failed: {str(error)[-500:]}")
    finally:
        # A run that failed midway leaves no connector behind, even when it was the worker that failed.
        try:
            _delete_leftovers(state)
        except ConnectUnavailable:
            log("  the worker stopped answering (its log says why); restarting it to delete the leftovers")
            restart_for_registration()
            _delete_leftovers(runtime.state())
        clients.delete_topics(state, "source", [REJECTING_TOPIC])
        clients.delete_topics(state, "destination", [REJECTING_TOPIC])
    return {"connectors": connectors, "worker_heap": REGISTRATION_WORKER_HEAP, "runs": runs, "drifted": drifted}


def _delete_leftovers(state: RuntimeState) -> None:
    with ConnectClient(connect_endpoint(state, deadline_seconds=120)) as client:
        for name in client.connectors():
            if name.startswith(("reg-", "reject-")):
                client.delete_connector(name)


def _drift(state: RuntimeState) -> dict[str, str]:
    """Four connectors changed behind Pulumi's back; returns what was done to which."""
    changed, stopped, deleted = "reg-0001", "reg-0002", "reg-0003"
    with ConnectClient(connect_endpoint(state, deadline_seconds=120)) as client:
        live = client.connector_config(changed) or {}
        client.put_connector_config(changed, {**live, "emit.heartbeats.interval.seconds": "2"})
        client.set_state(stopped, "stopped")
        client.delete_connector(deleted)
        _produce_big_record(state)
        poll_until(
            lambda: _failed(client),
            timeout=120,
            what=f"the task of {REJECTING!r} to fail on the record its destination refuses",
        )
    return {changed: "config changed", stopped: "stopped", deleted: "deleted", REJECTING: "task failed"}


def _failed(client: ConnectClient) -> bool:
    status = client.connector_status(REJECTING) or {}
    return any(task.get("state") == "FAILED" for task in status.get("tasks", []))


def _produce_big_record(state: RuntimeState) -> None:
    producer = clients.producer(state, "source")
    producer.produce(REJECTING_TOPIC, value=b"big", headers=[("padding", os.urandom(BIG_PADDING))])
    remaining = producer.flush(60)
    assert remaining == 0, f"the big record was not delivered to the source topic {REJECTING_TOPIC}"


def _raise_limit(state: RuntimeState) -> None:
    """So that the restarted task can write the big record and keeps running."""
    entry = ConfigEntry("max.message.bytes", str(RAISED_LIMIT), incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ResourceType.TOPIC, REJECTING_TOPIC, incremental_configs=[entry])
    admin = clients.admin(state, "destination")  # kept alive until its futures are done
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(timeout=30)


def _repaired(state: RuntimeState, drifted: dict[str, str]) -> dict[str, str]:
    """Each drifted connector's state and task states after the repairing `up`."""
    with ConnectClient(connect_endpoint(state, deadline_seconds=120)) as client:
        listing = client.connectors_with_status()
    seen = {}
    for name in drifted:
        live = listing.get(name)
        if live is None:
            seen[name] = "missing"
            continue
        tasks = ",".join(task["state"] for task in live.status.get("tasks", []))
        seen[name] = f"{live.status['connector']['state']} (tasks {tasks or 'none'})"
    return seen


# Deletes sent together: Connect applies every request waiting in its queue before it rebalances.
PARALLEL_DELETES = 16


def blind_put_loop(runtime: LocalRuntime, connectors: int, folder: Path) -> dict[str, Any]:
    """The seed design's script: PUT every config, file by file, twice; then delete them one by one.

    Then the same connectors once more, deleted PARALLEL_DELETES at a time: how far batching the
    deletes cuts the rebalances a `pulumi destroy` waits for. The workers are those of the
    registration part, so that both compare on the same settings.
    """
    with registration_workers(runtime):
        return _blind_put_loop(runtime.state(), connectors, folder)


def _blind_put_loop(state: RuntimeState, connectors: int, folder: Path) -> dict[str, Any]:
    scratch = folder / "blind" / "local" / "destination" / "source"
    shutil.rmtree(folder / "blind", ignore_errors=True)
    scratch.mkdir(parents=True)
    names = _heartbeat_files(scratch, connectors)
    tree = load_connector_tree(local_tree_context(state, folder / "blind", "local"))
    configs = {spec.name: spec.config for spec in tree.connectors}
    assert sorted(configs) == names
    connect_log = ConnectLog(state)
    runs: dict[str, Any] = {}
    with ConnectClient(connect_endpoint(state, deadline_seconds=300)) as client:

        def put_all() -> None:
            for name, config in configs.items():  # what the seed design's script did, file by file
                client.put_connector_config(name, config)

        def delete_one_by_one() -> None:
            for name in configs:
                client.delete_connector(name)

        def delete_together() -> None:
            with ThreadPoolExecutor(PARALLEL_DELETES) as pool:
                list(pool.map(_delete_with_own_client(state), configs))

        for run, action in (
            ("first", put_all),
            ("second", put_all),
            ("delete, one by one", delete_one_by_one),
            ("create again", put_all),
            (f"delete, {PARALLEL_DELETES} at a time", delete_together),
        ):
            mark = connect_log.mark()
            started = time.perf_counter()
            action()
            seconds = time.perf_counter() - started
            time.sleep(RESTART_LOG_WAIT_SECONDS)  # let the restarts a blind PUT triggers show up in the logs
            runs[run] = _counts(connect_log, mark, seconds)
    return {"connectors": connectors, "runs": runs}


def _delete_with_own_client(state: RuntimeState) -> Callable[[str], bool]:
    def delete(name: str) -> bool:
        with ConnectClient(connect_endpoint(state, deadline_seconds=300)) as client:
            return client.delete_connector(name)

    return delete


def _summary(output: str) -> dict[str, int]:
    """The engine's resource summary ("1000 unchanged", "~ 4 to update", ...), connectors and others alike."""
    return {kind: int(count) for count, kind in SUMMARY.findall(output)}


def _counts(connect_log: ConnectLog, mark: LogMark, seconds: float) -> dict[str, Any]:
    requests = connect_log.requests_since(mark)
    client_requests = [r for r in requests if not r.is_internal and not r.is_forwarded]
    lines = connect_log.lines_since(mark)
    return {
        "seconds": round(seconds, 2),
        "rest_calls": len(client_requests),
        "rest_calls_by_kind": dict(Counter(_kind(r) for r in client_requests).most_common()),
        # Accepted writes: a write Connect refused with 409 during a rebalance changed nothing and is retried.
        "writes": sum(1 for r in requests if r.is_write and r.status < 400 and not r.path.startswith(CLUSTER_CHECK)),
        "conflicts_409": sum(1 for r in client_requests if r.status == 409),
        "rebalances": sum(1 for line in lines if REBALANCE_STARTED in line),
        # A task that did not stop within task.shutdown.graceful.timeout.ms held its rebalance that long.
        "graceful_stop_timeouts": sum(1 for line in lines if GRACEFUL_STOP_FAILED in line),
        "connector_restarts": len(connect_log.connector_stops_since(mark)),
        "answer_ms_by_write": _answer_times(lines),
    }


def _answer_times(lines: list[str]) -> dict[str, dict[str, int]]:
    """How long Connect took to answer each kind of write (median and max ms): the wait behind rebalances."""
    times: dict[str, list[int]] = {}
    for line in lines:
        found = ANSWERED_IN.search(line)
        if not found:
            continue
        request = Request(found["verb"], found["path"], int(found["status"]))
        if request.is_write and not request.path.startswith(CLUSTER_CHECK):
            kind = f"{found['verb']} {found['status']}"
            times.setdefault(kind, []).append(int(found["ms"]))
    return {
        kind: {"count": len(ms), "median_ms": sorted(ms)[len(ms) // 2], "max_ms": max(ms)}
        for kind, ms in sorted(times.items())
    }


def _kind(request: Request) -> str:
    path = request.path.partition("?")[0]
    if request.path.startswith("/connectors?"):
        return "GET every connector (expand=info,status)"
    if path.endswith("/config/validate"):
        return "PUT validate"
    if path == CLUSTER_CHECK:
        return "PUT cluster check"
    if request.is_write:
        return f"{request.verb} (write)"
    if path in ("/", "/health"):
        return f"GET {path}"
    return f"{request.verb} one connector's {path.rsplit('/', 1)[-1] if path.count('/') > 2 else 'info'}"
