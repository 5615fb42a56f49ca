"""Start, find and stop the runtime's JVMs without leaving any behind."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path


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


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


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
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        status = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    # During exec (bash becoming java) the command line is briefly empty: the process is still ours.
    return status != "Z" and (marker in cmdline or not cmdline.strip())


def stop(pid: int | None, marker: str, grace_seconds: float = 20.0, sig: int = signal.SIGTERM) -> None:
    """Signal the process group, wait for it to exit, and SIGKILL it when the grace period ends."""
    if not alive(pid, marker):
        return
    assert pid is not None
    _signal_group(pid, sig)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        _reap(pid)
        if not alive(pid, marker):
            return
        time.sleep(0.1)
    _signal_group(pid, signal.SIGKILL)
    while alive(pid, marker):
        _reap(pid)
        time.sleep(0.05)


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _reap(pid: int) -> None:
    # Processes started by this very Python process stay zombies until waited for.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
