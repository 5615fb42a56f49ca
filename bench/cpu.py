"""CPU seconds spent by each process of a measured phase: where the two cores went.

The brokers' and workers' user + system time comes from psutil; tools the bench ran and waited for
(ProducerPerformance, MirrorMaker 1) from this process's children's usage; the harness's own
(its end-offset watch, the latency reader) from this process's. Other users of the machine are
in none of them, so the figures hold on a shared machine; their sum is the "total".
"""

from __future__ import annotations

import os
import resource
import threading
import time
from collections.abc import Iterator
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


def _own_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


TOOLS = "tools (ProducerPerformance, MirrorMaker 1)"
HARNESS = "bench harness"


class CpuMeter:
    """`with CpuMeter(state) as meter: ...` then `meter.report()`."""

    def __init__(self, state: RuntimeState) -> None:
        self._pids = {f"{name} broker": broker.pid for name, broker in state.brokers.items()}
        self._pids |= {f"worker {worker.index}": worker.pid for worker in state.workers}

    def __enter__(self) -> CpuMeter:
        self._start = {name: _process_seconds(pid) for name, pid in self._pids.items()}
        self._start_children = _children_seconds()
        self._start_own = _own_seconds()
        self._start_machine = psutil.cpu_times()
        self._started = time.monotonic()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.wall = time.monotonic() - self._started
        self.seconds = {name: _process_seconds(pid) - self._start[name] for name, pid in self._pids.items()}
        self.seconds[TOOLS] = _children_seconds() - self._start_children
        self.seconds[HARNESS] = _own_seconds() - self._start_own
        self.machine_busy = _machine_busy(self._start_machine, psutil.cpu_times())
        self.load_average = os.getloadavg()[0]

    def report(self) -> dict[str, Any]:
        total = sum(self.seconds.values())
        return {
            "cpu_seconds": {name: round(value, 1) for name, value in self.seconds.items() if value >= 0.05},
            "cpu_busy": round(total / (self.wall * (os.cpu_count() or 1)), 2),
            # Every process's share, other users' included: the room the phase had.
            "machine_busy": round(self.machine_busy, 2),
            "other_users_cpu_seconds": round(
                max(0.0, self.machine_busy * self.wall * (os.cpu_count() or 1) - total), 1
            ),
            "load_average_1m": round(self.load_average, 1),
        }


def _machine_busy(before: Any, after: Any) -> float:
    spent = sum(after) - sum(before)
    idle = (after.idle + getattr(after, "iowait", 0.0)) - (before.idle + getattr(before, "iowait", 0.0))
    return 1 - idle / spent if spent > 0 else 0.0


def worker_seconds(cpu_seconds: dict[str, float], mirror: str = "worker") -> float:
    return sum(value for name, value in cpu_seconds.items() if name.startswith(mirror))


def efficiency(megabytes: float, cpu_seconds: dict[str, float], mirror: str = "worker") -> dict[str, float | None]:
    """MB moved per CPU-second of the process that mirrors (what carries over to worker nodes) and of
    every process. `mirror` names it: the Connect workers, or the tools (MirrorMaker 1 runs as one)."""
    workers, total = worker_seconds(cpu_seconds, mirror), sum(cpu_seconds.values())
    return {
        "worker_cpu_seconds": round(workers, 1),
        "total_cpu_seconds": round(total, 1),
        "mb_per_worker_cpu_second": round(megabytes / workers, 1) if workers > 0 else None,
        "mb_per_cpu_second": round(megabytes / total, 1) if total > 0 else None,
    }


class ChildProcessMeter:
    """CPU seconds of this process's descendants while a command runs, summed by what each one is.

    A sampling thread reads every descendant's CPU times twice a second, so processes that exit
    before the end (the Pulumi plugins) are counted up to their last sample. Descendants already
    running at the start (the local runtime's worker) count only what they spend from then on.
    """

    def __init__(self, kinds: dict[str, str], interval: float = 0.5) -> None:
        # {substring of the command line: kind}; the first match names a process.
        self._kinds, self._interval = kinds, interval
        self._last: dict[int, tuple[str, float]] = {}
        self._at_start: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> ChildProcessMeter:
        self._at_start = {child.pid: seconds for child, seconds in _descendants_cpu()}
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.wall = time.monotonic() - self._started

    def _sample(self) -> None:
        while True:
            for child, seconds in _descendants_cpu():
                try:
                    self._last[child.pid] = (self._kind_of(child), seconds)
                except psutil.Error:
                    continue
            if self._stop.wait(self._interval):
                return

    def _kind_of(self, process: psutil.Process) -> str:
        known = self._last.get(process.pid)
        if known:
            return known[0]
        command = " ".join(process.cmdline())
        return next((kind for part, kind in self._kinds.items() if part in command), "other")

    def report(self) -> dict[str, float]:
        seconds: dict[str, float] = {}
        for pid, (kind, value) in self._last.items():
            seconds[kind] = seconds.get(kind, 0.0) + value - self._at_start.get(pid, 0.0)
        return {kind: round(value, 1) for kind, value in sorted(seconds.items(), key=lambda kv: -kv[1])}


def _descendants_cpu() -> Iterator[tuple[psutil.Process, float]]:
    """Every live descendant of this process with its CPU seconds so far (user + system)."""
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.Error:
            continue
        yield child, times.user + times.system
