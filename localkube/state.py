"""The cluster as its users see it (`KubeCluster`), and the state file `down` and `status` read.

The state file is written before the first process starts and after each one, so that `down` finds
every pid even when `up` crashed half-way. It holds no secret: keys and kubeconfigs are 0600 files.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from localkube.components import Ports
from localkube.network import NetworkSettings
from localkube.paths import Layout
from localkube.pki import Pki


@dataclass(frozen=True)
class KubeCluster:
    """A running cluster: what a test or a Pulumi stack needs to use it."""

    folder: Path
    kubeconfig: Path  # the admin's (O=system:masters), self-contained, mode 0600
    server: str  # https://127.0.0.1:<port>
    ca_certificate: Path
    node_name: str
    node_ip: str  # on the cluster's dummy interface: where pods reach the host (its Kafka brokers)
    pod_cidr: str

    def kubeconfig_text(self) -> str:
        return self.kubeconfig.read_text()


@dataclass
class ClusterState:
    folder: str
    bin_dir: str
    network: NetworkSettings
    ports: Ports
    node_name: str
    zone: str
    pids: dict[str, int] = field(default_factory=dict)

    @property
    def layout(self) -> Layout:
        return Layout(Path(self.folder))

    def cluster(self) -> KubeCluster:
        layout = self.layout
        return KubeCluster(
            folder=layout.folder,
            kubeconfig=layout.admin_kubeconfig,
            server=f"https://127.0.0.1:{self.ports.apiserver}",
            ca_certificate=Pki(layout.pki).ca,
            node_name=self.node_name,
            node_ip=self.network.node_ip,
            pod_cidr=self.network.pod_cidr,
        )

    def save(self) -> None:
        path = self.layout.state_file
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=2))
        temporary.replace(path)

    @classmethod
    def load(cls, folder: Path) -> ClusterState:
        data = json.loads(Layout(folder).state_file.read_text())
        return cls(
            folder=data["folder"],
            bin_dir=data["bin_dir"],
            network=NetworkSettings(**data["network"]),
            ports=Ports(**data["ports"]),
            node_name=data["node_name"],
            zone=data["zone"],
            pids={name: int(pid) for name, pid in data["pids"].items()},
        )
