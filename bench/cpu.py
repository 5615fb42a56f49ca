"""CPU seconds spent by each process of a measured phase: where the two cores went.

The brokers' and workers' user + system time comes from psutil; tools the bench ran and waited for
(ProducerPerformance, MirrorMaker 1) from this process's children's usage.
"""

from __future__ import annotations

import os
import resource
import time
from types import TracebackType
from typing import Any

import psutil

from connect.local_runtime import RuntimeState


def _process_seconds(pid: int | None) -> float:
    if not pid:
        return 0.0
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return float(times.user + times.system)


def _children_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """`with CpuMeter(state) as meter: ...` then `meter.report()`."""

    def __init__(self, state: RuntimeState) -> None:
        self._pids = {f"{name} broker": broker.pid for name, broker in state.brokers.items()}
        self._pids |= {f"worker {worker.index}": worker.pid for worker in state.workers}

    def __enter__(self) -> CpuMeter:
        self._start = {name: _process_seconds(pid) for name, pid in self._pids.items()}
        self._start_children = _children_seconds()
        self._started = time.monotonic()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.wall = time.monotonic() - self._started
        self.seconds = {name: _process_seconds(pid) - self._start[name] for name, pid in self._pids.items()}
        self.seconds["tools (ProducerPerformance, MirrorMaker 1)"] = _children_seconds() - self._start_children

    def report(self) -> dict[str, Any]:
        total = sum(self.seconds.values())
        return {
            "cpu_seconds": {name: round(value, 1) for name, value in self.seconds.items() if value >= 0.05},
            "cpu_busy": round(total / (self.wall * (os.cpu_count() or 1)), 2),
        }
