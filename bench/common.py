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
    # Unmeasured rounds first (JIT, page cache, the brokers' transaction state log on first use),
    # then the measured ones; profiles run in turn within each round, so a noisy minute hits all.
    warmup_rounds: int
    repeats: int
    throughput_profiles: tuple[str, ...]
    latency_profiles: tuple[str, ...]
    latency_rate: int
    latency_seconds: int
    program_files: tuple[int, ...]
    registration_connectors: int
    blind_connectors: int
    # Mirroring at scale: topics per size, partitions per topic, records per partition.
    scale_topics: tuple[int, ...]
    scale_partitions: int
    scale_records_per_partition: int
    scale_idle_seconds: int
    scale_new_topic_samples: int
    # At the largest size: refresh.topics.interval.seconds values under which topics created while
    # the connector runs are timed (ours first), with the idle CPU each costs.
    scale_refresh_intervals: tuple[int, ...]


EVERY_PROFILE = (
    "tuned",
    "tuned-no-eos",
    "stock",
    "strimzi",
    "strimzi-eos",
    "aws-samples",
    "aws-samples-eos",
    "tuned-eos-poll16k",
    "tuned-eos-interval1s",
)
FULL = Sizes(
    records=2_000_000,
    record_size=1024,
    partitions=8,
    warmup_rounds=1,
    repeats=3,
    throughput_profiles=EVERY_PROFILE,
    latency_profiles=EVERY_PROFILE,
    latency_rate=5000,
    latency_seconds=30,
    program_files=(10, 100, 1000),
    registration_connectors=1000,
    blind_connectors=200,
    scale_topics=(50, 200, 500),
    scale_partitions=4,
    scale_records_per_partition=250,
    scale_idle_seconds=60,
    scale_new_topic_samples=2,
    scale_refresh_intervals=(20, 60, 10),
)
# Every part with tiny sizes, a few profiles and no warm-up, to prove the harness works.
SMOKE = Sizes(
    records=20_000,
    record_size=1024,
    partitions=4,
    warmup_rounds=0,
    repeats=1,
    throughput_profiles=("tuned", "strimzi-eos", "aws-samples"),
    latency_profiles=("tuned", "strimzi"),
    latency_rate=500,
    latency_seconds=5,
    program_files=(10, 20),
    registration_connectors=5,
    blind_connectors=5,
    scale_topics=(4,),
    scale_partitions=2,
    scale_records_per_partition=20,
    scale_idle_seconds=5,
    scale_new_topic_samples=1,
    scale_refresh_intervals=(5,),
)


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
    java = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=60).stderr.splitlines()[0]
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "java": java,
        "load_average_at_start": os.getloadavg(),
        "disk_free_gb_at_start": round(shutil.disk_usage(REPO_ROOT).free / 2**30, 1),
        # The tree is shared and changes while a run goes: which code was measured.
        "git_commit": _git("rev-parse", "HEAD").strip(),
        "uncommitted_paths": sorted(line[3:] for line in _git("status", "--porcelain").splitlines()),
    }


def _git(*args: str) -> str:
    result = subprocess.run(["git", *args], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    return result.stdout
