"""What every benchmark entry point shares: the sizes, where results go, and the steps that settle
the machine between measured phases."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from connect.local_runtime import RuntimeState
from localkafka import clients
from localkafka.paths import REPO_ROOT

RESULTS_DIR = REPO_ROOT / "bench" / "results"
# Room for 200 connectors with their clients, and for a backlog in flight.
BENCH_WORKER_HEAP = "-Xms512m -Xmx1536m"


@dataclass(frozen=True)
class Sizes:
    records: int
    record_size: int
    partitions: int
    latency_rate: int
    latency_seconds: int
    program_files: tuple[int, ...]
    registration_connectors: int
    # Throughput runs per profile, alternating profiles, so that a noisy minute hits all of them.
    repeats: int


FULL = Sizes(2_000_000, 1024, 8, 5000, 30, (10, 100, 1000), 200, 2)
SMOKE = Sizes(20_000, 1024, 4, 500, 5, (10, 20), 5, 1)


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


@contextmanager
def ceiling_topic(state: RuntimeState, partitions: int) -> Iterator[str]:
    """A fresh destination topic for ProducerPerformance, settled before and deleted after."""
    topic = f"ceiling-{int(time.time())}"
    clients.create_topics(state, "destination", {topic: partitions})
    settle()
    try:
        yield topic
    finally:
        clients.delete_topics(state, "destination", [topic])


def settle() -> None:
    """Flush dirty pages before a measured phase, so that one phase's writes do not slow the next."""
    os.sync()
    time.sleep(2)


def machine() -> dict[str, Any]:
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "java": java,
        "load_average_at_start": os.getloadavg(),
        "disk_free_gb_at_start": round(shutil.disk_usage(REPO_ROOT).free / 2**30, 1),
    }
