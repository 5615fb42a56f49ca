"""The pods' network: a podman bridge network of the test's own, with the host at its gateway address.

The network is `--internal`: the containers get no default route, so they can reach nothing but
this subnet (the host's gateway address, where the local Kafka listens, and each other). podman
gives an internal network's bridge no address, so the test creates the bridge itself, with the
gateway address on it, before the brokers start; the CNI bridge plugin then attaches the
containers to it. `podman network rm` removes the bridge again.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from dataclasses import dataclass

from localkube.network import fixed_bridge_mac
from tests.container.podman import TEST_LABEL, PodmanError, podman

IP_SECONDS = 10.0


@dataclass(frozen=True)
class PodNetwork:
    name: str
    subnet: ipaddress.IPv4Network
    bridge: str

    @property
    def gateway(self) -> str:
        """The host's address on the network: where the brokers listen and the pods reach them."""
        return str(self.subnet.network_address + 1)

    def pod_ip(self, index: int) -> str:
        return str(self.subnet.network_address + 10 + index)


def create_network(name: str, subnet: str) -> PodNetwork:
    network = ipaddress.IPv4Network(subnet)
    if not network.is_private:
        raise ValueError(f"MM2_CONTAINER_TEST_SUBNET: {subnet} is not a private network")
    remove_network(name)
    _check_unused(network)
    gateway = str(network.network_address + 1)
    podman(
        "network",
        "create",
        "--internal",
        "--disable-dns",
        "--label",
        f"{TEST_LABEL}={name}",
        "--subnet",
        str(network),
        "--gateway",
        gateway,
        name,
    )
    [inspected] = json.loads(podman("network", "inspect", name).stdout)
    bridge = inspected["network_interface"]
    _ip("link", "add", bridge, "type", "bridge")
    # A MAC of its own, or the bridge takes its lowest port's and a restarted container changes it
    # under the others (localkube.network.NetworkSettings.bridge_mac says what that costs).
    _ip("link", "set", bridge, "address", fixed_bridge_mac(gateway))
    _ip("address", "add", f"{gateway}/{network.prefixlen}", "dev", bridge)
    _ip("link", "set", bridge, "up")
    return PodNetwork(name, network, bridge)


def remove_network(name: str) -> None:
    """Remove the network, its containers and its bridge (also what an interrupted run left)."""
    result = podman("network", "inspect", name, check=False)
    if result.returncode != 0:
        return
    [inspected] = json.loads(result.stdout)
    podman("network", "rm", "--force", "--time", "0", name)
    bridge = inspected.get("network_interface")
    if bridge and _ip("link", "show", bridge, check=False).returncode == 0:
        _ip("link", "delete", bridge)


def _check_unused(network: ipaddress.IPv4Network) -> None:
    """Refuse a subnet that overlaps a route of the host: the pods' traffic must stay on their bridge."""
    routes = json.loads(_ip("-json", "-4", "route", "show").stdout or "[]")
    for route in routes:
        destination = route.get("dst", "")
        if destination not in ("", "default") and ipaddress.IPv4Network(destination, strict=False).overlaps(network):
            raise ValueError(
                f"MM2_CONTAINER_TEST_SUBNET: {network} overlaps the host's route to {destination} "
                f"(dev {route.get('dev')}); choose another private /24"
            )


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=IP_SECONDS)
    if check and result.returncode != 0:
        raise PodmanError(f"`ip {' '.join(args)}` failed (exit {result.returncode}): {result.stderr.strip()}")
    return result
