"""Start, inspect and stop the cluster: `LocalKube(folder).up() -> KubeCluster`, `.down()`, `.load_image(archive)`.

`up` is idempotent: a cluster that runs and answers is returned as it is. Anything else (nothing,
a crashed or half-started cluster) is cleaned away by `down` and started afresh: new certificates,
an empty etcd, new ports. `up` returns once the node is Ready and the `default` ServiceAccount
exists, so a pod can be created at once. `down` stops every process it started (by pid, verified
by command line), kills the pods, unmounts what containerd mounted, deletes the network links and
the cgroup, and removes the folder but its logs; it also cleans up after a crash.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from connect.polling import PollTimeout, poll_until
from localkafka import processes
from localkube import api, cgroups, cleanup, mounts, network
from localkube.binaries import KubeBinaries, archive_image_names, ensure_binaries
from localkube.components import STOP_ORDER, ClusterSpec, Component, Ports
from localkube.network import NetworkSettings
from localkube.node_config import write_node_files
from localkube.paths import CTR, Layout
from localkube.pki import Pki, write_pki
from localkube.state import ClusterState, KubeCluster

START_SECONDS = 120.0  # each component, on a shared 2-core machine
NODE_READY_SECONDS = 180.0
IMPORT_TIMEOUT_SECONDS = 600  # a 200 MB image on a busy disk
CTR_TIMEOUT_SECONDS = 30
LOG_TAIL_LINES = 30
# The programs `down` may find by command line when the state file is gone (see _stragglers).
PROGRAMS = {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "containerd", "kubelet"}


def log(message: str) -> None:
    print(f"localkube: {message}", file=sys.stderr, flush=True)


@dataclass
class LocalKube:
    folder: Path
    network: NetworkSettings = field(default_factory=NetworkSettings)
    node_name: str = "mm2-node"
    # What the workers' topology spread constraint (topology.kubernetes.io/zone) keys on.
    zone: str = "zone-a"

    @property
    def layout(self) -> Layout:
        return Layout(self.folder.resolve())

    # --- Whole cluster --------------------------------------------------------------------------

    def up(self) -> KubeCluster:
        started = time.monotonic()
        state = self._state()
        if state is not None and self._answers(state):
            log(f"already running: kubeconfig {state.layout.admin_kubeconfig}")
            return state.cluster()
        self.down()  # what a crash or an interrupted `up` left behind
        binaries = ensure_binaries()
        layout = self.layout
        layout.folder.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(layout.logs, ignore_errors=True)
        layout.logs.mkdir()
        state = ClusterState(
            str(layout.folder),
            str(binaries.bin_dir),
            self.network,
            Ports(*processes.free_ports(7)),
            self.node_name,
            self.zone,
        )
        state.save()  # from here on, `down` can find whatever this start leaves

        network.create(self.network, self._owner)
        cgroups.create(layout.cluster_id)
        server = state.cluster().server
        pki = write_pki(
            layout.pki,
            self.node_name,
            self.network.node_ip,
            self.network.first_service_ip,
            server,
            layout.admin_kubeconfig,
        )
        write_node_files(
            layout, pki, self.network, binaries.pause_image, state.ports.kubelet, state.ports.kubelet_healthz
        )
        spec = self._spec(state)
        ports = state.ports

        # etcd and containerd need nothing else; the API server needs etcd; the rest needs the API.
        self._start(state, spec.etcd())
        self._start(state, spec.containerd())
        self._wait(state, spec.etcd(), lambda: api.healthy(f"http://127.0.0.1:{ports.etcd_client}/health"))
        self._start(state, spec.apiserver())
        self._wait(state, spec.containerd(), self._containerd_answers)
        self._import(binaries.pause_archive)  # the sandbox image, before the kubelet asks for it
        self._wait(state, spec.apiserver(), lambda: api.healthy(f"{server}/readyz", pki))
        mounts.share(layout.kubelet_root)  # before the kubelet's mount namespace copies it
        for component in (spec.controller_manager(), spec.scheduler(), spec.kubelet()):
            self._start(state, component)
        self._wait(state, spec.kubelet(), lambda: api.healthy(f"http://127.0.0.1:{ports.kubelet_healthz}/healthz"))
        self._wait(state, spec.controller_manager(), _https_health(ports.controller_manager, pki))
        self._wait(state, spec.scheduler(), _https_health(ports.scheduler, pki))

        core = api.core_api(layout.admin_kubeconfig)
        self._wait(
            state,
            spec.kubelet(),
            lambda: api.node_ready(core, self.node_name) == "True",
            what=f"node {self.node_name} to be Ready",
            seconds=NODE_READY_SECONDS,
        )
        # Pods can be created once their namespace's ServiceAccount exists (the controller manager makes it).
        self._wait(
            state,
            spec.controller_manager(),
            lambda: api.has_service_account(core, "default", "default"),
            what="the default ServiceAccount",
        )
        log(
            f"ready in {time.monotonic() - started:.1f}s: node {self.node_name} at {self.network.node_ip}, "
            f"kubeconfig {layout.admin_kubeconfig}"
        )
        return state.cluster()

    def down(self) -> None:
        started = time.monotonic()
        layout = self.layout
        state = self._state()
        spec = self._spec(state) if state is not None else None

        slow: dict[str, float] = {}

        def stop(name: str) -> None:
            if state is not None and spec is not None:
                component, begun = self._component(spec, name), time.monotonic()
                processes.stop(state.pids.get(name), component.marker)
                if time.monotonic() - begun > 2:
                    slow[name] = time.monotonic() - begun

        stop("kubelet")  # first, so that nothing restarts a pod while they die
        cgroups.kill_all(layout.cluster_id)  # every pod's processes
        stop("containerd")
        shims = cleanup.kill_shims(layout)
        for name in STOP_ORDER[2:]:
            stop(name)
        stragglers = self._stragglers()
        for process in stragglers:
            log(f"killing {process.info['name']} (pid {process.pid}), which the state file did not name")
        cleanup.kill(stragglers, "processes of this cluster the state file did not name")
        shim_sockets, cni_cache = (
            cleanup.shim_sockets(layout),
            cleanup.cni_cache_files(layout, cleanup.task_ids(layout)),
        )
        mounts.unmount_all(layout.folder)
        sockets = cleanup.remove_shim_sockets(shim_sockets)
        for path in cni_cache:
            path.unlink(missing_ok=True)
        links = network.delete(self.network, self._owner)
        cgroups.remove(layout.cluster_id)
        cleanup.remove_folder(layout)
        if state is not None or shims or links:
            slowest = "".join(f", {name} took {seconds:.1f}s to stop" for name, seconds in slow.items())
            log(
                f"stopped in {time.monotonic() - started:.1f}s ({shims} shims, {sockets} shim sockets, "
                f"links {', '.join(links) or 'none'}{slowest}); logs kept in {layout.logs}"
            )

    def status(self) -> dict[str, str]:
        state = self._state()
        if state is None:
            return {"cluster": f"not started ({self.layout.folder})"}
        spec = self._spec(state)
        report = {}
        for name in reversed(STOP_ORDER):
            pid = state.pids.get(name)
            running = processes.alive(pid, self._component(spec, name).marker)
            report[name] = f"running (pid {pid})" if running else "stopped"
        cluster = state.cluster()
        report |= {
            "api server": cluster.server,
            "node": f"{cluster.node_name} {cluster.node_ip}",
            "pod cidr": cluster.pod_cidr,
            "kubeconfig": str(cluster.kubeconfig),
        }
        return report

    def leftovers(self) -> list[str]:
        """What of this cluster still exists; empty after `down` (the tests check it at teardown)."""
        layout = self.layout
        found = [f"process {p.pid} ({p.info['name']})" for p in self._stragglers()]
        found += [f"shim {p.pid}" for p in cleanup.shims(layout)]
        found += [f"pod process {pid}" for pid in sorted(cgroups.pids(layout.cluster_id))]
        found += [
            f"cgroup {mount / layout.cluster_id}"
            for mount in cgroups.hierarchies()
            if (mount / layout.cluster_id).exists()
        ]
        found += [f"mount {point}" for point in mounts.mounts_under(layout.folder)]
        found += [f"network link {name}" for name in network.owned_links(self.network, self._owner)]
        found += [f"CNI result {path}" for path in cleanup.cni_cache_files(layout, set())]
        if layout.folder.is_dir():
            found += [f"file {entry}" for entry in layout.folder.iterdir() if entry.name != "logs"]
        return found

    def cluster(self) -> KubeCluster:
        """The running cluster (after `up`, from any process)."""
        state = self._state()
        if state is None:
            raise FileNotFoundError(f"no cluster in {self.layout.folder}: run `python -m localkube up`")
        return state.cluster()

    def load_image(self, archive: Path) -> list[str]:
        """Import an OCI or docker archive into containerd's k8s.io namespace; return the image names.

        Pods then use the image by name with `imagePullPolicy: IfNotPresent` (or Never): nothing is
        pulled. The project's image: `.cache/image/mm2-eks.oci.tar` (`make image`), `localhost/mm2-eks:dev`.
        """
        self.cluster()  # a clear error when nothing runs
        names = archive_image_names(archive)
        self._import(archive)
        listed = set(self._ctr("images", "list", "--quiet").split())
        missing = [name for name in names if name not in listed and f"docker.io/{name}" not in listed]
        if missing:
            raise RuntimeError(f"imported {archive}, but containerd does not list {', '.join(missing)}")
        return names

    # --- Internals ------------------------------------------------------------------------------

    @property
    def _owner(self) -> str:
        return network.owner_alias(str(self.layout.folder))

    def _state(self) -> ClusterState | None:
        try:
            return ClusterState.load(self.layout.folder)
        except FileNotFoundError:
            return None

    def _spec(self, state: ClusterState) -> ClusterSpec:
        layout = state.layout
        return ClusterSpec(
            layout,
            Pki(layout.pki),
            KubeBinaries(Path(state.bin_dir)),
            state.network,
            state.ports,
            state.node_name,
            state.zone,
        )

    @staticmethod
    def _component(spec: ClusterSpec, name: str) -> Component:
        return {
            "etcd": spec.etcd,
            "kube-apiserver": spec.apiserver,
            "kube-controller-manager": spec.controller_manager,
            "kube-scheduler": spec.scheduler,
            "containerd": spec.containerd,
            "kubelet": spec.kubelet,
        }[name]()

    def _answers(self, state: ClusterState) -> bool:
        spec = self._spec(state)
        if not all(processes.alive(state.pids.get(n), self._component(spec, n).marker) for n in STOP_ORDER):
            return False
        return api.healthy(f"{state.cluster().server}/readyz", Pki(state.layout.pki))

    def _start(self, state: ClusterState, component: Component) -> None:
        log(f"starting {component.name}")
        state.pids[component.name] = processes.start(component.argv, state.layout.log(component.name), component.env)
        state.save()

    def _wait(
        self,
        state: ClusterState,
        component: Component,
        ready: Callable[[], bool],
        what: str = "",
        seconds: float = START_SECONDS,
    ) -> None:
        """Until `ready()`; a component that exits or times out is named, with its log's last lines."""
        what = what or f"{component.name} to be ready"
        log_file = state.layout.log(component.name)

        def probe() -> bool:
            if not processes.alive(state.pids.get(component.name), component.marker):
                raise RuntimeError(
                    f"{component.name} exited during start-up; last lines of {log_file}:\n{_tail(log_file)}"
                )
            return ready()

        try:
            poll_until(probe, timeout=seconds, interval=0.25, what=what)
        except PollTimeout:
            raise RuntimeError(
                f"{component.name}: timed out after {seconds:.0f}s waiting for {what}; "
                f"last lines of {log_file}:\n{_tail(log_file)}"
            ) from None

    def _containerd_answers(self) -> bool:
        """containerd serves, with its CRI plugin loaded (it starts without it when its config is wrong)."""
        try:
            plugins = self._ctr("plugins", "list")
        except RuntimeError:
            return False
        cri = [line.split() for line in plugins.splitlines() if line.split()[:2] == ["io.containerd.grpc.v1", "cri"]]
        if not cri or cri[0][-1] != "ok":
            log_file = self.layout.log("containerd")
            failures = [line for line in _tail(log_file, 10_000).splitlines() if "failed to load plugin" in line]
            raise RuntimeError(
                f"containerd started without its CRI plugin; its plugin errors in {log_file}:\n"
                + "\n".join(failures[-LOG_TAIL_LINES:])
            )
        return True

    def _import(self, archive: Path) -> None:
        log(f"importing {archive} into containerd (namespace k8s.io)")
        self._ctr("images", "import", str(archive), timeout=IMPORT_TIMEOUT_SECONDS)

    def _ctr(self, *args: str, timeout: float = CTR_TIMEOUT_SECONDS) -> str:
        command = [str(CTR), "--address", str(self.layout.containerd_socket), "--namespace", cleanup.NAMESPACE, *args]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"`ctr {' '.join(args)}` did not finish within {timeout:.0f}s") from None
        if result.returncode != 0:
            raise RuntimeError(f"`ctr {' '.join(args)}` failed (exit {result.returncode}): {result.stderr.strip()}")
        return result.stdout

    def _stragglers(self) -> list[psutil.Process]:
        """Our programs whose command line names this folder, whatever the state file says."""
        folder = f"{self.layout.folder}/"
        found = []
        for process in psutil.process_iter(["name", "cmdline"]):
            cmdline = process.info["cmdline"] or []
            if process.info["name"] in PROGRAMS and any(folder in argument for argument in cmdline):
                found.append(process)
        return found


def _https_health(port: int, pki: Pki) -> Callable[[], bool]:
    return lambda: api.healthy(f"https://127.0.0.1:{port}/healthz", pki)


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log file)"
