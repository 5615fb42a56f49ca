"""The command line of each process of the cluster, in start order.

Everything listens on 127.0.0.1 at ports picked free at `up`, except the kubelet, which the API
server reaches on the node IP (the dummy interface's address). Each command line holds a path of
the cluster folder (`marker`), which is how `down` knows a pid is still ours.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from localkube import node_config
from localkube.binaries import KubeBinaries
from localkube.network import NetworkSettings
from localkube.paths import CONTAINERD, ETCD, Layout
from localkube.pki import Pki

SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
# The order `down` stops them in: the node first, so nothing restarts a pod while the rest goes.
STOP_ORDER = ("kubelet", "containerd", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd")


@dataclass(frozen=True)
class Ports:
    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int
    kubelet: int
    kubelet_healthz: int


@dataclass(frozen=True)
class Component:
    name: str
    argv: list[str]
    marker: str  # an argument no other cluster's process has
    env: dict[str, str] = field(default_factory=node_config.no_proxy_environment)


@dataclass(frozen=True)
class ClusterSpec:
    """What the command lines are made of."""

    layout: Layout
    pki: Pki
    binaries: KubeBinaries
    network: NetworkSettings
    ports: Ports
    node_name: str
    zone: str

    def etcd(self) -> Component:
        client = f"http://127.0.0.1:{self.ports.etcd_client}"
        peer = f"http://127.0.0.1:{self.ports.etcd_peer}"
        data_dir = f"--data-dir={self.layout.etcd_data}"
        argv = [
            str(ETCD), "--name=localkube", data_dir,
            f"--listen-client-urls={client}", f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=localkube={peer}", "--initial-cluster-state=new",
            "--logger=zap", "--log-outputs=stderr", "--log-level=warn",
        ]  # fmt: skip
        return Component("etcd", argv, data_dir)

    def apiserver(self) -> Component:
        pki, tls_cert = self.pki, f"--tls-cert-file={self.pki.cert('apiserver')}"
        argv = [
            str(self.binaries.path("kube-apiserver")),
            # Bound to loopback; the node IP is what the `kubernetes` Service's endpoints say
            # (they may not be loopback), and no pod has a route to it anyway.
            "--bind-address=127.0.0.1", f"--secure-port={self.ports.apiserver}",
            f"--advertise-address={self.network.node_ip}",
            f"--etcd-servers=http://127.0.0.1:{self.ports.etcd_client}",
            tls_cert, f"--tls-private-key-file={pki.key('apiserver')}", f"--client-ca-file={pki.ca}",
            "--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction",
            f"--service-cluster-ip-range={self.network.service_cidr}",
            f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
            f"--service-account-key-file={pki.service_account_public_key}",
            f"--service-account-signing-key-file={pki.service_account_key}",
            f"--kubelet-client-certificate={pki.cert('apiserver-kubelet-client')}",
            f"--kubelet-client-key={pki.key('apiserver-kubelet-client')}",
            f"--kubelet-certificate-authority={pki.ca}",
            "--kubelet-preferred-address-types=InternalIP",
            "--profiling=false",
        ]  # fmt: skip
        return Component("kube-apiserver", argv, tls_cert)

    def controller_manager(self) -> Component:
        kubeconfig = f"--kubeconfig={self.pki.kubeconfig('controller-manager')}"
        argv = [
            str(self.binaries.path("kube-controller-manager")), kubeconfig,
            *self._serving("controller-manager", self.ports.controller_manager),
            # One token per controller (what kubeadm does), and the CA that pods' kube-root-ca.crt carries.
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={self.pki.service_account_key}",
            f"--root-ca-file={self.pki.ca}",
            "--leader-elect=false",  # one instance
            # It creates this folder when missing (default /usr/libexec/kubernetes/kubelet-plugins/...).
            f"--flex-volume-plugin-dir={self.layout.folder / 'controller-manager' / 'volume-plugins'}",
        ]  # fmt: skip
        return Component("kube-controller-manager", argv, kubeconfig)

    def scheduler(self) -> Component:
        kubeconfig = f"--kubeconfig={self.pki.kubeconfig('scheduler')}"
        argv = [
            str(self.binaries.path("kube-scheduler")), kubeconfig,
            *self._serving("scheduler", self.ports.scheduler), "--leader-elect=false",
        ]  # fmt: skip
        return Component("kube-scheduler", argv, kubeconfig)

    def containerd(self) -> Component:
        config = f"--config={self.layout.containerd_config}"
        return Component("containerd", [str(CONTAINERD), config], config, node_config.containerd_environment())

    def kubelet(self) -> Component:
        config = f"--config={self.layout.kubelet_config}"
        namespace = node_config.kubelet_namespace_script(self.layout)
        argv = [
            # Its own mount namespace: see node_config.kubelet_namespace_script.
            "unshare", "--mount", "--propagation", "unchanged", "--", "/bin/sh", "-c", namespace, "kubelet",
            str(self.binaries.path("kubelet")), config,
            f"--kubeconfig={self.pki.kubeconfig('kubelet')}",
            f"--root-dir={self.layout.kubelet_root}", f"--cert-dir={self.layout.kubelet_root / 'pki'}",
            f"--hostname-override={self.node_name}", f"--node-ip={self.network.node_ip}",
            # What the workers' topology spread constraint keys on (a label kubelets may set).
            f"--node-labels=topology.kubernetes.io/zone={self.zone}",
        ]  # fmt: skip
        return Component("kubelet", argv, config)

    def _serving(self, name: str, port: int) -> list[str]:
        """HTTPS on loopback with a certificate of ours, and the delegated authn/authz of the API server."""
        kubeconfig = self.pki.kubeconfig(name)
        return [
            "--bind-address=127.0.0.1", f"--secure-port={port}",
            f"--tls-cert-file={self.pki.cert(f'{name}-serving')}",
            f"--tls-private-key-file={self.pki.key(f'{name}-serving')}",
            f"--authentication-kubeconfig={kubeconfig}", f"--authorization-kubeconfig={kubeconfig}",
        ]  # fmt: skip
