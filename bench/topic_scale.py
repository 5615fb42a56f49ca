"""Mirroring at migration scale: one regex source connector over hundreds of topics.

For each size (say 50, 200 and 500 topics of 4 partitions), on the workers every stack runs (tuned,
exactly-once):
- the source topics are filled first, `records_per_partition` records in each partition;
- one connector whose `topics` is a regular expression selecting all of them is created, as a
  connector file becomes it (connect/connector_defaults.py), and timed: until its tasks run, until
  MirrorMaker 2 has created every destination topic, and until the source offsets of every record
  are committed;
- every destination partition is then read to its end (read_committed) and its records counted
  against the source partition's: every record of every topic arrives, exactly once;
- the worker's heap, threads and CPU while mirroring, and its CPU over an idle minute afterwards
  (what watching that many topics costs when nothing moves).
At the largest size, topics created on the source while the connector runs are timed from their
creation to their first record on the destination, with `refresh.topics.interval.seconds` at our
default and at a lower candidate value; the idle minute is measured at both, for what the lower
value costs.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Iterable
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from bench import jvm
from bench.common import log
from bench.cpu import CpuMeter, efficiency
from bench.mirroring import use_profile
from bench.profiles import TUNED, tuned_config
from connect.connector_defaults import SOURCE
from connect.local_runtime import RuntimeState, connect_endpoint
from connect.polling import poll_until
from connect.rest import ConnectClient
from localkafka import clients
from localkafka.runtime import LocalRuntime

DEFAULT_REFRESH_SECONDS = int(SOURCE["refresh.topics.interval.seconds"])
TOPIC_CREATE_BATCH = 100
WATERMARK_SECONDS = 10


def run_scale(
    runtime: LocalRuntime,
    sizes: Iterable[int],
    partitions: int,
    records_per_partition: int,
    record_size: int,
    idle_seconds: int,
    refresh_intervals: tuple[int, ...],
    new_topic_samples: int,
) -> list[dict[str, Any]]:
    """One row per size; the largest also carries the new-topic timings at each refresh interval."""
    sizes = sorted(sizes)
    rows = []
    for topics in sizes:
        log(f"scale: one regex connector over {topics} topics x {partitions} partitions")
        rows.append(
            mirror_many_topics(
                runtime,
                topics,
                partitions,
                records_per_partition,
                record_size,
                idle_seconds,
                refresh_intervals if topics == sizes[-1] else (),
                new_topic_samples,
            )
        )
    return rows


def mirror_many_topics(
    runtime: LocalRuntime,
    topics: int,
    partitions: int,
    records_per_partition: int,
    record_size: int,
    idle_seconds: int,
    refresh_intervals: tuple[int, ...],
    new_topic_samples: int,
) -> dict[str, Any]:
    state = use_profile(runtime, TUNED)
    prefix = f"scale-{uuid.uuid4().hex[:6]}-"
    names = [f"{prefix}{index:04d}" for index in range(topics)]
    _create(state, "source", names, partitions)
    _fill(state, names, partitions, records_per_partition, record_size)
    expected = _end_offsets(state, "source", names, partitions)
    total = sum(expected.values())
    connector = f"bench-{prefix}all"
    config = tuned_config(state, f"{prefix}.*", exactly_once=True)
    row: dict[str, Any] = {
        "topics": topics,
        "partitions": topics * partitions,
        "records": total,
        "record_size": record_size,
        "tasks": int(config["tasks.max"]),
    }
    created: list[str] = []
    with ConnectClient(connect_endpoint(state, deadline_seconds=120)) as client:
        try:
            with CpuMeter(state) as cpu:
                started = time.monotonic()
                client.create_connector(connector, config)
                poll_until(lambda: _tasks_running(client, connector), timeout=600, interval=0.25, what="tasks to run")
                row["tasks_running_seconds"] = round(time.monotonic() - started, 2)
                poll_until(
                    lambda: set(names) <= clients.topic_names(state, "destination"),
                    timeout=600,
                    interval=0.5,
                    what=f"MirrorMaker 2 to create the {topics} destination topics",
                )
                row["topics_created_seconds"] = round(time.monotonic() - started, 2)
                poll_until(
                    lambda: _committed(client, connector) >= total,
                    timeout=3600,
                    interval=1.0,
                    what=f"the source offsets of all {total} records to be committed",
                )
                row["mirrored_seconds"] = round(time.monotonic() - started, 2)
            report = cpu.report()
            megabytes = total * record_size / 1_048_576
            row |= {"mirroring_cpu": report, **efficiency(megabytes, report["cpu_seconds"])}
            row["records_per_second"] = round(total / row["mirrored_seconds"])
            row["arrivals"] = _compare(expected, _count_records(state, names, partitions, total))
            row["worker"] = jvm.heap(state.workers[0].pid)
            row["idle"] = {DEFAULT_REFRESH_SECONDS: _idle_cpu(state, idle_seconds)}
            for interval in refresh_intervals:
                if interval != DEFAULT_REFRESH_SECONDS:
                    _set_refresh(client, connector, config, interval)
                    row["idle"][interval] = _idle_cpu(state, idle_seconds)
                row.setdefault("new_topic", {})[interval] = _new_topic_delays(
                    state, prefix, partitions, new_topic_samples, created
                )
        finally:
            client.delete_connector(connector)
            for cluster in ("source", "destination"):
                _delete(state, cluster, names + created)
    return row


def _create(state: RuntimeState, cluster: str, names: list[str], partitions: int) -> None:
    for start in range(0, len(names), TOPIC_CREATE_BATCH):
        clients.create_topics(state, cluster, dict.fromkeys(names[start : start + TOPIC_CREATE_BATCH], partitions))


def _delete(state: RuntimeState, cluster: str, names: list[str]) -> None:
    for start in range(0, len(names), TOPIC_CREATE_BATCH):
        clients.delete_topics(state, cluster, names[start : start + TOPIC_CREATE_BATCH])


def _fill(state: RuntimeState, names: list[str], partitions: int, records: int, record_size: int) -> None:
    producer = clients.producer(state, "source", **{"linger.ms": 20, "batch.size": 262144})
    payload = b"x" * record_size
    for sequence in range(records):
        for topic in names:
            for partition in range(partitions):
                producer.produce(topic, value=payload, partition=partition)
        producer.poll(0)
        if sequence % 20 == 0:
            producer.flush(60)  # keeps librdkafka's queue bounded
    remaining = producer.flush(120)
    assert remaining == 0, f"{remaining} records undelivered to the source topics"


def _end_offsets(state: RuntimeState, cluster: str, names: list[str], partitions: int) -> dict[tuple[str, int], int]:
    consumer = clients.consumer(state, cluster, f"bench-scale-{uuid.uuid4().hex[:6]}")
    try:
        return {
            (topic, partition): consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=WATERMARK_SECONDS
            )[1]
            for topic in names
            for partition in range(partitions)
        }
    finally:
        consumer.close()


def _count_records(state: RuntimeState, names: list[str], partitions: int, total: int) -> dict[tuple[str, int], int]:
    """Every committed record of every destination partition, read to the partition's end."""
    ends = _end_offsets(state, "destination", names, partitions)
    consumer = clients.consumer(state, "destination", f"bench-scale-count-{uuid.uuid4().hex[:6]}")
    counts = dict.fromkeys(ends, 0)
    try:
        consumer.assign([TopicPartition(topic, partition, 0) for topic, partition in ends])

        def read_to_ends() -> bool:
            for message in consumer.consume(num_messages=10_000, timeout=1.0):
                if message.error() is None:
                    counts[(str(message.topic()), int(message.partition() or 0))] += 1
            if sum(counts.values()) < total:
                return False
            # With exactly-once the last offsets are commit markers: read until each position passes them.
            written = [TopicPartition(topic, partition) for (topic, partition), end in ends.items() if end > 0]
            return all(p.offset >= ends[(p.topic, p.partition)] for p in consumer.position(written))

        poll_until(read_to_ends, timeout=600, interval=0.0, what=f"every record of {len(names)} destination topics")
    finally:
        consumer.close()
    return counts


def _compare(expected: dict[tuple[str, int], int], counted: dict[tuple[str, int], int]) -> dict[str, Any]:
    short = {f"{t}/{p}": (counted.get((t, p), 0), n) for (t, p), n in expected.items() if counted.get((t, p), 0) < n}
    extra = {f"{t}/{p}": (counted[(t, p)], n) for (t, p), n in expected.items() if counted.get((t, p), 0) > n}
    return {
        "partitions_checked": len(expected),
        "records_expected": sum(expected.values()),
        "records_counted": sum(counted.values()),
        "partitions_short": len(short),
        "partitions_with_duplicates": len(extra),
        "examples": dict(list(short.items())[:5] + list(extra.items())[:5]),
    }


def _tasks_running(client: ConnectClient, name: str) -> bool:
    status = client.connector_status(name) or {}
    tasks = status.get("tasks", [])
    return bool(tasks) and all(task.get("state") == "RUNNING" for task in tasks)


def _committed(client: ConnectClient, name: str) -> int:
    return sum(int(entry["offset"]["offset"]) + 1 for entry in client.connector_offsets(name))


def _idle_cpu(state: RuntimeState, seconds: int) -> dict[str, Any]:
    """CPU seconds per minute of every process while the connector runs and no record moves."""
    time.sleep(5)  # the last commit and task reconfiguration settle
    with CpuMeter(state) as cpu:
        time.sleep(seconds)
    report = cpu.report()
    per_minute = {name: round(value * 60 / seconds, 2) for name, value in report["cpu_seconds"].items()}
    return {"seconds": seconds, "cpu_seconds_per_minute": per_minute, "machine_busy": report["machine_busy"]}


def _set_refresh(client: ConnectClient, name: str, config: dict[str, str], interval: int) -> None:
    client.put_connector_config(name, {**config, "refresh.topics.interval.seconds": str(interval)})
    time.sleep(5)  # the old tasks stop before the new ones are looked for
    poll_until(lambda: _tasks_running(client, name), timeout=600, interval=0.5, what="tasks to run again")


def _new_topic_delays(
    state: RuntimeState, prefix: str, partitions: int, samples: int, created: list[str]
) -> dict[str, Any]:
    """Seconds from a new source topic's creation (with one record in each partition) to its first
    record on the destination, `samples` times in a row."""
    delays = []
    for _ in range(samples):
        topic = f"{prefix}new-{uuid.uuid4().hex[:6]}"
        created.append(topic)
        started = time.monotonic()
        clients.create_topics(state, "source", {topic: partitions})
        producer = clients.producer(state, "source")
        for partition in range(partitions):
            producer.produce(topic, value=b"new", partition=partition)
        producer.flush(30)
        consumer = clients.consumer(state, "destination", f"bench-new-{topic}")
        try:
            poll_until(
                lambda: _has_records(consumer, topic, partitions),  # noqa: B023 - used before the next sample
                timeout=600,
                interval=0.5,
                what=f"new topic {topic!r} to be mirrored",
            )
        finally:
            consumer.close()
        delays.append(round(time.monotonic() - started, 1))
        log(f"  new topic mirrored after {delays[-1]} s")
    return {"samples_seconds": delays, "max_seconds": max(delays), "median_seconds": statistics.median(delays)}


def _has_records(consumer: Consumer, topic: str, partitions: int) -> bool:
    if topic not in consumer.list_topics(timeout=WATERMARK_SECONDS).topics:
        return False
    return any(
        consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=WATERMARK_SECONDS)[1] > 0
        for p in range(partitions)
    )
