"""What `down` removes besides processes: pods' shims, mounts, and containerd 1.6's files outside its state dir.

containerd 1.6 keeps most of its state where config.toml says (the cluster folder), but not all:
each shim's socket is `/run/containerd/s/<sha256(address/namespace/id)>` whatever the state dir,
and libcni caches each pod's network attachment in `/var/lib/cni/results` (removed when a sandbox
is stopped properly, which a crash or `down`'s SIGKILL skips). Both are named from ids we know:
the shims' sockets from our containerd's address and a task id, the CNI results from our
network's name (the cluster id) and a sandbox id; the ids come from the task bundles and the CRI
plugin's folders under the cluster folder, which outlive a crash.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import signal
from pathlib import Path

import psutil

from connect.polling import poll_until
from localkube import mounts
from localkube.paths import Layout

SHIM_SOCKET_DIR = Path("/run/containerd/s")
CNI_CACHE_DIR = Path("/var/lib/cni/results")  # libcni's default; containerd 1.6 has no setting for it
NAMESPACE = "k8s.io"  # the CRI plugin's containerd namespace


def task_ids(layout: Layout) -> set[str]:
    """Every container and sandbox id containerd ran for this cluster (its folders remember them)."""
    folders = [
        layout.containerd_state / "io.containerd.runtime.v2.task" / NAMESPACE,
        layout.containerd_root / "io.containerd.grpc.v1.cri" / "sandboxes",
        layout.containerd_root / "io.containerd.grpc.v1.cri" / "containers",
        layout.containerd_state / "io.containerd.grpc.v1.cri" / "sandboxes",
        layout.containerd_state / "io.containerd.grpc.v1.cri" / "containers",
    ]
    return {entry.name for folder in folders if folder.is_dir() for entry in folder.iterdir()}


def shim_socket(layout: Layout, task_id: str) -> Path:
    """Where containerd 1.6 puts a shim's socket (runtime/v2/shim.SocketAddress)."""
    # Go's filepath.Join(address, namespace, id).
    digest = hashlib.sha256(f"{layout.containerd_socket}/{NAMESPACE}/{task_id}".encode()).hexdigest()
    return SHIM_SOCKET_DIR / digest


def shims(layout: Layout) -> list[psutil.Process]:
    """The shims of our containerd: their command line names its socket (`-address <socket>`)."""
    address = str(layout.containerd_socket)
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if (process.info["name"] or "").startswith("containerd-shim") and address in cmdline:
            found.append(process)
    return found


def kill_shims(layout: Layout) -> int:
    """SIGKILL the shims of our containerd; return how many there were."""
    found = shims(layout)
    kill(found, "the shims")
    return len(found)


def kill(found: list[psutil.Process], what: str) -> None:
    """SIGKILL these processes (found by command line just before) and wait until they are gone."""
    for process in found:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signal.SIGKILL)
    poll_until(lambda: not [p for p in found if _running(p)], timeout=30, interval=0.1, what=f"{what} to exit")


def shim_sockets(layout: Layout) -> set[Path]:
    """Our shims' sockets: from each task bundle's `address` file, and computed for every id we know
    of (a bundle can be gone while its socket is not). A pod's containers share its sandbox's shim."""
    sockets = {shim_socket(layout, task_id) for task_id in task_ids(layout)}
    for address in (layout.containerd_state / "io.containerd.runtime.v2.task" / NAMESPACE).glob("*/address"):
        path = Path(address.read_text().strip().removeprefix("unix://"))
        if path.parent == SHIM_SOCKET_DIR:
            sockets.add(path)
    return sockets


def remove_shim_sockets(sockets: set[Path]) -> int:
    removed = 0
    for path in sockets:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed += 1
    return removed


def cni_cache_files(layout: Layout, ids: set[str]) -> list[Path]:
    """Our pods' CNI results: `<our network>-<sandbox>-eth0`, and `cni-loopback-<sandbox>-lo` (the
    CRI plugin's loopback network, whose name every containerd shares: only our sandboxes' ones)."""
    ours = list(CNI_CACHE_DIR.glob(f"{layout.cluster_id}-*"))
    sandboxes = ids | {path.name[len(layout.cluster_id) + 1 :].rsplit("-", 1)[0] for path in ours}
    loopbacks = [CNI_CACHE_DIR / f"cni-loopback-{sandbox}-lo" for sandbox in sorted(sandboxes)]
    return ours + [path for path in loopbacks if path.exists()]


def remove_folder(layout: Layout, keep: tuple[str, ...] = ("logs",)) -> None:
    """Delete the cluster folder but its logs. Only once nothing is mounted below it: deleting
    through a mount would delete what it shows (a pod's volume could be a host folder)."""
    if mounts.mounts_under(layout.folder):
        raise RuntimeError(f"refusing to delete {layout.folder}: something is still mounted below it")
    if not layout.folder.is_dir():
        return
    for entry in layout.folder.iterdir():
        if entry.name in keep:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _running(process: psutil.Process) -> bool:
    try:
        return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
