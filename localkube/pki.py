"""The cluster's certificates and kubeconfigs, made afresh at each `up` (nothing outlives a cluster).

One CA signs everything (a single-node test cluster has no use for kubeadm's separate front-proxy
and etcd CAs: etcd listens on loopback only, without TLS). Who is who follows Kubernetes' own
conventions, so that the RBAC and Node authorizers see the identities they expect:

- `apiserver`: CN kube-apiserver, SANs 127.0.0.1, the node IP, the first service IP and the
  kubernetes.default names (the API server's serving certificate);
- `apiserver-kubelet-client`: O system:masters (the API server calling the kubelet: logs, port-forward);
- `admin`: CN localkube-admin, O system:masters (the admin kubeconfig);
- `controller-manager`, `scheduler`: CN system:kube-controller-manager / system:kube-scheduler;
- `kubelet`: CN system:node:<node>, O system:nodes (what the Node authorizer expects);
- `kubelet-serving`, `controller-manager-serving`, `scheduler-serving`: where they listen.

The service-account signing key is an EC P-256 key pair (ES256 tokens). EC keys throughout, from the
`cryptography` package, as localkafka's certificates; the CA comes from localkafka.certs.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from connect.secret_file import write_secret
from localkafka.certs import Issued, issue, key_pem, new_ca

CLIENTS = {
    # name: (common name, organization)
    "admin": ("localkube-admin", "system:masters"),
    "apiserver-kubelet-client": ("kube-apiserver-kubelet-client", "system:masters"),
    "controller-manager": ("system:kube-controller-manager", None),
    "scheduler": ("system:kube-scheduler", None),
}


@dataclass(frozen=True)
class Pki:
    """Where one cluster's certificates are: `<name>.crt` / `<name>.key` in one folder."""

    folder: Path

    def cert(self, name: str) -> Path:
        return self.folder / f"{name}.crt"

    def key(self, name: str) -> Path:
        return self.folder / f"{name}.key"

    def kubeconfig(self, name: str) -> Path:
        return self.folder / f"{name}.kubeconfig"

    @property
    def ca(self) -> Path:
        return self.cert("ca")

    @property
    def service_account_key(self) -> Path:
        return self.key("service-account")

    @property
    def service_account_public_key(self) -> Path:
        return self.folder / "service-account.pub"


def write_pki(folder: Path, node_name: str, node_ip: str, service_ip: str, server: str, admin: Path) -> Pki:
    """Every certificate, key and kubeconfig of a new cluster; keys and kubeconfigs mode 0600."""
    pki = Pki(folder)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca = new_ca("localkube-ca")
    _save(pki, "ca", ca)
    api_hosts = (
        "127.0.0.1",
        node_ip,
        service_ip,
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
    )
    _save(pki, "apiserver", issue(ca, "kube-apiserver", hosts=api_hosts, server=True))
    for name in ("controller-manager", "scheduler"):
        _save(pki, f"{name}-serving", issue(ca, f"kube-{name}", hosts=("127.0.0.1", "localhost"), server=True))
    _save(pki, "kubelet-serving", issue(ca, node_name, hosts=(node_ip, node_name), server=True))
    _save(pki, "kubelet", issue(ca, f"system:node:{node_name}", server=False, organization="system:nodes"))
    for name, (common_name, organization) in CLIENTS.items():
        _save(pki, name, issue(ca, common_name, server=False, organization=organization))

    signing_key = ec.generate_private_key(ec.SECP256R1())
    write_secret(pki.service_account_key, key_pem(signing_key))
    pki.service_account_public_key.write_bytes(
        signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )

    for name in ("controller-manager", "scheduler", "kubelet"):
        write_kubeconfig(pki.kubeconfig(name), server, ca.certificate, _client_user(pki, name), f"localkube-{name}")
    write_kubeconfig(admin, server, ca.certificate, _client_user(pki, "admin"), "localkube-admin")
    return pki


def write_kubeconfig(path: Path, server: str, ca_certificate: str, user: dict[str, str], name: str) -> None:
    """A self-contained kubeconfig (everything embedded), mode 0600: it holds a key or a token."""
    config: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "localkube", "cluster": {"server": server, "certificate-authority-data": _b64(ca_certificate)}}
        ],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": name, "context": {"cluster": "localkube", "user": name}}],
        "current-context": name,
    }
    write_secret(path, yaml.safe_dump(config, sort_keys=False))


def _client_user(pki: Pki, name: str) -> dict[str, str]:
    return {
        "client-certificate-data": _b64(pki.cert(name).read_text()),
        "client-key-data": _b64(pki.key(name).read_text()),
    }


def _save(pki: Pki, name: str, issued: Issued) -> None:
    pki.cert(name).write_text(issued.certificate)
    write_secret(pki.key(name), issued.private_key)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
