"""Session fixtures: one real single-node Kubernetes cluster per test run (localkube), and the pod image.

The cluster starts on first use, in its own folder (.local/test-kube, or MM2_TEST_KUBE_DIR), and is
torn down after the last test even when tests fail; the teardown then checks that nothing of it is
left (processes, mounts, network links, cgroups, files). Tests isolate themselves in namespaces of
their own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connect.polling import poll_until
from localkube import api
from localkube.cluster import LocalKube
from localkube.paths import REPO_ROOT
from localkube.state import KubeCluster
from tests.kubernetes.pods import NETCHECK_IMAGE

TEST_KUBE_DIR = Path(os.environ.get("MM2_TEST_KUBE_DIR", REPO_ROOT / ".local" / "test-kube"))
NETCHECK_SOURCE = Path(__file__).with_name("netcheck.c")
OCI_ARCHIVE = REPO_ROOT / "tools" / "kubernetes" / "oci_archive.py"


@pytest.fixture(scope="session")
def kube() -> Iterator[LocalKube]:
    local = LocalKube(TEST_KUBE_DIR.resolve())
    try:
        local.up()
        yield local
    finally:
        local.down()
    left = local.leftovers()
    assert not left, f"localkube down left: {left}"


@pytest.fixture(scope="session")
def cluster(kube: LocalKube) -> KubeCluster:
    return kube.cluster()


@pytest.fixture(scope="session")
def core(cluster: KubeCluster) -> Any:
    """The admin's CoreV1Api."""
    return api.core_api(cluster.kubeconfig)


@pytest.fixture(scope="session")
def netcheck_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tests' pod image: netcheck.c, static, alone in an image (the way build.sh makes the pause image)."""
    folder = tmp_path_factory.mktemp("netcheck")
    binary, archive = folder / "netcheck", folder / "netcheck.oci.tar"
    compile_static = ["gcc", "-Os", "-Wall", "-Werror", "-static", "-s", "-o", str(binary), str(NETCHECK_SOURCE)]
    subprocess.run(compile_static, check=True, timeout=120)
    pack = [
        sys.executable,
        str(OCI_ARCHIVE),
        "--user",
        "65534:65534",
        str(binary),
        "/netcheck",
        NETCHECK_IMAGE,
        str(archive),
    ]
    subprocess.run(pack, check=True, timeout=60)
    return archive


@pytest.fixture(scope="session")
def netcheck_image(kube: LocalKube, netcheck_archive: Path) -> str:
    assert kube.load_image(netcheck_archive) == [NETCHECK_IMAGE]
    return NETCHECK_IMAGE


@pytest.fixture
def namespace(core: Any) -> Iterator[str]:
    name = f"lk-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    poll_until(
        lambda: api.has_service_account(core, name, "default"), timeout=60, what=f"namespace {name}'s ServiceAccount"
    )
    yield name
    core.delete_namespace(name, grace_period_seconds=0)
