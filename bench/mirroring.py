"""Mirroring throughput (a backlog) and end-to-end latency (a steady rate), per settings profile.

The profiles, and where each one's settings came from, are in bench/profiles.py.
"""

from __future__ import annotations

import contextlib
import re
import statistics
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaException, TopicPartition

from bench import kafka_tools
from bench.cpu import TOOLS, CpuMeter, efficiency
from bench.profiles import Profile
from connect.local_runtime import RuntimeState, connect_endpoint
from connect.polling import PollTimeout, poll_until
from connect.rest import ConnectClient
from localkafka import clients
from localkafka.runtime import LocalRuntime

LATENCY_WARMUP_SECONDS = 3
MAX_WATCH_FAILURES = 120  # consecutive failed reads of end offsets, about a minute


def use_profile(runtime: LocalRuntime, profile: Profile) -> RuntimeState:
    """The runtime with its workers as `profile` runs them (restarted only when they differ)."""
    state = runtime.state()
    wanted = (profile.exactly_once, profile.worker_producer_tuning)
    if (state.exactly_once, state.producer_tuning) != wanted:
        runtime.restart_workers(exactly_once=profile.exactly_once, producer_tuning=profile.worker_producer_tuning)
    return runtime.state()


def committed_source_records(client: ConnectClient, name: str) -> int:
    """Records whose source offsets the connector has committed (MirrorMaker 2 stores each record's own offset).

    Costly: the worker reads its whole offsets topic to answer, so call it only near the end.
    """
    return sum(int(entry["offset"]["offset"]) + 1 for entry in client.connector_offsets(name))


class DestinationWatch:
    """End offsets of a mirrored topic on the destination, through one consumer kept for the whole run."""

    def __init__(self, state: RuntimeState) -> None:
        self._consumer = clients.consumer(state, "destination", "bench-watermarks")
        self._failures = 0

    def __enter__(self) -> DestinationWatch:
        return self

    def __exit__(self, *_: object) -> None:
        self._consumer.close()

    def end_offsets(self, topic: str, partitions: int) -> int:
        """The sum of the topic's end offsets; 0 until MirrorMaker has created it and its leaders are known.

        With exactly-once, transaction markers take offsets too, so this reaches the record count
        slightly before the last record is committed.
        """
        try:
            if topic not in self._consumer.list_topics(topic, timeout=10).topics:
                return 0
            total = sum(
                self._consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions)
            )
        except KafkaException:
            # A new topic's partitions and leaders take a moment to be known to the client and to every
            # broker (unknown partition, not leader, ...): count nothing yet, unless it goes on and on.
            self._failures += 1
            if self._failures > MAX_WATCH_FAILURES:
                raise
            return 0
        self._failures = 0
        return total


def mirror_metric(state: RuntimeState, topic: str, metric: str) -> list[float]:
    """Every partition's value of a MirrorSourceConnector metric for `topic`, from every worker."""
    pattern = re.compile(rf"^kafka_connect_mirror_source_connector_{metric}\{{([^}}]*)\}} (\S+)$")
    values = []
    for worker in state.workers:
        with urllib.request.urlopen(worker.metrics_url, timeout=10) as response:
            for line in response.read().decode().splitlines():
                match = pattern.match(line)
                if match and f'topic="{topic}"' in match[1]:
                    values.append(float(match[2]))
    return values


@dataclass(frozen=True)
class Backlog:
    """What each throughput run mirrors: `records` records of `record_size` bytes over `partitions`."""

    records: int
    record_size: int
    partitions: int
    folder: Path
    # Called between filling the source topic and starting the clock.
    settle: Callable[[], None] = lambda: None

    def fill(self, state: RuntimeState, label: str) -> str:
        """A new source topic holding the backlog, written by ProducerPerformance."""
        topic = f"backlog-{label}-{uuid.uuid4().hex[:8]}"
        clients.create_topics(state, "source", {topic: self.partitions})
        kafka_tools.produce(state, "source", topic, self.records, self.record_size, self.folder)
        return topic

    def drop(self, state: RuntimeState, topic: str) -> None:
        """Delete the backlog and its mirror: a full run writes tens of gigabytes otherwise."""
        clients.delete_topics(state, "source", [topic])
        clients.delete_topics(state, "destination", [topic])

    @property
    def megabytes(self) -> float:
        """MB as ProducerPerformance counts them (2^20 bytes), so that every MB/s figure agrees."""
        return self.records * self.record_size / 1_048_576

    def rates(self, seconds: float) -> dict[str, Any]:
        return {
            "records": self.records,
            "record_size": self.record_size,
            "partitions": self.partitions,
            "seconds": round(seconds, 2),
            "records_per_second": round(self.records / seconds),
            "mb_per_second": round(self.megabytes / seconds, 1),
        }


def mirror_backlog(runtime: LocalRuntime, profile: Profile, backlog: Backlog) -> dict[str, Any]:
    """Fill a source topic first, then time MirrorMaker 2 from connector creation to the last record."""
    state = use_profile(runtime, profile)
    timed = time_connector(state, backlog, profile.name, lambda topic: profile.connector_config(state, topic))
    return {"profile": describe(profile), **timed}


def describe(profile: Profile) -> dict[str, Any]:
    return asdict(profile) | {"tasks": profile.tasks}


def time_connector(
    state: RuntimeState, backlog: Backlog, label: str, config_for: Callable[[str], dict[str, str]]
) -> dict[str, Any]:
    """Mirror a fresh backlog with the connector config `config_for(topic)`; rates and CPU seconds.

    The clock runs from the connector's creation until the destination holds every record (and,
    with exactly-once, until the source offsets of all of them are committed). The rate from the
    first mirrored record on is reported beside it, without connector and task start-up.
    """
    topic = backlog.fill(state, label)
    config = config_for(topic)
    exactly_once = config.get("exactly.once.support") == "required"
    backlog.settle()
    name = f"bench-{topic}"
    partitions, records = backlog.partitions, backlog.records
    with ConnectClient(connect_endpoint(state, deadline_seconds=120)) as client, DestinationWatch(state) as watch:
        try:
            with CpuMeter(state) as cpu:
                started = time.monotonic()
                client.create_connector(name, config)
                _wait_for(lambda: watch.end_offsets(topic, partitions) > 0, label)
                first_record = time.monotonic()
                _wait_for(lambda: watch.end_offsets(topic, partitions) >= records, label)
                if exactly_once:
                    _wait_for(lambda: committed_source_records(client, name) >= records, label)
                finished = time.monotonic()
        finally:
            client.delete_connector(name)
            backlog.drop(state, topic)
    rates = backlog.rates(finished - started)
    rates["records_per_second_from_first_record"] = round(records / (finished - first_record))
    rates["first_record_seconds"] = round(first_record - started, 2)
    report = cpu.report()
    return {**rates, **report, **efficiency(backlog.megabytes, report["cpu_seconds"])}


def mirror_with_mm1(runtime: LocalRuntime, backlog: Backlog) -> dict[str, Any]:
    """MirrorMaker 1 (Kafka 3.9) on the same backlog; it keeps topic names, so the target exists first."""
    state = runtime.state()
    topic = backlog.fill(state, "mm1")
    clients.create_topics(state, "destination", {topic: backlog.partitions})
    backlog.settle()
    folder = backlog.folder
    kafka_tools.mm1_jars()  # builds MirrorMaker 1's jars if needed, before the clock starts
    with CpuMeter(state) as cpu, DestinationWatch(state) as watch:
        started = time.monotonic()
        process = kafka_tools.start_mm1(state, topic, streams=2, folder=folder)

        def finished() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"MirrorMaker 1 exited ({process.returncode}); see {folder / 'mm1.log'}")
            return watch.end_offsets(topic, backlog.partitions) >= backlog.records

        try:
            _wait_for(finished, "MirrorMaker 1")
            seconds = time.monotonic() - started
        finally:
            process.kill()
            process.wait()
            backlog.drop(state, topic)
    profile = {"name": "mirrormaker1", "family": "mirrormaker1", "exactly_once": False, "streams": 2}
    report = cpu.report()
    # Its mirroring process is one of the bench's tools; the Connect worker meanwhile sits idle.
    return {
        "profile": profile,
        **backlog.rates(seconds),
        **report,
        **efficiency(backlog.megabytes, report["cpu_seconds"], mirror=TOOLS),
    }


def _wait_for(done: Callable[[], bool], what: str, limit: float = 3600) -> None:
    # A short interval: the waits below end the measured phases.
    poll_until(done, timeout=limit, interval=0.25, what=f"{what} to finish mirroring")


def steady_latency(
    runtime: LocalRuntime, profile: Profile, rate: int, seconds: int, record_size: int, partitions: int
) -> dict[str, Any]:
    """Produce at `rate` records/s on the source; latency = arrival on the destination - record timestamp.

    Production starts once the connector's tasks run; records produced in the first
    LATENCY_WARMUP_SECONDS are left out of the percentiles (clients connecting, first fetches).
    """
    state = use_profile(runtime, profile)
    topic = f"latency-{profile.name}-{uuid.uuid4().hex[:8]}"
    clients.create_topics(state, "source", {topic: partitions})
    name = f"bench-{topic}"
    arrivals: list[tuple[int, float]] = []
    with ConnectClient(connect_endpoint(state, deadline_seconds=120)) as client:
        try:
            client.create_connector(name, profile.connector_config(state, topic))
            clients.wait_for_topic(state, "destination", topic)
            _wait_for(lambda: _tasks_running(client, name), f"{profile.name} tasks", limit=120)
            stop = threading.Event()
            reader = threading.Thread(target=_read_latencies, args=(state, topic, partitions, arrivals, stop))
            reader.start()
            time.sleep(2)  # the reader has its partitions before the first record
            warm_from_ms = (time.time() + LATENCY_WARMUP_SECONDS) * 1000
            expected = _produce_at_rate(state, topic, rate, seconds, record_size)
            # Late records count as lost in the report rather than failing the run.
            with contextlib.suppress(PollTimeout):
                poll_until(lambda: len(arrivals) >= expected, timeout=60, interval=0.2, what="every record to arrive")
            stop.set()
            reader.join()
            replication_max = mirror_metric(state, topic, "replication_latency_ms_max")
            replication_avg = mirror_metric(state, topic, "replication_latency_ms_avg")
        finally:
            client.delete_connector(name)
            clients.delete_topics(state, "source", [topic])
            clients.delete_topics(state, "destination", [topic])
    ordered = sorted(latency for produced_ms, latency in arrivals if produced_ms >= warm_from_ms)
    return {
        "profile": describe(profile),
        "rate": rate,
        "seconds": seconds,
        "record_size": record_size,
        "produced": expected,
        "arrived": len(arrivals),
        "measured": len(ordered),
        "p50_ms": round(ordered[len(ordered) // 2], 1) if ordered else None,
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1) if ordered else None,
        "max_ms": round(ordered[-1], 1) if ordered else None,
        "mm2_replication_latency_ms_max": max(replication_max) if replication_max else None,
        "mm2_replication_latency_ms_avg": round(statistics.mean(replication_avg), 1) if replication_avg else None,
    }


def _tasks_running(client: ConnectClient, name: str) -> bool:
    status = client.connector_status(name)
    tasks = (status or {}).get("tasks", [])
    return bool(tasks) and all(task.get("state") == "RUNNING" for task in tasks)


def _produce_at_rate(state: RuntimeState, topic: str, rate: int, seconds: int, record_size: int) -> int:
    producer = clients.producer(state, "source", **{"linger.ms": 1})
    payload = b"x" * record_size
    slice_seconds = 0.01
    per_slice = max(1, round(rate * slice_seconds))
    started = time.monotonic()
    sent = 0
    while sent < rate * seconds:
        for _ in range(per_slice):
            producer.produce(topic, value=payload)
        sent += per_slice
        producer.poll(0)
        pause = started + sent / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    producer.flush(30)
    return sent


def _read_latencies(
    state: RuntimeState, topic: str, partitions: int, arrivals: list[tuple[int, float]], stop: threading.Event
) -> None:
    """(produce timestamp ms, latency ms) of every record, read one at a time as soon as it arrives."""
    consumer = clients.consumer(state, "destination", f"bench-latency-{topic}", **{"fetch.wait.max.ms": 5})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    try:
        while not stop.is_set():
            message = consumer.poll(0.1)
            if message is not None and message.error() is None:
                produced_ms = message.timestamp()[1]
                arrivals.append((produced_ms, time.time() * 1000 - produced_ms))
    finally:
        consumer.close()
