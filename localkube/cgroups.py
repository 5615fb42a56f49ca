"""The cgroup that holds every pod of the cluster (kubelet `cgroupRoot`), so `down` finds all of them.

cgroup v1 (this machine kind is hybrid: v1 controllers plus an empty v2 `unified` mount): the
kubelet wants its root cgroup to exist in every hierarchy before it starts, and creates
`<root>/kubepods/...` below it. Whatever runs below the root is a pod's process, so `down` kills
exactly those, even when the kubelet, containerd or a shim died first, and then removes the tree.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

from connect.polling import poll_until


def hierarchies() -> list[Path]:
    """The mount points of every cgroup hierarchy (v1 controllers and a v2 mount)."""
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        before, _, after = line.partition(" - ")
        fstype = after.split(" ", 1)[0]
        if fstype in ("cgroup", "cgroup2"):
            mounts.append(Path(before.split(" ")[4]))
    return mounts


def create(name: str) -> None:
    """`/<name>` in every hierarchy; a new cpuset cgroup gets its parent's CPUs and memory nodes."""
    for mount in hierarchies():
        path = mount / name
        path.mkdir(exist_ok=True)
        for setting in ("cpuset.cpus", "cpuset.mems"):
            if (path / setting).exists() and not (path / setting).read_text().strip():
                (path / setting).write_text((mount / setting).read_text())


def pids(name: str) -> set[int]:
    """Every process in `/<name>` and below, in any hierarchy."""
    found: set[int] = set()
    for mount in hierarchies():
        root = mount / name
        if not root.is_dir():
            continue
        for folder, _, files in os.walk(root):
            if "cgroup.procs" in files:
                with contextlib.suppress(OSError):
                    found.update(int(pid) for pid in (Path(folder) / "cgroup.procs").read_text().split())
    return found


def kill_all(name: str, timeout: float = 30) -> None:
    """SIGKILL every process under `/<name>` until none is left (a dying shim may still fork)."""

    def none_left() -> set[int]:
        remaining = pids(name)
        for pid in remaining:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return remaining

    poll_until(
        none_left,
        lambda remaining: not remaining,
        timeout=timeout,
        interval=0.2,
        what=f"the processes of cgroup /{name} to die",
    )


def remove(name: str) -> None:
    """Remove `/<name>` and everything below it, deepest first (only empty cgroups can go)."""
    for mount in hierarchies():
        root = mount / name
        if not root.is_dir():
            continue
        for folder, _, _ in sorted(os.walk(root), key=lambda entry: -len(Path(entry[0]).parts)):
            with contextlib.suppress(FileNotFoundError):
                Path(folder).rmdir()
