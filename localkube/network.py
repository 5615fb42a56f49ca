"""The cluster's own addresses: a dummy interface for the node IP and a bridge for the pods.

Nothing else is reachable. The node IP is a /32 on a dummy interface created at `up` (a bridge without
ports where the kernel has no dummy driver, as on this project's machines), so the kubelet gets a
non-loopback address that belongs to this run only; the pods' bridge has a private subnet,
and the pods' only route is to the node IP (see node_config.cni_config), where the host serves
everything they may reach (the Kafka brokers of the test session). Both links carry an alias naming
the cluster folder, so `down` deletes only its own, and a second cluster on the same names is
refused instead of sharing them.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from dataclasses import dataclass
from typing import Any

IP_TIMEOUT_SECONDS = 15


@dataclass(frozen=True)
class NetworkSettings:
    interface: str = "mm2kube0"  # the dummy interface that holds the node IP
    node_ip: str = "10.203.0.1"
    bridge: str = "mm2kube-br0"  # the pods' bridge (the CNI bridge plugin adds their veths to it)
    pod_cidr: str = "10.203.1.0/24"
    service_cidr: str = "10.96.0.0/16"  # virtual only: there is no kube-proxy, nothing routes to it

    @property
    def gateway(self) -> str:
        """The bridge's address, the pods' next hop to the node IP."""
        return str(next(ipaddress.ip_network(self.pod_cidr).hosts()))

    @property
    def bridge_mac(self) -> str:
        """The bridge's own MAC address: locally administered, made of the gateway's IPv4 bytes.

        A Linux bridge without an address set takes the lowest MAC among its ports, so it changes as
        pods come and go. The other pods' ARP entry for the gateway then names a MAC nobody has, and
        their traffic to the node stops until that entry expires, about 30 s (seen: a worker's
        herder stuck "flushing updates to the status topic" while the rollout replaced the other
        worker). An address set explicitly stays.
        """
        return fixed_bridge_mac(self.gateway)

    @property
    def first_service_ip(self) -> str:
        """The `kubernetes` Service's ClusterIP, which the API server's certificate must name."""
        return str(next(ipaddress.ip_network(self.service_cidr).hosts()))


def fixed_bridge_mac(gateway: str) -> str:
    """A locally administered MAC made of the gateway's IPv4 bytes: one per subnet, never a port's."""
    return "02:00:" + ":".join(f"{byte:02x}" for byte in ipaddress.ip_address(gateway).packed)


def owner_alias(folder: str) -> str:
    return f"localkube {folder}"


def create(settings: NetworkSettings, owner: str) -> None:
    """The dummy interface with the node IP, and the pods' bridge with its gateway address, both up."""
    _refuse_conflicts(settings)
    _ensure_link(settings.interface, "dummy", owner, f"{settings.node_ip}/32")
    prefix = ipaddress.ip_network(settings.pod_cidr).prefixlen
    _ensure_link(settings.bridge, "bridge", owner, f"{settings.gateway}/{prefix}", mac=settings.bridge_mac)


def delete(settings: NetworkSettings, owner: str) -> list[str]:
    """Delete both links if they are ours; return what was deleted. (Pods' veths go with their netns.)"""
    deleted = owned_links(settings, owner)
    for name in deleted:
        run_ip("link", "delete", "dev", name)
    return deleted


def owned_links(settings: NetworkSettings, owner: str) -> list[str]:
    """Which of the two links exist and are ours."""
    return [name for name in (settings.interface, settings.bridge) if (link_info(name) or {}).get("ifalias") == owner]


def _ensure_link(name: str, kind: str, owner: str, address: str, mac: str | None = None) -> None:
    link = link_info(name)
    if link is None:
        try:
            run_ip("link", "add", name, "type", kind)
        except RuntimeError as error:
            if kind != "dummy" or "Unknown device type" not in str(error):
                raise
            # This machine kind's kernel has no dummy driver: a bridge without ports holds an
            # address just as well, and forwards nothing.
            run_ip("link", "add", name, "type", "bridge")
        run_ip("link", "set", "dev", name, "alias", owner)
        # No IPv6 link-local address, hence no neighbour discovery chatter on our links.
        run_ip("link", "set", "dev", name, "addrgenmode", "none")
    elif link.get("ifalias") != owner:
        raise RuntimeError(
            f"network interface {name} exists but is not this cluster's (alias {link.get('ifalias')!r}, "
            f"expected {owner!r}): another cluster uses it; stop that one or choose other NetworkSettings"
        )
    if mac is not None and (link_info(name) or {}).get("address") != mac:
        run_ip("link", "set", "dev", name, "address", mac)
    addresses = {f"{a['local']}/{a['prefixlen']}" for a in _addresses(name)}
    if address not in addresses:
        run_ip("addr", "add", address, "dev", name)
    run_ip("link", "set", "dev", name, "up")


def _refuse_conflicts(settings: NetworkSettings) -> None:
    """Our subnets must not overlap a route of the machine's (other than our own links')."""
    ours = [ipaddress.ip_network(f"{settings.node_ip}/32"), ipaddress.ip_network(settings.pod_cidr)]
    for route in json.loads(run_ip("-j", "route", "show") or "[]"):
        if route.get("dst") in (None, "default") or route.get("dev") in (settings.interface, settings.bridge):
            continue
        network = ipaddress.ip_network(route["dst"], strict=False)
        for mine in ours:
            if network.version == mine.version and network.overlaps(mine):
                raise RuntimeError(
                    f"the machine already routes {route['dst']} (dev {route.get('dev')}), which overlaps the "
                    f"cluster's {mine}: choose other NetworkSettings (node_ip, pod_cidr)"
                )


def link_info(name: str) -> dict[str, Any] | None:
    """What `ip -j link show` says of one link (its "address" is the MAC), or None if it does not exist."""
    result = subprocess.run(
        ["ip", "-j", "link", "show", "dev", name], capture_output=True, text=True, timeout=IP_TIMEOUT_SECONDS
    )
    if result.returncode != 0:
        return None  # "Device does not exist"
    links: list[dict[str, Any]] = json.loads(result.stdout)
    return links[0] if links else None


def _addresses(name: str) -> list[dict[str, Any]]:
    links = json.loads(run_ip("-j", "-4", "addr", "show", "dev", name) or "[]")
    return [info for link in links for info in link.get("addr_info", [])]


def run_ip(*args: str) -> str:
    """Run `ip` with these arguments; its output, or a RuntimeError carrying its message."""
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=IP_TIMEOUT_SECONDS)
    if result.returncode != 0:
        raise RuntimeError(f"`ip {' '.join(args)}` failed (exit {result.returncode}): {result.stderr.strip()}")
    return result.stdout
