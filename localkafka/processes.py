"""Start, find and stop the runtime's JVMs without leaving any behind (psutil: Linux and macOS alike)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil

from connect.polling import PollTimeout, poll_until


def free_ports(count: int) -> list[int]:
    """Ports the kernel says are free now; held open together so that they differ."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def start(command: Sequence[str], log_file: Path, env: Mapping[str, str] | None = None) -> int:
    """Start a process in its own session (so a signal reaches all its children), logging to a file."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        process = subprocess.Popen(
            list(command),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
    return process.pid


def alive(pid: int | None, marker: str) -> bool:
    """True if `pid` runs and is ours: its command line contains `marker` (pids get reused)."""
    if not pid:
        return False
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        cmdline = " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.AccessDenied:
        return False  # another user's process: never ours
    # During exec (bash becoming java) the command line is briefly empty: the process is still ours.
    return marker in cmdline or not cmdline.strip()


def stop(pid: int | None, marker: str, grace_seconds: float = 20.0, sig: int = signal.SIGTERM) -> None:
    """Signal the process group, wait for it to exit, and SIGKILL it when the grace period ends."""
    if not alive(pid, marker):
        return
    assert pid is not None
    _signal_group(pid, sig)
    try:
        poll_until(lambda: _gone(pid, marker), timeout=grace_seconds, interval=0.1, what=f"process {pid} to exit")
    except PollTimeout:
        _signal_group(pid, signal.SIGKILL)
        poll_until(lambda: _gone(pid, marker), timeout=30, interval=0.05, what=f"process {pid} to die")


def _gone(pid: int, marker: str) -> bool:
    _reap(pid)
    return not alive(pid, marker)


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _reap(pid: int) -> None:
    # Processes started by this very Python process stay zombies until waited for.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
