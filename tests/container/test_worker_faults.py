"""A worker container killed or stopped mid-stream, as Kubernetes kills and stops pods.

SIGKILL (a node's OOM killer, a crashed JVM): the kubelet restarts the container in place (same
pod, same IP), and with exactly-once on not one record is lost or written twice. SIGTERM (a
rollout, a node drain): `podman stop` waits the Deployment's terminationGracePeriodSeconds before
it kills, as the kubelet does; the worker must stop cleanly before that, and the stream goes on
through the stop and the start again without loss or duplicates.

Outcomes go to .local/fault-outcomes.json (tests/faults/streams.py) beside the local runtime's.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from connect.polling import poll_until
from connect.rest import ConnectClient
from localkafka import clients
from localkafka.connect_log import ConnectLog
from providers.connector import ConnectorProvider
from tests.container.conftest import Workers
from tests.container.pods import WorkerPod
from tests.faults.streams import Outcome, SequenceProducer, arrival, record_outcome
from tests.faults.test_mirroring_faults import mirrored_count, task_workers
from tests.support import unique
from workload import image_layout

RECORDS = 100_000
PARTITIONS = 4
# Records/s of the stream that runs through a stop and a start.
STREAM_RATE = 2_000
# What the JVM exits with after SIGTERM once its shutdown hooks ran (128 + 15); 137 would mean
# podman had to SIGKILL it when the grace period ran out.
SIGTERM_EXIT = 143


def start_mirror(workers: Workers, project: Path, topic: str) -> dict[str, Any]:
    clients.create_topics(workers.state, "source", {topic: PARTITIONS})
    files = {
        f"{topic}.json": {
            "config": {"connector.class": "MirrorSourceConnector", "topics": topic, "tasks.max": PARTITIONS}
        }
    }
    [spec] = workers.connector_specs(project, files)
    outputs = ConnectorProvider().create(workers.provider_props(spec)).outs
    assert outputs is not None
    return outputs


def busiest_pod(workers: Workers, outputs: dict[str, Any]) -> tuple[WorkerPod, WorkerPod]:
    """(the pod running most of the connector's tasks, another one)."""

    def tasks_on(pod: WorkerPod) -> int:
        return sum(1 for task in outputs["tasks"] if task["worker_id"] == f"{pod.ip}:{image_layout.REST_PORT}")

    victim = max(workers.pods, key=tasks_on)
    return victim, next(pod for pod in workers.pods if pod is not victim)


def all_tasks_running(workers: Workers, survivor: WorkerPod, name: str) -> None:
    with ConnectClient(survivor.endpoint(workers.rest_username, workers.rest_password)) as client:
        poll_until(
            lambda: len(task_workers(client, name)),
            lambda running: running == PARTITIONS,
            timeout=180,
            what=f"all {PARTITIONS} tasks of {name} to run again",
        )


def test_a_killed_worker_container_loses_and_duplicates_nothing(workers: Workers, tmp_path: Path) -> None:
    assert workers.settings.connect.exactly_once
    state = workers.state
    topic = unique("killed-container")
    outputs = start_mirror(workers, tmp_path, topic)
    name = outputs["connector_name"]
    victim, survivor = busiest_pod(workers, outputs)

    producer = SequenceProducer(state, topic, RECORDS, PARTITIONS)
    producer.start()
    poll_until(
        lambda: mirrored_count(state, topic) >= RECORDS // 5, timeout=180, what="a fifth of the records to be mirrored"
    )
    killed_at = time.monotonic()
    victim.kill()
    # restartPolicy Always: the kubelet starts the killed container again in the same pod.
    victim.wait_until_ready(victim.start())
    all_tasks_running(workers, survivor, name)
    recovery = time.monotonic() - killed_at
    producer.join(300)
    assert producer.error is None, producer.error

    result = arrival(state, topic, range(RECORDS), read_committed=True)
    ConnectorProvider().delete(name, outputs)
    record_outcome(
        Outcome(
            fault="SIGKILL one of two worker containers mid-stream, restarted in place (exactly-once on)",
            checked=f"{RECORDS} sequence-numbered records through the image's containers, every one read back "
            "(read_committed consumer)",
            records=RECORDS,
            lost=result.lost,
            duplicates=result.duplicates,
            recovery_seconds=round(recovery, 1),
            notes={"rebalance_delay_ms": workers.settings.connect.rebalance_delay_ms, "platform": "container"},
        )
    )
    workers.measured["sigkill_recovery_seconds"] = round(recovery, 1)
    assert result.missing == [], f"lost {result.lost} records, e.g. {result.missing}"
    assert result.duplicates == 0, f"{result.duplicates} duplicates despite exactly-once"


def test_sigterm_stops_a_worker_cleanly_within_the_grace_period(workers: Workers, tmp_path: Path) -> None:
    state = workers.state
    topic = unique("stopped-container")
    outputs = start_mirror(workers, tmp_path, topic)
    name = outputs["connector_name"]
    victim, survivor = busiest_pod(workers, outputs)
    log = ConnectLog(files=[victim.placement.log_file])

    producer = SequenceProducer(state, topic, None, PARTITIONS, rate=STREAM_RATE)
    producer.start()
    poll_until(
        lambda: mirrored_count(state, topic) >= STREAM_RATE * 3,
        timeout=120,
        what="three seconds of the stream mirrored",
    )
    mark = log.mark()
    stop_seconds = victim.stop()
    exit_code = victim.state()["ExitCode"]
    stopped_lines = log.lines_since(mark)
    victim.wait_until_ready(victim.start())
    all_tasks_running(workers, survivor, name)
    produced = producer.stop()
    assert producer.error is None, producer.error

    result = arrival(state, topic, produced, read_committed=True)
    ConnectorProvider().delete(name, outputs)
    grace = workers.workload.deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    record_outcome(
        Outcome(
            fault="SIGTERM one of two worker containers mid-stream (podman stop, the Deployment's grace period), "
            "started again",
            checked=f"a stream at {STREAM_RATE} records/s through the stop and the start, every record read back "
            "(read_committed consumer)",
            records=len(produced),
            lost=result.lost,
            duplicates=result.duplicates,
            notes={"stop_seconds": round(stop_seconds, 1), "grace_seconds": grace, "exit_code": exit_code},
        )
    )
    workers.measured["sigterm_stop_seconds"] = round(stop_seconds, 1)
    assert exit_code == SIGTERM_EXIT, (
        f"exit code {exit_code}: the worker did not stop on SIGTERM within the {grace}s grace period"
    )
    assert any("Kafka Connect stopped" in line for line in stopped_lines), "\n".join(stopped_lines[-20:])
    assert result.missing == [], f"lost {result.lost} records, e.g. {result.missing}"
    assert result.duplicates == 0, f"{result.duplicates} duplicates despite exactly-once"
