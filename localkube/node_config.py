"""The node's configuration files: containerd's config.toml, the CNI network and the kubelet's config.

Each setting that differs from the default says why; most keep a path inside the cluster folder
or make the node work on this machine kind (cgroup v1, no CAP_SYS_RESOURCE, no systemd).
"""

from __future__ import annotations

import json
import shlex
from typing import Any

import yaml

from localkube.network import NetworkSettings
from localkube.paths import CNI_BIN_DIR, RUNC, Layout
from localkube.pki import Pki

# Plugins containerd would load for nothing here (and log errors about).
DISABLED_PLUGINS = (
    "io.containerd.snapshotter.v1.aufs",
    "io.containerd.snapshotter.v1.btrfs",
    "io.containerd.snapshotter.v1.devmapper",
    "io.containerd.snapshotter.v1.zfs",
)


# The kernel settings the kubelet insists on (pkg/kubelet/cm, setupKernelTunables): it writes them
# when they differ, and fails when it cannot. This machine is shared (kernel.panic_on_oops=1 would
# turn any oops into a reboot for everyone), so the kubelet runs in a mount namespace of its own in
# which these /proc/sys files show its values: it reads what it wants and writes nothing.
KUBELET_SYSCTLS = {
    "vm/overcommit_memory": "1",
    "vm/panic_on_oom": "0",
    "kernel/panic": "10",
    "kernel/panic_on_oops": "1",
    "kernel/keys/root_maxkeys": "1000000",
    "kernel/keys/root_maxbytes": "25000000",
}


def kubelet_namespace_script(layout: Layout) -> str:
    """Run by `unshare --mount --propagation unchanged sh -c <script> - kubelet ...` before the kubelet.

    The kubelet's root dir is a shared mount (mounts.share), so the volumes the kubelet mounts
    there reach containerd; what this script mounts is private to the kubelet's namespace:
    the sysctl files, and folders of ours over the two it writes whatever its configuration says:
    /var/log (it makes /var/log/containers) and /var/lib (its device plugin socket is
    /var/lib/kubelet/device-plugins/kubelet.sock, a constant). It reads nothing else from either.
    """
    lines = ["set -e", "mount --make-private /", "mount --make-rprivate /proc"]
    for name in KUBELET_SYSCTLS:
        lines.append(f"mount --bind {shlex.quote(str(layout.kubelet_sysctl(name)))} /proc/sys/{name}")
    for target, source in (("/var/log", layout.kubelet_var_log), ("/var/lib", layout.kubelet_var_lib)):
        lines.append(f"mount --bind {shlex.quote(str(source))} {target}")
    lines.append('exec "$@"')
    return "\n".join(lines)


def containerd_config(layout: Layout, sandbox_image: str) -> str:
    """containerd 1.6's config (version 2). JSON strings are valid TOML basic strings."""
    q = json.dumps
    cri = '[plugins."io.containerd.grpc.v1.cri"'
    return "\n".join(
        [
            "version = 2",
            f"root = {q(str(layout.containerd_root))}",
            f"state = {q(str(layout.containerd_state))}",
            f"disabled_plugins = {q(list(DISABLED_PLUGINS))}",
            "",
            "[grpc]",
            f"  address = {q(str(layout.containerd_socket))}",
            "",
            '[plugins."io.containerd.internal.v1.opt"]',
            f"  path = {q(str(layout.containerd / 'opt'))}",  # default /opt/containerd
            "",
            f"{cri}]",
            # Imported from the archive build.sh makes before the kubelet starts: never pulled.
            f"  sandbox_image = {q(sandbox_image)}",
            # Root lacks CAP_SYS_RESOURCE here, so runc cannot lower a sandbox's oom_score_adj below
            # ours ("can't get final child's PID from pipe: EOF"); this caps it at ours instead.
            "  restrict_oom_score_adj = true",
            # Pods' network namespaces under <state>/netns instead of /var/run/netns.
            "  netns_mounts_under_state_dir = true",
            '  stream_server_address = "127.0.0.1"',
            '  stream_server_port = "0"',
            f"  {cri}.cni]",
            f"    bin_dir = {q(str(CNI_BIN_DIR))}",
            f"    conf_dir = {q(str(layout.cni_conf_dir))}",
            "    max_conf_num = 1",
            f"  {cri}.registry]",
            # An empty hosts folder of our own, instead of /etc/containerd/certs.d.
            f"    config_path = {q(str(layout.containerd / 'certs.d'))}",
            f"  {cri}.containerd]",
            '    snapshotter = "overlayfs"',
            '    default_runtime_name = "runc"',
            f"    {cri}.containerd.runtimes.runc]",
            '      runtime_type = "io.containerd.runc.v2"',
            f"      {cri}.containerd.runtimes.runc.options]",
            f"        BinaryName = {q(str(RUNC))}",
            # runc's state under the cluster folder instead of /run/containerd/runc.
            f"        Root = {q(str(layout.runc_root))}",
            "        SystemdCgroup = false",
            "",
        ]
    )


def containerd_environment() -> dict[str, str]:
    """Every registry request goes to a closed loopback port: the node pulls nothing, ever.

    Images come from archives (`LocalKube.load_image`), so a pull can only be a mistake (an image
    name that was not loaded), and it must fail at once instead of reaching a registry.
    """
    dead = "http://127.0.0.1:9"  # the discard port: nothing listens there
    return {
        "HTTP_PROXY": dead,
        "HTTPS_PROXY": dead,
        "NO_PROXY": "",
        "http_proxy": dead,
        "https_proxy": dead,
        "no_proxy": "",
    }


def no_proxy_environment() -> dict[str, str]:
    """For the control plane and the kubelet: whatever proxy the caller's shell names, never use it."""
    return {"HTTP_PROXY": "", "HTTPS_PROXY": "", "NO_PROXY": "*", "http_proxy": "", "https_proxy": "", "no_proxy": "*"}


def cni_config(layout: Layout, network: NetworkSettings) -> dict[str, Any]:
    """The pods' network: a bridge of our own, and a route to the node IP only (no default route)."""
    return {
        "cniVersion": "1.0.0",
        "name": layout.cluster_id,
        "plugins": [
            {
                "type": "bridge",
                "bridge": network.bridge,
                "isGateway": True,  # the bridge holds the gateway address, the pods' next hop
                "ipMasq": False,  # no NAT: pods reach nothing beyond the host
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "dataDir": str(layout.cni_ipam_dir),  # default /var/lib/cni/networks
                    "ranges": [[{"subnet": network.pod_cidr, "gateway": network.gateway}]],
                    "routes": [{"dst": f"{network.node_ip}/32"}],
                },
            }
        ],
    }


def kubelet_config(layout: Layout, pki: Pki, network: NetworkSettings, port: int, healthz_port: int) -> dict[str, Any]:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        # The API server reaches the kubelet (logs, exec, port-forward) on the node IP.
        "address": network.node_ip,
        "port": port,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": healthz_port,
        "tlsCertFile": str(pki.cert("kubelet-serving")),
        "tlsPrivateKeyFile": str(pki.key("kubelet-serving")),
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(pki.ca)},
        },
        "authorization": {"mode": "Webhook"},
        "containerRuntimeEndpoint": f"unix://{layout.containerd_socket}",
        # Kubernetes 1.35 refuses cgroup v1 unless told otherwise; this machine kind has only v1.
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",  # PID 1 is not systemd
        "cgroupRoot": f"/{layout.cluster_id}",  # made by cgroups.create; down kills what is below it
        "podLogsDir": str(layout.pod_logs),  # default /var/log/pods
        "volumePluginDir": str(layout.kubelet_root / "volume-plugins"),  # default under /usr/libexec
        # No cluster DNS; an empty resolv.conf keeps the host's name servers out of the pods.
        "resolvConf": str(layout.resolv_conf),
        "clusterDomain": "cluster.local",
        # The machine is shared and its disk fills with other work: never evict a test's pods or
        # collect its images because of that.
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "1%",
            "imagefs.available": "1%",
            "nodefs.inodesFree": "1%",
        },
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        # No iptables chains of the kubelet's in the host's tables.
        "makeIPTablesUtilChains": False,
    }


def write_node_files(
    layout: Layout, pki: Pki, network: NetworkSettings, sandbox_image: str, kubelet_port: int, kubelet_healthz_port: int
) -> None:
    for folder in (
        layout.containerd,
        layout.containerd / "certs.d",
        layout.cni_conf_dir,
        layout.cni_ipam_dir,
        layout.kubelet_root,
        layout.pod_logs,
        layout.kubelet_var_log,
        layout.kubelet_var_lib,
    ):
        folder.mkdir(parents=True, exist_ok=True)
    for name, value in KUBELET_SYSCTLS.items():
        layout.kubelet_sysctl(name).parent.mkdir(parents=True, exist_ok=True)
        layout.kubelet_sysctl(name).write_text(f"{value}\n")
    layout.containerd_config.write_text(containerd_config(layout, sandbox_image))
    (layout.cni_conf_dir / f"10-{layout.cluster_id}.conflist").write_text(
        json.dumps(cni_config(layout, network), indent=2)
    )
    kubelet = kubelet_config(layout, pki, network, kubelet_port, kubelet_healthz_port)
    layout.kubelet_config.write_text(yaml.safe_dump(kubelet, sort_keys=False))
    layout.resolv_conf.write_text("")
