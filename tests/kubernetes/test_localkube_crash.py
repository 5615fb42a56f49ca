"""`down` after a crash: a second cluster, in its own folder and on its own addresses, runs a pod, every
one of its processes is killed (the pod's shim and container live on, as after a real crash), and
`down` leaves nothing of it, while the session's cluster keeps running untouched."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import psutil

from localkube import api, cleanup
from localkube.cluster import LocalKube
from localkube.network import NetworkSettings
from localkube.paths import REPO_ROOT
from localkube.state import ClusterState, KubeCluster
from tests.kubernetes.pods import NETCHECK_IMAGE, netcheck_pod, wait_for_pod

CRASH_DIR = REPO_ROOT / ".local" / "test-kube-crash"
CRASH_NETWORK = NetworkSettings(
    interface="mm2kube1", node_ip="10.203.0.2", bridge="mm2kube-br1", pod_cidr="10.203.2.0/24"
)


def test_down_after_a_crash_leaves_nothing(netcheck_archive: Path, cluster: KubeCluster, core: Any) -> None:
    second = LocalKube(CRASH_DIR, network=CRASH_NETWORK, node_name="mm2-crash")
    second.down()
    try:
        crashed = second.up()
        assert crashed.node_ip != cluster.node_ip
        second.load_image(netcheck_archive)
        second_core = api.core_api(crashed.kubeconfig)
        second_core.create_namespaced_pod(
            "default", netcheck_pod("server", NETCHECK_IMAGE, ["serve", "8080"], port=8080)
        )
        wait_for_pod(second_core, "default", "server", "Ready")
        layout = second.layout
        sockets = cleanup.shim_sockets(layout)  # in /run/containerd/s, whatever containerd's state dir
        assert [path for path in sockets if path.exists()]

        for pid in ClusterState.load(layout.folder).pids.values():  # a crash: no process says goodbye
            psutil.Process(pid).send_signal(signal.SIGKILL)
        assert cleanup.shims(layout), "the pod's shims outlive containerd, as they do after a real crash"

        second.down()
        assert second.leftovers() == []
        assert not [path for path in sockets if path.exists()]
    finally:
        second.down()

    # The session's cluster saw none of it.
    assert api.node_ready(core, cluster.node_name) == "True"
