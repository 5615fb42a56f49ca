"""Failed tasks restart themselves: the workers' TaskRestartSupervisor, against the real local runtime.

A destination topic created with `max.message.bytes` below one record's size rejects that record,
and the task that mirrors it goes FAILED. The worker that runs the task restarts it with Strimzi's
back-off (the local runtime counts it in seconds: 0, 2, 6, ... s after each failure is seen); once
the test raises the limit, the next restart sticks and every record arrives exactly once. With a
cap, a task that keeps failing is restarted that many times and then left FAILED, with the metrics
the alerts read. The measured recovery goes to .local/fault-outcomes.json for docs/reliability.md.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ResourceType,
)

from connect.local_runtime import RuntimeState, WorkerState, connect_endpoint
from connect.polling import poll_until
from connect.rest import ConnectClient
from localkafka import clients, worker
from localkafka.runtime import LocalRuntime
from localkafka.worker import LOCAL_TASK_RESTARTS
from tests.faults.streams import Outcome, arrival, encode, record_outcome
from tests.support import load_specs, unique, write_tree

pytestmark = pytest.mark.runtime

PARTITIONS = 2
# Small records before and after the one the destination rejects.
SMALL = 2_000
# The destination topic's limit: above the workers' producer batch.size (512 KiB), so that batches
# of small records fit, and below the one big record (its padding rides in a header, so that the
# value stays the 8-byte sequence number that `arrival` reads).
LIMIT = 600_000
BIG_PADDING = 800_000
RAISED_LIMIT = 1_048_588  # Kafka's default
CAP = 2
# How long a task at the cap is watched: longer than the restart it would get next (6 s) plus a poll.
HOLD_SECONDS = 10.0
RESTART_METRICS = ("mm2_task_restarts_total", "mm2_task_restarts_exhausted", "kafka_connect_connector_task_status")


@pytest.fixture
def capped_workers(runtime: LocalRuntime) -> Iterator[None]:
    runtime.restart_workers(exactly_once=True, task_restarts_max=CAP)
    try:
        yield
    finally:
        runtime.restart_workers(exactly_once=True)


def start_rejecting_mirror(state: RuntimeState, tmp_path: Path) -> str:
    """A running MirrorSourceConnector (named as its topic) into a destination topic that rejects
    records over LIMIT bytes. Created through the REST API: what is tested is the workers, not `pulumi up`."""
    topic = unique("restarts")
    clients.create_topics(state, "source", {topic: PARTITIONS})
    clients.create_topics(state, "destination", {topic: PARTITIONS}, {"max.message.bytes": str(LIMIT)})
    config = {
        "connector.class": "MirrorSourceConnector",
        "topics": topic,
        "tasks.max": PARTITIONS,
        # Else MirrorMaker 2 syncs the source topic's configs at start and resets the destination's
        # max.message.bytes to the source's (Kafka's default), and nothing is rejected.
        "sync.topic.configs.enabled": "false",
    }
    files = {f"{topic}.json": {"config": config}}
    [spec] = load_specs(state, write_tree(tmp_path / "connectors", files))
    with ConnectClient(connect_endpoint(state)) as client:
        client.create_connector(spec.name, spec.config)
        poll_until(
            lambda: [task["state"] for task in tasks(client, spec.name).values()],
            lambda states: states == ["RUNNING"] * PARTITIONS,
            timeout=120,
            what=f"connector {spec.name} to run {PARTITIONS} tasks",
        )
    return topic


def produce(state: RuntimeState, topic: str, sequences: range, big: int | None = None) -> None:
    """Sequence-numbered records, `sequence % PARTITIONS` as partition; `big` carries the padding."""
    producer = clients.producer(state, "source")
    for sequence in sequences:
        headers: list[tuple[str, str | bytes | None]] | None = None
        if sequence == big:
            headers = [("padding", os.urandom(BIG_PADDING))]
        producer.produce(
            topic, key=encode(sequence), value=encode(sequence), partition=sequence % PARTITIONS, headers=headers
        )
        producer.poll(0)
    remaining = producer.flush(60)
    assert remaining == 0, f"{remaining} records undelivered to the source topic {topic}"


def raise_limit(state: RuntimeState, topic: str) -> None:
    entry = ConfigEntry("max.message.bytes", str(RAISED_LIMIT), incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[entry])
    admin = clients.admin(state, "destination")  # kept: a collected client fails its futures
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(timeout=30)


def tasks(client: ConnectClient, name: str) -> dict[str, dict[str, Any]]:
    status = client.connector_status(name) or {}
    return {str(task["id"]): task for task in status.get("tasks", [])}


def failed_task(client: ConnectClient, name: str) -> dict[str, Any]:
    """The first FAILED task of the connector, or {} while none is."""
    return next((task for task in tasks(client, name).values() if task["state"] == "FAILED"), {})


def worker_with_id(state: RuntimeState, worker_id: str) -> WorkerState:
    """The worker whose id Connect reports (its advertised 127.0.0.1:port)."""
    port = int(worker_id.rsplit(":", 1)[1])
    return next(member for member in state.workers if member.rest_port == port)


def series(member: WorkerState, connector: str, task: str) -> dict[str, float]:
    """This task's restart and status series on one worker's JMX exporter: {name or name{status}: value}."""
    found: dict[str, float] = {}
    for line in httpx.get(member.metrics_url, timeout=10).text.splitlines():
        match = re.match(r"^(\w+)\{([^}]*)\} (\S+)$", line)
        if not match or match[1] not in RESTART_METRICS:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match[2]))
        if labels.get("connector") == connector and labels.get("task") == task:
            key = f"{match[1]}{{{labels['status']}}}" if "status" in labels else match[1]
            found[key] = float(match[3])
    return found


def restarts(member: WorkerState, connector: str, task: str) -> float:
    return series(member, connector, task).get("mm2_task_restarts_total", 0.0)


def committed_offset(client: ConnectClient, name: str, partition: int) -> int:
    """The source offset the connector committed for `partition` (with the records, under exactly-once)."""
    for entry in client.connector_offsets(name):
        if entry["partition"].get("partition") == partition:
            return int(entry["offset"]["offset"])
    return -1


def restart_lines(state: RuntimeState, member: WorkerState, connector: str, task: str) -> list[str]:
    text = worker.log_file(state, member).read_text(errors="replace")
    return [line for line in text.splitlines() if f"Restarted task {task} of connector '{connector}'" in line]


def test_a_task_failed_by_rejected_records_restarts_itself_once_they_fit(runtime: LocalRuntime, tmp_path: Path) -> None:
    state = runtime.state()
    assert state.task_restarts_max is None, "the session runtime restarts without a cap, as EKS by default"
    topic = name = start_rejecting_mirror(state, tmp_path)
    produce(state, topic, range(SMALL))
    assert arrival(state, topic, range(SMALL)).missing == []
    total = 2 * SMALL + 1
    big = SMALL  # on partition 0, after SMALL / 2 small records there: its source offset
    produce(state, topic, range(SMALL, total), big=big)
    client = ConnectClient(connect_endpoint(state))

    failed = poll_until(lambda: failed_task(client, name), timeout=120, what=f"a task of {name} to fail", interval=0.2)
    seen_at = time.monotonic()
    task, owner = str(failed["id"]), worker_with_id(state, failed["worker_id"])
    # While the record is still rejected, the owner restarts the task at once, then 2 s after it
    # fails again. Once it has failed after the second restart, the limit goes up, and the next
    # restart (6 s after that failure is seen) sticks.
    # On a loaded machine that restart may already be under way as the limit goes up.
    poll_until(
        lambda: restarts(owner, name, task),
        lambda count: count >= 2,
        timeout=60,
        what=f"two automatic restarts of task {task}",
    )
    second_restart_seen = time.monotonic()
    poll_until(
        lambda: tasks(client, name)[task]["state"],
        # A second of margin: the status of a task restarted a moment ago may still be the old one.
        lambda state_now: state_now == "FAILED" and time.monotonic() > second_restart_seen + 1,
        timeout=60,
        what=f"task {task} to fail again after its second restart",
    )
    restarts_before_fix = restarts(owner, name, task)
    raise_limit(state, topic)
    fixed_at = time.monotonic()
    poll_until(
        lambda: (tasks(client, name)[task]["state"], committed_offset(client, name, big % PARTITIONS)),
        lambda seen: seen[0] == "RUNNING" and seen[1] >= big // PARTITIONS,
        timeout=120,
        what=f"task {task} RUNNING again with the big record mirrored",
    )
    recovered_at = time.monotonic()

    result = arrival(state, topic, range(total))
    lines = restart_lines(state, owner, name, task)
    others = [member for member in state.workers if member.index != owner.index]
    assert result.missing == [], f"lost {result.lost} records, e.g. {result.missing}"
    assert result.duplicates == 0, f"{result.duplicates} duplicates despite exactly-once"
    # A FAILED task never runs again by itself: it ran again because its worker restarted it (the
    # restart after the limit went up, or one that was under way as it went up).
    assert restarts(owner, name, task) >= restarts_before_fix >= 2
    # Every restart logged by the worker that ran the task, with the attempt and the trace's first line.
    assert len(lines) == restarts(owner, name, task), lines
    assert f"on worker {failed['worker_id']}: restart 1 of unlimited" in lines[0], lines[0]
    assert "RecordTooLargeException" in lines[0], lines[0]
    # Only that worker acted on the failure.
    for member in others:
        assert restart_lines(state, member, name, task) == []
        assert restarts(member, name, task) == 0
    client.delete_connector(name)
    record_outcome(
        Outcome(
            fault="The destination rejects a record (topic max.message.bytes below its size) until the limit is raised",
            checked=f"{total} sequence-numbered records, every one read back (read_committed); no manual restart",
            records=total,
            lost=result.lost,
            duplicates=result.duplicates,
            recovery_seconds=round(recovered_at - seen_at, 1),
            notes={
                "limit_raised_after_seconds": round(fixed_at - seen_at, 1),
                "running_after_limit_raised_seconds": round(recovered_at - fixed_at, 1),
                "restarts_before_limit_raised": int(restarts_before_fix),
                "restarts": len(lines),
                "backoff_unit_ms": LOCAL_TASK_RESTARTS.backoff_unit_ms,
                "poll_interval_ms": LOCAL_TASK_RESTARTS.poll_interval_ms,
            },
        )
    )


def test_a_task_that_keeps_failing_stops_at_the_cap(
    runtime: LocalRuntime, tmp_path: Path, capped_workers: None
) -> None:
    state = runtime.state()
    assert state.task_restarts_max == CAP
    topic = name = start_rejecting_mirror(state, tmp_path)
    produce(state, topic, range(10), big=8)
    client = ConnectClient(connect_endpoint(state))
    failed = poll_until(lambda: failed_task(client, name), timeout=120, what=f"a task of {name} to fail", interval=0.2)
    task, owner = str(failed["id"]), worker_with_id(state, failed["worker_id"])

    poll_until(
        lambda: series(owner, name, task),
        lambda found: found.get("mm2_task_restarts_exhausted") == 1,
        timeout=120,
        what=f"task {task} to reach the cap of {CAP} restarts",
    )
    exhausted_at = time.monotonic()
    held: list[str] = []

    def watch() -> float:
        held.append(tasks(client, name)[task]["state"])
        return time.monotonic() - exhausted_at

    poll_until(watch, lambda elapsed: elapsed >= HOLD_SECONDS, timeout=HOLD_SECONDS + 30, what="the hold to pass")
    found = series(owner, name, task)
    log = worker.log_file(state, owner).read_text(errors="replace")

    # The supervisor's lines about this task. The cap counts the restarts since the count was last
    # reset, after the healthy time RUNNING (60 s locally): a failed task reports RUNNING for up to
    # 30 s while it closes its producer, so on a slow machine a reset is rare but possible.
    subject = f"task {task} of connector '{name}'"
    about = [line for line in log.splitlines() if "TaskRestartSupervisor" in line and subject in line]
    resets = [index for index, line in enumerate(about) if "has been RUNNING for" in line]
    since_reset = [line for line in about[resets[-1] + 1 if resets else 0 :] if "Restarted task" in line]
    story = "\n".join(about)
    assert set(held) == {"FAILED"}, f"task {task} left FAILED at the cap, but was seen {held}"
    assert len(since_reset) == CAP, story
    assert found["mm2_task_restarts_total"] == len(restart_lines(state, owner, name, task)), story
    assert f"{subject} failed again after {CAP} restarts, the maximum" in about[-1], story
    # What the alerts read: MirrorMakerTaskFailed's series and MirrorMakerTaskRestartsExhausted's.
    assert found["kafka_connect_connector_task_status{failed}"] == 1
    assert found["mm2_task_restarts_exhausted"] == 1

    # A deleted connector leaves no exhausted series behind to keep an alert firing.
    client.delete_connector(name)
    poll_until(
        lambda: series(owner, name, task),
        lambda left: "mm2_task_restarts_exhausted" not in left,
        timeout=60,
        what=f"the restart series of the deleted connector {name} to go",
    )
