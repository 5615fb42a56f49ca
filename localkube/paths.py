"""Where things are: the repository, the build script, the system binaries and a cluster's folder."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD_SCRIPT = REPO_ROOT / "tools" / "kubernetes" / "build.sh"
# The project's image, made by `make image` (tools/image/build.sh).
PROJECT_IMAGE_ARCHIVE = REPO_ROOT / ".cache" / "image" / "mm2-eks.oci.tar"
PROJECT_IMAGE = "localhost/mm2-eks:dev"

# The cluster folder: MM2_LOCAL_KUBE_DIR if set, else this folder of the project.
KUBE_DIR_VARIABLE = "MM2_LOCAL_KUBE_DIR"
DEFAULT_KUBE_DIR = ".local/kube"

# Debian packages (tools/system/packages.txt): etcd-server, containerd, runc, containernetworking-plugins.
ETCD = Path("/usr/bin/etcd")
CONTAINERD = Path("/usr/bin/containerd")
CTR = Path("/usr/bin/ctr")
RUNC = Path("/usr/sbin/runc")
CNI_BIN_DIR = Path("/usr/lib/cni")
CNI_PLUGINS = ("bridge", "host-local", "loopback")


def kube_dir(configured: str | None = None) -> Path:
    """The one rule for where the cluster lives; relative paths are relative to the project."""
    chosen = configured or os.environ.get(KUBE_DIR_VARIABLE) or DEFAULT_KUBE_DIR
    return (REPO_ROOT / chosen).resolve()


@dataclass(frozen=True)
class Layout:
    """Every file and folder of one cluster, all under `folder` (containerd 1.6's few exceptions: cleanup.py)."""

    folder: Path

    @property
    def cluster_id(self) -> str:
        """Names what lives outside the folder (a cgroup, a CNI network), so each cluster finds only its own."""
        return "localkube-" + hashlib.sha256(str(self.folder).encode()).hexdigest()[:8]

    @property
    def state_file(self) -> Path:
        return self.folder / "state.json"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.folder / "kubeconfig"

    @property
    def pki(self) -> Path:
        return self.folder / "pki"

    @property
    def logs(self) -> Path:
        return self.folder / "logs"

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"

    @property
    def etcd_data(self) -> Path:
        return self.folder / "etcd"

    @property
    def containerd(self) -> Path:
        return self.folder / "containerd"

    @property
    def containerd_config(self) -> Path:
        return self.containerd / "config.toml"

    @property
    def containerd_socket(self) -> Path:
        return self.containerd / "containerd.sock"

    @property
    def containerd_root(self) -> Path:
        return self.containerd / "root"

    @property
    def containerd_state(self) -> Path:
        return self.containerd / "state"

    @property
    def runc_root(self) -> Path:
        return self.containerd / "runc"

    @property
    def cni_conf_dir(self) -> Path:
        return self.folder / "cni" / "net.d"

    @property
    def cni_ipam_dir(self) -> Path:
        return self.folder / "cni" / "ipam"

    @property
    def kubelet_root(self) -> Path:
        return self.folder / "kubelet"

    def kubelet_sysctl(self, name: str) -> Path:
        """What the kubelet's mount namespace shows as /proc/sys/<name> (node_config.KUBELET_SYSCTLS)."""
        return self.folder / "kubelet-namespace" / "sysctl" / name.replace("/", ".")

    @property
    def kubelet_var_log(self) -> Path:
        """The kubelet's /var/log (it makes /var/log/containers there)."""
        return self.folder / "kubelet-namespace" / "var-log"

    @property
    def kubelet_var_lib(self) -> Path:
        """The kubelet's /var/lib (it makes /var/lib/kubelet/device-plugins there)."""
        return self.folder / "kubelet-namespace" / "var-lib"

    @property
    def kubelet_config(self) -> Path:
        return self.folder / "kubelet-config.yaml"

    @property
    def pod_logs(self) -> Path:
        return self.folder / "pod-logs"

    @property
    def resolv_conf(self) -> Path:
        return self.folder / "resolv.conf"
