"""A running JVM's heap, threads and resident memory: what a worker needs at a given scale.

`jstat -gc` gives the heap in use now; after `jcmd GC.run` (a full collection) the same figure is
the live set, which is what the heap must hold at least. Both tools ship with the JDK.
"""

from __future__ import annotations

import subprocess
from typing import Any

import psutil

JDK_TOOL_SECONDS = 60
# jstat -gc columns (KiB) that add up to the heap: survivors, eden, old generation.
USED = ("S0U", "S1U", "EU", "OU")
COMMITTED = ("S0C", "S1C", "EC", "OC")


def _jstat(pid: int) -> dict[str, float]:
    result = subprocess.run(
        ["jstat", "-gc", str(pid)], capture_output=True, text=True, timeout=JDK_TOOL_SECONDS, check=True
    )
    header, values = result.stdout.split("\n")[:2]
    return {key: float(value) for key, value in zip(header.split(), values.split(), strict=True)}


def heap(pid: int | None) -> dict[str, Any]:
    """Heap in use and committed (MiB), the live set after a full GC, threads and RSS of `pid`."""
    if not pid:
        return {}
    before = _jstat(pid)
    subprocess.run(["jcmd", str(pid), "GC.run"], capture_output=True, text=True, timeout=JDK_TOOL_SECONDS, check=True)
    after = _jstat(pid)
    process = psutil.Process(pid)
    return {
        "heap_used_mb": round(sum(before[key] for key in USED) / 1024, 1),
        "heap_committed_mb": round(sum(before[key] for key in COMMITTED) / 1024, 1),
        "heap_live_after_full_gc_mb": round(sum(after[key] for key in USED) / 1024, 1),
        "threads": process.num_threads(),
        "rss_mb": round(process.memory_info().rss / 2**20, 1),
    }
