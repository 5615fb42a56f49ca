"""Records the source deleted before they were mirrored: `status` exits 2 and counts them exactly.

A connector is stopped, its topic (tiny retention: segments roll every 100 ms and expire after
100 ms) gets records until the broker's retention check deletes them, and `status` reports the
gap before the connector resumes. Resumed, MirrorMaker 2 starts at the log start and says
nothing; the destination then holds exactly the records that were not reported lost.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from confluent_kafka import TopicPartition

from connect.local_runtime import RuntimeState
from connect.polling import poll_until
from connect.rest import ConnectClient
from localkafka import clients
from localkafka.runtime import LocalRuntime
from tests.migration.docs import record_rehearsal
from tests.migration.support import Run, mm2ctl
from tests.support import load_specs, unique, write_tree

pytestmark = pytest.mark.runtime

MIRRORED_FIRST = 100
WHILE_STOPPED = 2_000
AFTER_DELETION = 50
TINY_RETENTION = {"segment.ms": "100", "retention.ms": "100", "file.delete.delay.ms": "0"}
# The local brokers check retention every log.retention.check.interval.ms, 15 s (Kafka's default: 5 minutes).
DELETION_SECONDS = 120


def test_records_deleted_before_they_were_mirrored_are_reported_lost(
    migration_runtime: LocalRuntime, tmp_path: Path
) -> None:
    state = migration_runtime.state()
    topic = unique("gappy")
    clients.create_topics(state, "source", {topic: 1}, TINY_RETENTION)
    root = write_tree(
        tmp_path / "connectors",
        {
            f"{topic}.json": {
                "config": {
                    "connector.class": "MirrorSourceConnector",
                    "topics": topic,
                    "tasks.max": 1,
                    # MirrorMaker 2 copies topic configs: the destination must keep what it mirrored.
                    "config.properties.exclude": ",".join(TINY_RETENTION),
                }
            }
        },
    )
    (spec,) = load_specs(state, root)
    runs: list[tuple[str, Run]] = []
    with ConnectClient(migration_runtime.connect_endpoint()) as connect:
        connect.create_connector(spec.name, spec.config)
        try:
            _produce(state, topic, MIRRORED_FIRST)
            poll_until(
                lambda: _destination_count(state, topic),
                lambda n: n == MIRRORED_FIRST,
                timeout=120,
                what=f"{MIRRORED_FIRST} records of {topic} mirrored",
            )
            connect.set_state(spec.name, "stopped")
            poll_until(
                lambda: connect.connector_status(spec.name),
                lambda s: s is not None and s["connector"]["state"] == "STOPPED",
                timeout=60,
                what=f"connector {spec.name} stopped",
            )

            # While the connector is stopped, every record is written and then deleted by retention.
            for _ in range(20):
                _produce(state, topic, WHILE_STOPPED // 20)
                time.sleep(0.2)  # the next batch starts a new segment (segment.ms)
            end = MIRRORED_FIRST + WHILE_STOPPED
            poll_until(
                lambda: _log_start(state, topic),
                lambda start: start == end,
                timeout=DELETION_SECONDS,
                what=f"retention to delete {topic} up to offset {end}",
            )
            _produce(state, topic, AFTER_DELETION)

            lost = mm2ctl(migration_runtime, "status", "--json")
            assert lost.status == 2, lost.shown()
            (row,) = [p for p in lost.json()["report"]["partitions"] if p["topic"] == topic]
            assert (row["resume"], row["log_start"], row["lost"], row["behind"]) == (
                MIRRORED_FIRST,
                end,
                WHILE_STOPPED,
                AFTER_DELETION,
            )
            assert lost.json()["verdict"].startswith(f"RECORDS LOST: {WHILE_STOPPED:,} records"), lost.json()["verdict"]
            shown = mm2ctl(migration_runtime, "status", "--source", "source")
            assert shown.status == 2 and shown.last_line.startswith("RECORDS LOST"), shown.shown()
            runs.append(("status while the connector is stopped, after retention deleted records", shown))

            # Resumed, MirrorMaker 2 carries on from the log start: exactly the reported records never arrive.
            connect.set_state(spec.name, "running")
            produced = MIRRORED_FIRST + WHILE_STOPPED + AFTER_DELETION
            arrived = poll_until(
                lambda: _destination_count(state, topic),
                lambda n: n == MIRRORED_FIRST + AFTER_DELETION,
                timeout=120,
                what=f"{topic}'s remaining records mirrored",
            )
            assert produced - arrived == row["lost"]
        finally:
            connect.delete_connector(spec.name)
    record_rehearsal(
        runs,
        {"records produced": produced, "records mirrored": arrived, "records lost, as status reported": row["lost"]},
        block="gap",
    )


def _produce(state: RuntimeState, topic: str, count: int) -> None:
    producer = clients.producer(state, "source")
    for index in range(count):
        producer.produce(topic, value=b"g%d" % index, partition=0)
    assert producer.flush(30) == 0


def _log_start(state: RuntimeState, topic: str) -> int:
    consumer = clients.consumer(state, "source", unique("watermarks"))
    try:
        low, _ = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        return int(low)
    finally:
        consumer.close()


def _destination_count(state: RuntimeState, topic: str) -> int:
    """Records (not offsets: exactly-once markers are offsets too) in the mirrored topic."""
    if topic not in clients.topic_names(state, "destination"):
        return 0
    consumer = clients.consumer(state, "destination", unique("count"))
    try:
        return len(clients.consume(consumer, [topic], 1_000_000, timeout=10))
    finally:
        consumer.close()
