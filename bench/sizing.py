"""Sizing on paper: workers, vCPU and tasks.max for a target rate, from measured MB per worker CPU-second.

On EKS the brokers are MSK's, so what a worker node must supply is the workers' own CPU: the
target rate divided by MB per worker CPU-second, with headroom. Two figures are put side by side:
ours (measured on this machine, loopback, no TLS) and a public benchmark's (a real deployment, so
network and TLS included), which is the conservative one. MSK Replicator's published guidance
(about 0.3 MB/s per partition) gives the partitions a rate needs, which bounds tasks.max from above
(a task mirrors whole partitions).
"""

from __future__ import annotations

import math
from typing import Any

# External, not ours: a public benchmark of MirrorMaker 2 with 1 KB records measured 259 MB/s at
# about 15.6 cores (docs/performance.md cites it).
ANCHOR_MB_PER_SECOND = 259.0
ANCHOR_CORES = 15.6
ANCHOR_MB_PER_CPU_SECOND = round(ANCHOR_MB_PER_SECOND / ANCHOR_CORES, 1)
# MSK Replicator's published sizing: about 0.3 MB/s per partition (334 partitions for 100 MB/s).
REPLICATOR_MB_PER_PARTITION = 0.3
TARGETS_MB_PER_SECOND = (50, 100, 250)
# Keep workers at most 70% busy: room for a rebalance, a restart's catch-up, a noisy neighbour.
UTILIZATION = 0.7
# A worker pod's CPU limit in the stack's defaults (stackconfig: connect.cpuLimit "2").
VCPU_PER_WORKER = 2
# At least two workers on EKS (stackconfig refuses fewer), so that one can fail.
MIN_WORKERS = 2
# Measured here: 4 tasks kept 2 cores busy; one task is one thread polling and sending.
TASKS_PER_VCPU = 2


def plan(target: float, mb_per_worker_cpu_second: float) -> dict[str, Any]:
    vcpu = target / mb_per_worker_cpu_second / UTILIZATION
    workers = max(MIN_WORKERS, math.ceil(vcpu / VCPU_PER_WORKER))
    partitions = math.ceil(target / REPLICATOR_MB_PER_PARTITION)
    return {
        "vcpu": round(vcpu, 1),
        "workers": workers,
        "tasks_max": min(partitions, workers * VCPU_PER_WORKER * TASKS_PER_VCPU),
    }


def sizing_table(mb_per_worker_cpu_second: float) -> list[dict[str, Any]]:
    """One row per target rate: our figure's plan, the public anchor's plan, and MSK Replicator's partitions."""
    return [
        {
            "target_mb_per_second": target,
            "ours": plan(target, mb_per_worker_cpu_second),
            "anchor": plan(target, ANCHOR_MB_PER_CPU_SECOND),
            "replicator_partitions": math.ceil(target / REPLICATOR_MB_PER_PARTITION),
        }
        for target in TARGETS_MB_PER_SECOND
    ]
