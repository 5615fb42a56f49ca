"""The local cluster itself: a Ready node, pods that run, the real port-forward, the deploy identity's
RBAC, and the one network path pods have: to the host, on the node IP (where the Kafka brokers listen)."""

from __future__ import annotations

import ipaddress
import socket
import struct
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes.client import ApiException

from connect import port_forward
from connect.polling import poll_until
from localkafka import processes
from localkafka.runtime import LocalRuntime
from localkube import api, network
from localkube.cluster import LocalKube
from localkube.identity import write_deploy_kubeconfig
from localkube.paths import PROJECT_IMAGE, PROJECT_IMAGE_ARCHIVE, REPO_ROOT
from localkube.state import KubeCluster
from tests.kubernetes.pods import netcheck_pod, wait_for_pod

SERVE_PORT = 8080
KAFKA_DIR = REPO_ROOT / ".local" / "test-kube-kafka"


def test_the_node_is_ready_on_the_dummy_address_in_its_zone(cluster: KubeCluster, core: Any) -> None:
    node = core.read_node(cluster.node_name)
    conditions = {c.type: c.status for c in node.status.conditions}
    assert conditions["Ready"] == "True"
    addresses = {a.type: a.address for a in node.status.addresses}
    assert addresses["InternalIP"] == cluster.node_ip
    assert node.metadata.labels["topology.kubernetes.io/zone"] == "zone-a"
    assert node.status.node_info.kubelet_version == "v1.35.4"
    assert node.status.node_info.container_runtime_version.startswith("containerd://1.6")


def test_up_again_returns_the_running_cluster(kube: LocalKube, cluster: KubeCluster) -> None:
    pids = dict(kube.status())
    assert kube.up() == cluster
    assert kube.status() == pids


def test_a_pod_runs_and_its_readiness_probe_passes(
    core: Any, namespace: str, netcheck_image: str, cluster: KubeCluster
) -> None:
    core.create_namespaced_pod(
        namespace, netcheck_pod("server", netcheck_image, ["serve", str(SERVE_PORT)], port=SERVE_PORT)
    )
    pod = wait_for_pod(core, namespace, "server", "Ready")
    assert ipaddress.ip_address(pod.status.pod_ip) in ipaddress.ip_network(cluster.pod_cidr)
    assert pod.spec.node_name == cluster.node_name
    # The log travels API server -> kubelet on the node IP, as port-forward does.
    assert "serving on port 8080" in core.read_namespaced_pod_log("server", namespace)


def test_configmap_secret_and_token_volumes_reach_the_container(core: Any, namespace: str, netcheck_image: str) -> None:
    """The kubelet mounts volumes in its own mount namespace; they must reach containerd's containers."""
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "settings"}, "data": {"worker": "a=1"}})
    core.create_namespaced_secret(namespace, {"metadata": {"name": "credentials"}, "stringData": {"password": "s3"}})
    pod = netcheck_pod("reader", netcheck_image, ["cat", "/config/worker", "/secret/password"], restart="Never")
    pod["spec"]["automountServiceAccountToken"] = True
    pod["spec"]["volumes"] = [
        {"name": "config", "configMap": {"name": "settings"}},
        {"name": "secret", "secret": {"secretName": "credentials", "defaultMode": 0o400}},
    ]
    pod["spec"]["securityContext"] = {"fsGroup": 65534}
    pod["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "config", "mountPath": "/config"},
        {"name": "secret", "mountPath": "/secret"},
    ]
    pod["spec"]["containers"][0]["args"].append("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
    core.create_namespaced_pod(namespace, pod)
    wait_for_pod(core, namespace, "reader", "Succeeded")
    assert core.read_namespaced_pod_log("reader", namespace).splitlines() == [
        "/config/worker: a=1",
        "/secret/password: s3",
        f"/var/run/secrets/kubernetes.io/serviceaccount/namespace: {namespace}",
    ]


def test_port_forward_through_the_api_with_the_deploy_identity(
    cluster: KubeCluster, core: Any, namespace: str, netcheck_image: str, tmp_path: Path
) -> None:
    labels = {"app": "netcheck"}
    pod = netcheck_pod("server", netcheck_image, ["serve", str(SERVE_PORT)], labels, port=SERVE_PORT)
    core.create_namespaced_pod(namespace, pod)
    wait_for_pod(core, namespace, "server", "Ready")
    kubeconfig = write_deploy_kubeconfig(cluster, namespace, tmp_path / "deploy.kubeconfig")
    assert kubeconfig.stat().st_mode & 0o777 == 0o600

    # The program's own code path: list the pods, pick a Ready one, relay over a port-forward stream.
    url = port_forward.forwarded_url(kubeconfig.read_text(), namespace, "app=netcheck", SERVE_PORT)
    for _ in range(3):  # each request is a new connection, hence a new stream
        assert httpx.get(url, timeout=10).text == "netcheck server\n"

    # And nothing beyond what the registration needs.
    deployer = api.core_api(kubeconfig)
    forbidden: list[tuple[str, tuple[str, ...]]] = [
        ("list_namespaced_secret", (namespace,)),
        ("list_namespaced_pod", ("default",)),
        ("delete_namespaced_pod", ("server", namespace)),
    ]
    for method, args in forbidden:
        with pytest.raises(ApiException) as refused:
            getattr(deployer, method)(*args)
        assert refused.value.status == 403, method


def test_the_deploy_identity_without_port_forward_is_refused(
    cluster: KubeCluster, core: Any, namespace: str, netcheck_image: str, tmp_path: Path
) -> None:
    pod = netcheck_pod("server", netcheck_image, ["serve", str(SERVE_PORT)], {"app": "netcheck"}, port=SERVE_PORT)
    core.create_namespaced_pod(namespace, pod)
    wait_for_pod(core, namespace, "server", "Ready")
    kubeconfig = write_deploy_kubeconfig(
        cluster, namespace, tmp_path / "lister.kubeconfig", port_forward=False, name="mm2-lister"
    )
    with pytest.raises(port_forward.PortForwardError, match="create on pods/portforward"):
        port_forward.forwarded_url(kubeconfig.read_text(), namespace, "app=netcheck", SERVE_PORT)


def test_a_pod_reaches_a_listener_of_the_host_on_the_node_ip(
    cluster: KubeCluster, core: Any, namespace: str, netcheck_image: str
) -> None:
    listener = socket.create_server((cluster.node_ip, 0))
    port = listener.getsockname()[1]
    seen: dict[str, Any] = {}

    def answer_once() -> None:
        connection, peer = listener.accept()
        with connection:
            seen["peer"], seen["data"] = peer[0], connection.recv(100)
            connection.sendall(b"hello pod")

    thread = threading.Thread(target=answer_once, daemon=True)
    thread.start()
    try:
        args = ["send", cluster.node_ip, str(port), b"hello host".hex()]
        core.create_namespaced_pod(namespace, netcheck_pod("client", netcheck_image, args, restart="Never"))
        wait_for_pod(core, namespace, "client", "Succeeded")
    finally:
        listener.close()
    poll_until(lambda: not thread.is_alive(), timeout=10, what="the host's listener to answer")
    assert seen["data"] == b"hello host"
    assert ipaddress.ip_address(seen["peer"]) in ipaddress.ip_network(cluster.pod_cidr)  # no NAT on the way
    assert core.read_namespaced_pod_log("client", namespace).strip() == f"reply {b'hello pod'.hex()}"


def test_a_pod_reaches_a_kafka_broker_of_the_local_runtime_on_the_node_ip(
    cluster: KubeCluster, core: Any, namespace: str, netcheck_image: str
) -> None:
    """How the test session runs the brokers for the workers: LocalRuntime(broker_host=node IP)."""
    runtime = LocalRuntime(KAFKA_DIR, broker_host=cluster.node_ip)
    runtime.down()
    try:
        broker = runtime.up(workers=0).brokers["destination"]
        assert broker.host == cluster.node_ip
        # A Kafka ApiVersions request (v0, correlation id 42): the broker answers before any auth.
        header = struct.pack(">hhih", 18, 0, 42, len(b"netcheck")) + b"netcheck"
        args = ["send", broker.host, str(broker.port), (struct.pack(">i", len(header)) + header).hex()]
        core.create_namespaced_pod(namespace, netcheck_pod("kafka-client", netcheck_image, args, restart="Never"))
        wait_for_pod(core, namespace, "kafka-client", "Succeeded")
    finally:
        runtime.down()
    reply = bytes.fromhex(core.read_namespaced_pod_log("kafka-client", namespace).split()[1])
    size, correlation_id, error_code = struct.unpack(">iih", reply[:10])
    assert (correlation_id, error_code) == (42, 0)
    assert size == len(reply) - 4


def test_pods_have_no_route_but_to_the_node_ip(core: Any, namespace: str, netcheck_image: str) -> None:
    """No packet leaves: the pod's kernel has no route to any other address (here one of our range)."""
    args = ["send", "10.203.255.1", "80", "00"]
    core.create_namespaced_pod(namespace, netcheck_pod("nowhere", netcheck_image, args, restart="Never"))
    wait_for_pod(core, namespace, "nowhere", "Failed")
    assert "Network is unreachable" in core.read_namespaced_pod_log("nowhere", namespace)


def test_the_pods_gateway_keeps_its_mac_when_a_port_with_a_lower_one_comes_and_goes(kube: LocalKube) -> None:
    """A veth with the lowest possible MAC joins the pods' bridge and leaves again, as a pod's does.

    A bridge without an address of its own would take that MAC, then another, and every pod's ARP
    entry for the gateway would name a MAC nobody has for about 30 s (NetworkSettings.bridge_mac).
    """
    bridge, expected = kube.network.bridge, kube.network.bridge_mac
    assert _mac(bridge) == expected
    network.run_ip("link", "add", "mm2kube-tv0", "type", "veth", "peer", "name", "mm2kube-tp0")
    try:
        network.run_ip("link", "set", "dev", "mm2kube-tv0", "address", "00:00:00:00:00:01")
        network.run_ip("link", "set", "dev", "mm2kube-tv0", "master", bridge)
        network.run_ip("link", "set", "dev", "mm2kube-tv0", "up")
        assert _mac(bridge) == expected, "the bridge took the MAC of a port that joined"
    finally:
        network.run_ip("link", "delete", "dev", "mm2kube-tv0")
    assert _mac(bridge) == expected, "the bridge changed its MAC when a port left"


def _mac(link: str) -> str:
    return str((network.link_info(link) or {}).get("address"))


def test_the_project_image_loads_into_the_node(kube: LocalKube, cluster: KubeCluster, core: Any) -> None:
    assert kube.load_image(PROJECT_IMAGE_ARCHIVE) == [PROJECT_IMAGE]

    def node_images() -> set[str]:
        node = core.read_node(cluster.node_name)
        return {name for image in node.status.images for name in image.names}

    # The kubelet reports what the CRI plugin sees: the name pods use with imagePullPolicy IfNotPresent.
    poll_until(node_images, lambda names: PROJECT_IMAGE in names, timeout=60, what=f"{PROJECT_IMAGE} on the node")


def test_the_api_server_listens_on_loopback_only(cluster: KubeCluster) -> None:
    """The API server listens on loopback only: the node IP serves the kubelet, nothing of the control plane."""
    port = int(cluster.server.rsplit(":", 1)[1])
    assert processes.port_open(port, "127.0.0.1")
    assert not processes.port_open(port, cluster.node_ip)
