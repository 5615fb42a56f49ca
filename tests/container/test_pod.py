"""The container runs as the Deployment says: its user, read-only root, capabilities, mounts and memory.

Checked from inside the running worker containers (as `kubectl exec` would see them) and from
what they serve, not from the podman command line.
"""

from __future__ import annotations

import re
import urllib.request

from connect.polling import poll_until
from tests.container.conftest import Workers
from tests.container.podman import memory_bytes
from workload import image_layout

# The entrypoint's default: -XX:MaxRAMPercentage=70 of the container's memory limit.
HEAP_SHARE_OF_LIMIT = 0.70
# Somewhere on the internet side: documentation addresses (RFC 5737), never routed.
OUTSIDE_ADDRESS = "203.0.113.1"


def shell(workers: Workers, script: str, pod: int = 0) -> str:
    result = workers.pods[pod].exec("bash", "-c", script)
    assert result.returncode == 0, f"`{script}` failed in {workers.pods[pod].name}: {result.stderr}"
    return result.stdout.strip()


def test_it_runs_as_the_deployment_user_with_a_read_only_root(workers: Workers) -> None:
    uid = image_layout.RUN_AS_USER
    assert shell(workers, "id -u; id -g; id -G").split() == [str(uid), str(uid), str(uid)]
    written = workers.pods[0].exec("bash", "-c", "touch /opt/mm2/probe && echo written")
    assert written.returncode != 0 and "Read-only file system" in written.stderr, written
    assert shell(workers, f"touch {image_layout.TMP_DIR}/probe && echo written") == "written"
    status = dict(line.split(":\t", 1) for line in shell(workers, "cat /proc/1/status").splitlines() if ":\t" in line)
    assert status["CapEff"].strip() == status["CapPrm"].strip() == status["CapBnd"].strip() == "0" * 16
    assert status["NoNewPrivs"].strip() == "1"
    assert status["Uid"].split()[0] == str(uid)


def test_mounted_files_have_the_kubelets_modes_and_group(workers: Workers) -> None:
    listing = shell(
        workers,
        f"stat -c '%a %u %g %n' {image_layout.WORKER_PROPERTIES} {image_layout.SECRETS_DIR}/* "
        f"{image_layout.REST_AUTH_DIR}/*",
    )
    modes = {line.split()[3]: tuple(line.split()[:3]) for line in listing.splitlines()}
    uid = str(image_layout.RUN_AS_USER)
    # ConfigMap items: 0644; the Secret and the projected REST auth volume: defaultMode 0440; all
    # root-owned, in the pod's fsGroup.
    assert modes == {
        image_layout.WORKER_PROPERTIES: ("644", "0", uid),
        f"{image_layout.SECRETS_DIR}/source.properties": ("440", "0", uid),
        f"{image_layout.REST_AUTH_DIR}/{image_layout.REST_JAAS_FILE}": ("440", "0", uid),
        f"{image_layout.REST_AUTH_DIR}/{image_layout.REST_USERS_FILE}": ("440", "0", uid),
        f"{image_layout.REST_AUTH_DIR}/{image_layout.PROBE_AUTH_FILE}": ("440", "0", uid),
    }
    mounts = shell(workers, "cat /proc/mounts").splitlines()
    for folder in (image_layout.WORKER_CONFIG_DIR, image_layout.SECRETS_DIR, image_layout.REST_AUTH_DIR):
        [line] = [mount for mount in mounts if mount.split()[1] == folder]
        assert "ro" in line.split()[3].split(","), f"{folder} is mounted writable: {line}"


def test_the_heap_follows_the_container_memory_limit(workers: Workers) -> None:
    limit = memory_bytes(workers.settings.connect.memory_limit, "connect.memoryLimit")
    cgroup = int(shell(workers, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes"))
    assert cgroup == limit

    def heap_max() -> float:
        with urllib.request.urlopen(workers.pods[0].metrics_url, timeout=10) as response:
            text = response.read().decode()
        match = re.search(r'^jvm_memory_(?:bytes_)?max(?:_bytes)?\{area="heap",?\} (\S+)$', text, re.MULTILINE)
        return float(match[1]) if match else 0.0

    heap = poll_until(heap_max, timeout=30, what="the JVM's heap maximum in the metrics")
    # The JVM rounds the heap to its region size; within a few percent of 70 % of the limit.
    assert abs(heap / limit - HEAP_SHARE_OF_LIMIT) < 0.03, f"heap max {heap:.0f} of a {limit} byte limit"


def test_the_pod_ip_reaches_the_worker_through_its_env_reference(workers: Workers) -> None:
    properties = shell(workers, f"cat {image_layout.WORKER_PROPERTIES}")
    assert "rest.advertised.host.name=${env:POD_IP}" in properties.splitlines()
    for index, pod in enumerate(workers.pods):
        assert shell(workers, "echo $POD_IP", pod=index) == pod.ip


def test_the_pods_reach_nothing_outside_their_network(workers: Workers) -> None:
    # The network has no default route: the connection fails in the container, no packet leaves.
    result = workers.pods[0].exec("bash", "-c", f"exec 3<>/dev/tcp/{OUTSIDE_ADDRESS}/443")
    assert result.returncode != 0 and "Network is unreachable" in result.stderr, result
    peer = workers.pods[1]
    assert shell(workers, f"exec 3<>/dev/tcp/{peer.ip}/{image_layout.REST_PORT} && echo connected") == "connected"
