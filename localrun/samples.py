"""Produce traced sample records on the source and find them on the destination.

Every record carries the run's id and its source topic in headers, so the destination topic it
lands in is found by reading, not assumed: that is the proof that records arrive under the names
the connector files ask for.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from confluent_kafka import TopicPartition

from connect.local_runtime import RuntimeState
from localkafka import clients

RUN_HEADER = "mm2-eks-run"
TOPIC_HEADER = "mm2-eks-source-topic"
# Topics of Connect and MirrorMaker 2 themselves, not mirrored data.
INTERNAL_PREFIXES = ("__", "mm2-", "heartbeats")
INTERNAL_SUFFIXES = (".internal", ".heartbeats")


@dataclass
class TopicReport:
    source_topic: str
    produced: int
    destinations: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def arrived(self) -> int:
        return sum(self.destinations.values())


def data_topics(names: Iterable[str]) -> list[str]:
    return sorted(n for n in names if not n.startswith(INTERNAL_PREFIXES) and not n.endswith(INTERNAL_SUFFIXES))


def end_offsets(state: RuntimeState, topics: list[str]) -> dict[TopicPartition, int]:
    consumer = clients.consumer(state, "destination", f"mm2-eks-offsets-{uuid.uuid4()}")
    metadata = clients.admin(state, "destination").list_topics(timeout=10).topics
    try:
        return {
            TopicPartition(topic, partition): consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=10
            )[1]
            for topic in topics
            for partition in metadata[topic].partitions
        }
    finally:
        consumer.close()


def produce(state: RuntimeState, topics: dict[str, int], per_topic: int, run_id: str) -> None:
    """`per_topic` records to each source topic, in small batches, as live traffic comes."""
    producer = clients.producer(state, "source")
    for index in range(per_topic):
        for topic in topics:
            headers: list[tuple[str, str | bytes | None]] = [
                (RUN_HEADER, run_id.encode()),
                (TOPIC_HEADER, topic.encode()),
            ]
            producer.produce(
                topic, key=str(index).encode(), value=f"sample {index} of {topic}".encode(), headers=headers
            )
        if index % 50 == 49:
            producer.flush(10)
            time.sleep(0.05)  # a steady trickle, as live traffic is, rather than one burst
    producer.flush(30)


def trace(
    state: RuntimeState,
    start: dict[TopicPartition, int],
    reports: dict[str, TopicReport],
    run_id: str,
    timeout: float,
    reading: threading.Event,
) -> None:
    """Read every data topic of the destination from `start` until all samples of this run arrived.

    `reading` is set once the first fetch has returned: the consumer is connected and positioned,
    so records produced from then on measure MirrorMaker's latency, not the reader's start-up.
    """
    expected = sum(report.produced for report in reports.values())
    # A short fetch wait: librdkafka's default (500 ms) would add to the latency we report.
    consumer = clients.consumer(state, "destination", f"mm2-eks-trace-{run_id}", **{"fetch.wait.max.ms": 10})
    consumer.assign([TopicPartition(tp.topic, tp.partition, offset) for tp, offset in start.items()])
    seen = 0
    deadline = time.monotonic() + timeout
    try:
        while seen < expected and time.monotonic() < deadline:
            batch = consumer.consume(num_messages=1000, timeout=0.5)
            reading.set()
            for message in batch:
                if message.error():
                    continue
                headers = dict(message.headers() or [])
                if headers.get(RUN_HEADER) != run_id.encode():
                    continue
                report = reports[headers[TOPIC_HEADER].decode()]  # type: ignore[union-attr]
                topic = str(message.topic())
                report.destinations[topic] = report.destinations.get(topic, 0) + 1
                report.latencies_ms.append(time.time() * 1000 - message.timestamp()[1])
                seen += 1
    finally:
        reading.set()  # never leave the producing side waiting, even if the reader failed
        consumer.close()


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def latency_summary(reports: Iterable[TopicReport]) -> str:
    values = [v for report in reports for v in report.latencies_ms]
    if not values:
        return "no record arrived"
    return (
        f"p50 {statistics.median(values):.0f} ms, p99 {percentile(values, 0.99):.0f} ms, "
        f"max {max(values):.0f} ms over {len(values)} records"
    )
