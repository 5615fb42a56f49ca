"""Sequence-numbered record streams, checked record by record on the destination."""

from __future__ import annotations

import itertools
import json
import struct
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from connect.local_runtime import RuntimeState
from localkafka import clients
from localkafka.paths import REPO_ROOT

OUTCOMES_FILE = REPO_ROOT / ".local" / "fault-outcomes.json"


def encode(sequence: int) -> bytes:
    return struct.pack(">q", sequence)


class SequenceProducer(threading.Thread):
    """Produces values start, start+1, ... to a source topic in the background (idempotent: no source dups).

    With `count`, it stops after that many records. With `count=None` it goes on until `stop()`,
    at `rate` records/s, so that a fault injected at any moment lands in the middle of the stream.
    """

    def __init__(
        self,
        state: RuntimeState,
        topic: str,
        count: int | None,
        partitions: int,
        start: int = 0,
        rate: float | None = None,
    ) -> None:
        super().__init__(daemon=True)
        self.state, self.topic, self.count, self.partitions, self.start_at = state, topic, count, partitions, start
        self.rate = rate
        self.produced = 0
        self.error: Exception | None = None
        self._stopped = threading.Event()

    def stop(self, timeout: float = 300) -> range:
        """Stop producing, wait until everything produced is delivered; the sequence numbers produced."""
        self._stopped.set()
        self.join(timeout)
        return range(self.start_at, self.start_at + self.produced)

    def run(self) -> None:
        try:
            # delivery.timeout long enough to ride out a broker restart.
            producer = clients.producer(self.state, "source", **{"delivery.timeout.ms": 300_000})
            began = time.monotonic()
            for sequence in itertools.count(self.start_at):
                if self.produced == self.count or self._stopped.is_set():
                    break
                if self.rate and self.produced % 100 == 0:
                    time.sleep(max(0.0, began + self.produced / self.rate - time.monotonic()))
                while True:
                    try:
                        producer.produce(
                            self.topic,
                            key=encode(sequence),
                            value=encode(sequence),
                            partition=sequence % self.partitions,
                        )
                        break
                    except BufferError:
                        producer.poll(0.05)
                self.produced += 1
                if self.produced % 10_000 == 0:
                    producer.poll(0)
            remaining = producer.flush(300)
            if remaining:
                raise RuntimeError(f"{remaining} records still undelivered to the source")
        except Exception as error:  # noqa: BLE001 - reported by the test that joins the thread
            self.error = error


@dataclass
class Arrival:
    expected: int
    received: int
    missing: list[int]
    duplicates: int
    # The first sequence numbers that arrived more than once, with how often.
    duplicated: dict[int, int] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        return len(self.missing)


def arrival(
    state: RuntimeState, topic: str, expected: range, read_committed: bool = True, timeout: float = 240
) -> Arrival:
    """Read the mirrored topic until every expected sequence arrived (or the timeout), and count."""
    isolation = "read_committed" if read_committed else "read_uncommitted"
    consumer = clients.consumer(
        state, "destination", f"verify-{topic}-{isolation}-{time.monotonic_ns()}", **{"isolation.level": isolation}
    )
    counts: Counter[int] = Counter()
    wanted = set(expected)
    deadline = time.monotonic() + timeout
    consumer.subscribe([topic])
    try:
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            batch = consumer.consume(num_messages=10_000, timeout=1.0)
            for message in batch:
                if message.error() is None:
                    counts[struct.unpack(">q", message.value())[0]] += 1  # type: ignore[arg-type]
            if batch:
                quiet_since = time.monotonic()
            # Done once everything arrived and nothing more came for a few seconds (late duplicates).
            if wanted <= counts.keys() and time.monotonic() - quiet_since > 3:
                break
    finally:
        consumer.close()
    received = sum(counts.values())
    return Arrival(
        expected=len(wanted),
        received=received,
        missing=sorted(wanted - counts.keys())[:20],
        duplicates=received - len(counts.keys() & wanted),
        duplicated=dict(sorted((sequence, n) for sequence, n in counts.items() if n > 1)[:20]),
    )


@dataclass
class Outcome:
    fault: str
    checked: str
    records: int
    lost: int
    duplicates: int
    recovery_seconds: float | None = None
    notes: dict[str, Any] = field(default_factory=dict)


def record_outcome(outcome: Outcome) -> None:
    """Keep the measured outcome, for docs/reliability.md."""
    OUTCOMES_FILE.parent.mkdir(parents=True, exist_ok=True)
    outcomes = json.loads(OUTCOMES_FILE.read_text()) if OUTCOMES_FILE.exists() else {}
    outcomes[outcome.fault] = asdict(outcome) | {"measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    Path(OUTCOMES_FILE).write_text(json.dumps(outcomes, indent=2) + "\n")
