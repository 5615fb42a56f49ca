"""Faults while mirroring: every record must arrive; duplicates are counted (zero with exactly-once).

Each test streams sequence-numbered records into a source topic while it breaks something (a
worker, a broker), then reads the whole mirrored topic and checks every sequence number. Measured
outcomes go to .local/fault-outcomes.json for docs/reliability.md. Each test puts the shared
runtime back as it found it.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from connect.local_runtime import RuntimeState, connect_endpoint
from connect.polling import poll_until
from connect.rest import ConnectClient
from localkafka import clients
from localkafka.runtime import LocalRuntime
from localkafka.worker import LOCAL_REBALANCE_DELAY_MS
from providers.connector import ConnectorProvider
from tests.faults.streams import Outcome, SequenceProducer, arrival, record_outcome
from tests.support import load_specs, provider_props, unique, write_tree

pytestmark = pytest.mark.runtime

RECORDS = 200_000
PARTITIONS = 4
# Records/s of the stream that runs through broker restarts.
STREAM_RATE = 5_000
LEADER_MOVING = {KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE}


@pytest.fixture
def exactly_once_off(runtime: LocalRuntime) -> Iterator[None]:
    runtime.restart_workers(exactly_once=False)
    try:
        yield
    finally:
        runtime.restart_workers(exactly_once=True)


def start_mirror(state: RuntimeState, tmp_path: Path, topic: str) -> dict[str, Any]:
    clients.create_topics(state, "source", {topic: PARTITIONS})
    files = {
        f"{topic}.json": {
            "config": {"connector.class": "MirrorSourceConnector", "topics": topic, "tasks.max": PARTITIONS}
        }
    }
    [spec] = load_specs(state, write_tree(tmp_path / "connectors", files), exactly_once=state.exactly_once)
    return ConnectorProvider().create(provider_props(state, spec)).outs or {}


def mirrored_count(state: RuntimeState, topic: str) -> int:
    """Records on the destination topic (end offsets; transaction markers make it an upper bound)."""
    if topic not in clients.topic_names(state, "destination"):
        return 0
    consumer = clients.consumer(state, "destination", "watermarks")

    def end_offsets() -> int | None:
        try:
            ends = (consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(PARTITIONS))
            return sum(ends)
        except KafkaException as error:
            # Just after a broker restart a partition can be between leaders for a moment.
            if error.args[0].code() in LEADER_MOVING:
                return None
            raise

    try:
        counted = poll_until(end_offsets, lambda count: count is not None, timeout=60, what=f"end offsets of {topic!r}")
        assert counted is not None
        return counted
    finally:
        consumer.close()


def task_workers(client: ConnectClient, name: str) -> list[str]:
    status = client.connector_status(name) or {"tasks": []}
    return [task["worker_id"] for task in status["tasks"] if task["state"] == "RUNNING"]


def kill_worker_mid_stream(runtime: LocalRuntime, tmp_path: Path, exactly_once: bool) -> None:
    state = runtime.state()
    topic = unique("killed-worker")
    outputs = start_mirror(state, tmp_path, topic)
    name = outputs["connector_name"]
    by_worker = {
        w.index: sum(1 for t in outputs["tasks"] if t["worker_id"].endswith(f":{w.rest_port}")) for w in state.workers
    }
    victim = max(by_worker, key=lambda index: by_worker[index])
    survivor = next(w for w in state.workers if w.index != victim)
    client = ConnectClient(connect_endpoint(state, survivor.index))

    producer = SequenceProducer(state, topic, RECORDS, PARTITIONS)
    producer.start()
    poll_until(
        lambda: mirrored_count(state, topic) >= RECORDS // 5, timeout=120, what="a fifth of the records to be mirrored"
    )
    killed_at = time.monotonic()
    runtime.kill_worker(victim, signal.SIGKILL)
    survivor_id = f"127.0.0.1:{survivor.rest_port}"
    poll_until(
        lambda: task_workers(client, name) == [survivor_id] * PARTITIONS,
        timeout=120,
        what="tasks to move to the survivor",
    )
    recovery = time.monotonic() - killed_at
    producer.join(300)
    assert producer.error is None, producer.error

    result = arrival(state, topic, range(RECORDS), read_committed=exactly_once)
    runtime.start_worker(victim)
    ConnectorProvider().delete(name, outputs)
    record_outcome(
        Outcome(
            fault=f"SIGKILL one of two Connect workers mid-stream (exactly-once {'on' if exactly_once else 'off'})",
            checked=f"{RECORDS} sequence-numbered records, every one read back "
            f"({'read_committed' if exactly_once else 'read_uncommitted'} consumer)",
            records=RECORDS,
            lost=result.lost,
            duplicates=result.duplicates,
            recovery_seconds=round(recovery, 1),
            notes={"rebalance_delay_ms": LOCAL_REBALANCE_DELAY_MS, "tasks_on_killed_worker": by_worker[victim]},
        )
    )
    assert result.missing == [], f"lost {result.lost} records, e.g. {result.missing}"
    if exactly_once:
        assert result.duplicates == 0, f"{result.duplicates} duplicates despite exactly-once"
    # Session timeout (10 s) + scheduled.rebalance.max.delay.ms + start-up: well under a minute.
    assert recovery < 60, f"tasks took {recovery:.0f}s to move"


def test_sigkill_worker_mid_stream_loses_nothing(runtime: LocalRuntime, tmp_path: Path, exactly_once_off: None) -> None:
    kill_worker_mid_stream(runtime, tmp_path, exactly_once=False)


def test_sigkill_worker_mid_stream_with_exactly_once_has_no_duplicates(runtime: LocalRuntime, tmp_path: Path) -> None:
    assert runtime.state().exactly_once
    kill_worker_mid_stream(runtime, tmp_path, exactly_once=True)


def test_source_then_destination_broker_restart_loses_nothing(runtime: LocalRuntime, tmp_path: Path) -> None:
    state = runtime.state()
    topic = unique("broker-restart")
    outputs = start_mirror(state, tmp_path, topic)
    # A paced stream that lasts until both restarts are over: a backlog produced at full speed
    # can be mirrored completely before the first broker goes down, and then nothing is tested.
    producer = SequenceProducer(state, topic, None, PARTITIONS, rate=STREAM_RATE)
    producer.start()

    poll_until(
        lambda: mirrored_count(state, topic) >= STREAM_RATE * 4, timeout=120, what="four seconds of the stream mirrored"
    )
    runtime.restart_broker("source", down_seconds=5)
    before = mirrored_count(state, topic)
    poll_until(
        lambda: mirrored_count(state, topic) > before, timeout=120, what="mirroring to resume after the source restart"
    )
    runtime.restart_broker("destination", down_seconds=5)
    back_at = time.monotonic()
    before = mirrored_count(state, topic)
    poll_until(
        lambda: mirrored_count(state, topic) > before,
        timeout=180,
        what="mirroring to resume after the destination restart",
    )
    resumed = time.monotonic() - back_at
    produced = producer.stop()
    assert producer.error is None, producer.error

    result = arrival(state, topic, produced)
    with ConnectClient(connect_endpoint(state)) as client:
        status = client.connector_status(outputs["connector_name"])
    ConnectorProvider().delete(outputs["connector_name"], outputs)
    record_outcome(
        Outcome(
            fault="Restart the source broker, then the destination broker, mid-stream (5 s down each)",
            checked=f"a stream at {STREAM_RATE} records/s through both restarts, every record read back "
            "(read_committed); no manual action",
            records=len(produced),
            lost=result.lost,
            duplicates=result.duplicates,
            recovery_seconds=round(resumed, 1),
            notes={"task_states_after": [t["state"] for t in (status or {}).get("tasks", [])]},
        )
    )
    assert result.missing == [], f"lost {result.lost} records, e.g. {result.missing}"
    assert result.duplicates == 0


def test_both_workers_killed_resume_from_committed_offsets(runtime: LocalRuntime, tmp_path: Path) -> None:
    state = runtime.state()
    topic = unique("all-workers")
    first, second = RECORDS // 2, RECORDS // 4
    outputs = start_mirror(state, tmp_path, topic)
    producer = SequenceProducer(state, topic, first, PARTITIONS)
    producer.start()
    producer.join(300)
    assert arrival(state, topic, range(first)).missing == []

    for worker in state.workers:
        runtime.kill_worker(worker.index, signal.SIGKILL)
    producer = SequenceProducer(state, topic, second, PARTITIONS, start=first)
    producer.start()
    producer.join(300)
    restarted_at = time.monotonic()
    for worker in state.workers:
        runtime.start_worker(worker.index)
    result = arrival(state, topic, range(first + second))
    caught_up = time.monotonic() - restarted_at
    ConnectorProvider().delete(outputs["connector_name"], outputs)
    record_outcome(
        Outcome(
            fault="SIGKILL both workers, produce while they are down, start them again",
            checked=f"{first + second} records read back (read_committed): the first {first} before the kill",
            records=first + second,
            lost=result.lost,
            duplicates=result.duplicates,
            recovery_seconds=round(caught_up, 1),
        )
    )
    assert result.missing == []
    # Resuming from the start would duplicate the first half; committed offsets duplicate nothing.
    assert result.duplicates == 0
