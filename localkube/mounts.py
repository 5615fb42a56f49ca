"""The mounts of a cluster: all below its folder, found in /proc/self/mountinfo and removed at `down`.

containerd mounts each container's rootfs (overlay) and each sandbox's /dev/shm and network
namespace below its state dir; the kubelet mounts the pods' volumes below its root dir, which is
itself a shared bind mount (`share`) so that those volumes reach containerd from the kubelet's own
mount namespace (node_config.kubelet_namespace_script).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from connect.polling import PollTimeout, poll_until

MOUNT_TIMEOUT_SECONDS = 15


def mounts_under(folder: Path) -> list[Path]:
    """Mount points at or below `folder`, deepest first (the order to unmount them in)."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = Path(_unescape(line.split(" ")[4]))
        if point == folder or folder in point.parents:
            found.append(point)
    return sorted(set(found), key=lambda path: -len(path.parts))


def unmount_all(folder: Path) -> None:
    """Unmount rootfs overlays, shm, netns and volume mounts of the pods; each one detached (-l)."""

    def unmount_pass() -> list[Path]:
        # A point mounted twice needs two passes; a lazy unmount of a parent detaches its children too.
        for point in mounts_under(folder):
            subprocess.run(["umount", "--lazy", str(point)], capture_output=True, timeout=MOUNT_TIMEOUT_SECONDS)
        return mounts_under(folder)

    try:
        poll_until(unmount_pass, lambda left: not left, timeout=30, interval=0.5, what=f"the mounts below {folder}")
    except PollTimeout as timeout:
        raise RuntimeError(f"could not unmount {timeout.last_value}; see `umount` for why") from None


def share(folder: Path) -> None:
    """Make `folder` a mount point of its own, shared: mounts below it propagate between namespaces."""
    if folder not in mounts_under(folder):
        _mount("--bind", str(folder), str(folder))
    _mount("--make-shared", str(folder))


def _mount(*args: str) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True, timeout=MOUNT_TIMEOUT_SECONDS)
    if result.returncode != 0:
        raise RuntimeError(f"`mount {' '.join(args)}` failed (exit {result.returncode}): {result.stderr.strip()}")


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field
