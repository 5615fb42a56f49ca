"""Records really arrive: byte for byte, under the names the connector files ask for.

One module-scoped flow registers a source and a checkpoint connector from a connector tree (the
replication policy renames one topic through its map and another through its template), produces
a varied stream, and the tests check what the destination holds and what the metrics report.
"""

from __future__ import annotations

import random
import re
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

from connect.local_runtime import RuntimeState
from connect.polling import poll_until
from localkafka import clients
from localkafka.runtime import LocalRuntime
from providers.connector import ConnectorProvider
from tests.support import load_specs, provider_props, unique, write_tree

pytestmark = pytest.mark.runtime

PARTITIONS = 3
RECORDS = 600
GROUP_RECORDS = 1000
LATER_RECORDS = 100

# (partition, key, value, headers, (timestamp type, timestamp)) as confluent-kafka returns them.
Record = tuple[Any, ...]


@dataclass
class Flow:
    state: RuntimeState
    renamed: tuple[str, str]  # source topic -> its name on the destination (rename map)
    templated: tuple[str, str]  # source topic -> its name on the destination (template)
    grouped: tuple[str, str]  # topic whose consumer group offsets are translated
    group: str
    sent: dict[str, list[Record]]


def varied_records(seed: int) -> list[tuple[bytes | None, bytes | None, list[tuple[str, str | bytes | None]], int]]:
    """Keys, values and headers with every awkward byte, nulls, empties and duplicate header names."""
    rng = random.Random(seed)
    base = int(time.time() * 1000) - 3_600_000
    records = []
    for index in range(RECORDS):
        key = None if index % 50 == 0 else rng.randbytes(rng.randint(0, 40))
        value = None if index % 97 == 0 else rng.randbytes(rng.randint(0, 2000))
        every: list[tuple[str, str | bytes | None]] = [
            ("trace", rng.randbytes(16)),
            ("dup", b"\x00\xff"),
            ("dup", b""),
            ("null", None),
        ]
        headers = every[: index % 5]
        records.append((key, value, headers, base + index * 7))
    return records


def produce(state: RuntimeState, topic: str, seed: int) -> list[Record]:
    producer = clients.producer(state, "source")
    for index, (key, value, headers, timestamp) in enumerate(varied_records(seed)):
        producer.produce(
            topic, key=key, value=value, headers=headers, timestamp=timestamp, partition=index % PARTITIONS
        )
    assert producer.flush(30) == 0
    return read_all(state, "source", topic, RECORDS)


def read_all(state: RuntimeState, cluster: str, topic: str, count: int, timeout: float = 120) -> list[Record]:
    consumer = clients.consumer(state, cluster, unique("reader"))
    try:
        messages = clients.consume(consumer, [topic], count, timeout)
    finally:
        consumer.close()
    # Order matters within a partition only: sort by partition, then offset.
    return [
        (m.partition(), m.key(), m.value(), m.headers(), m.timestamp())
        for m in sorted(messages, key=lambda m: (m.partition(), m.offset()))
    ]


@pytest.fixture(scope="module")
def flow(runtime: LocalRuntime, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    state = runtime.state()
    renamed, templated, grouped = unique("orders"), unique("events"), unique("payments")
    group = unique("billing")
    clients.create_topics(state, "source", {renamed: PARTITIONS, templated: PARTITIONS, grouped: 1})
    sent = {renamed: produce(state, renamed, 1), templated: produce(state, templated, 2)}
    commit_group_offsets(state, grouped, group)

    root = write_tree(
        tmp_path_factory.mktemp("tree") / "connectors",
        {
            "_source.json": {
                "config": {
                    "replication.policy.topic.renames": f"{renamed}:{renamed}-replica,{grouped}:{grouped}-replica",
                    "replication.policy.topic.template": "${source}-${topic}",
                }
            },
            "data.json": {
                "config": {
                    "connector.class": "MirrorSourceConnector",
                    "topics": f"{renamed},{templated},{grouped}",
                    "tasks.max": 2,
                    # Frequent offset syncs make the translated group offsets precise.
                    "offset.lag.max": 10,
                }
            },
            "groups.json": {
                "config": {
                    "connector.class": "MirrorCheckpointConnector",
                    "groups": group,
                    "emit.checkpoints.interval.seconds": 1,
                    "sync.group.offsets.interval.seconds": 1,
                    "refresh.groups.interval.seconds": 5,
                }
            },
        },
    )
    provider = ConnectorProvider()
    outputs = [provider.create(provider_props(state, spec)).outs or {} for spec in load_specs(state, root)]
    yield Flow(
        state,
        (renamed, f"{renamed}-replica"),
        (templated, f"source-{templated}"),
        (grouped, f"{grouped}-replica"),
        group,
        sent,
    )
    for output in outputs:
        provider.delete(output["connector_name"], output)


def commit_group_offsets(state: RuntimeState, topic: str, group: str) -> None:
    """A consumer group reads all GROUP_RECORDS records on the source, commits, and leaves."""
    produce_sequence(state, topic, range(GROUP_RECORDS))
    consumer = clients.consumer(state, "source", group)
    messages = clients.consume(consumer, [topic], GROUP_RECORDS, 60)
    assert len(messages) == GROUP_RECORDS
    consumer.commit(offsets=[TopicPartition(topic, 0, GROUP_RECORDS)], asynchronous=False)
    consumer.close()


def produce_sequence(state: RuntimeState, topic: str, sequences: range) -> None:
    producer = clients.producer(state, "source")
    for sequence in sequences:
        producer.produce(topic, value=str(sequence).encode(), partition=0)
    assert producer.flush(30) == 0


def test_records_arrive_byte_for_byte_under_the_renamed_topic(flow: Flow) -> None:
    source_topic, destination_topic = flow.renamed
    arrived = read_all(flow.state, "destination", destination_topic, RECORDS)
    assert len(arrived) == RECORDS, f"{len(arrived)} of {RECORDS} records arrived on {destination_topic}"
    assert arrived == flow.sent[source_topic], "keys, values, headers, timestamps or order differ"


def test_template_names_the_other_topic(flow: Flow) -> None:
    source_topic, destination_topic = flow.templated
    arrived = read_all(flow.state, "destination", destination_topic, RECORDS)
    assert arrived == flow.sent[source_topic]
    names = clients.topic_names(flow.state, "destination")
    assert source_topic not in names, "the template should have renamed the topic, not kept its name"


def test_consumer_group_offsets_are_translated_onto_the_renamed_topic(flow: Flow) -> None:
    """A consumer that moves to the destination resumes where it stopped on the source.

    MirrorMaker 2 translates a group's offset from the nearest offset sync at or before it, so a
    group that had caught up (as a live consumer has) translates exactly; one far behind the live
    end would translate to an earlier offset and re-read records, but never skip one.
    """
    source_topic, destination_topic = flow.grouped
    admin = clients.admin(flow.state, "destination")

    def translated_offset() -> int:
        request = ConsumerGroupTopicPartitions(flow.group, [TopicPartition(destination_topic, 0)])
        result = admin.list_consumer_group_offsets([request])[flow.group].result()
        offset = int(result.topic_partitions[0].offset)
        return offset if offset >= GROUP_RECORDS else 0  # the end, give or take transaction markers

    poll_until(
        translated_offset, timeout=120, what=f"group {flow.group} offsets on {destination_topic} to reach the end"
    )
    produce_sequence(flow.state, source_topic, range(GROUP_RECORDS, GROUP_RECORDS + LATER_RECORDS))
    consumer = clients.consumer(flow.state, "destination", flow.group)
    try:
        messages = clients.consume(consumer, [destination_topic], LATER_RECORDS, 60)
    finally:
        consumer.close()
    sequences = [int(m.value()) for m in messages]  # type: ignore[arg-type]
    assert sequences == list(range(GROUP_RECORDS, GROUP_RECORDS + LATER_RECORDS)), (
        f"resumed at {sequences[:1]} instead of {GROUP_RECORDS}, read {len(sequences)} records"
    )


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


def test_metrics_endpoint_reports_mirror_metrics_per_topic_partition(flow: Flow) -> None:
    _, destination_topic = flow.renamed
    wanted = ("record_count", "replication_latency_ms_max", "record_age_ms_max", "byte_rate")

    def samples() -> dict[str, float]:
        found: dict[str, float] = {}
        for worker in flow.state.workers:
            for line in scrape(worker.metrics_url).splitlines():
                match = re.match(r"^kafka_connect_mirror_source_connector_(\w+)\{([^}]*)\} (\S+)$", line)
                if (
                    match
                    and f'topic="{destination_topic}"' in match[2]
                    and 'source="source"' in match[2]
                    and 'target="destination"' in match[2]
                    and 'partition="0"' in match[2]
                ):
                    found[match[1]] = float(match[3])
        return found if all(name in found for name in wanted) else {}

    found = poll_until(samples, timeout=60, what=f"MirrorMaker metrics for {destination_topic} partition 0")
    assert found["record_count"] >= RECORDS / PARTITIONS
    assert found["replication_latency_ms_max"] >= 0
