"""The Deployment's probes, run as the kubelet runs them against the real worker containers.

The readiness probe execs the image's healthcheck with the mounted probe credentials; startup and
liveness open the REST port from the node. A wrong REST password in the mounted probe file (as
after a Secret that changed on one side only) must fail readiness and say why.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from connect.polling import poll_until
from stackconfig.models import StackSecrets
from tests.container.conftest import Workers
from tests.container.podman import replace_volume_file
from tests.container.pods import ProbeResult, WorkerPod
from workload import image_layout
from workload.worker_files import rest_auth_files

PROBES = ("startupProbe", "readinessProbe", "livenessProbe")


def test_every_probe_of_the_deployment_passes_on_every_worker(workers: Workers) -> None:
    results = {(pod.name, kind): pod.probe(kind) for pod in workers.pods for kind in PROBES}
    failed = {key: result.message for key, result in results.items() if not result.passed}
    assert not failed, failed


@pytest.fixture
def wrong_probe_password(workers: Workers) -> Iterator[WorkerPod]:
    """The first pod's mounted probe file holds the credentials of another password."""
    pod = workers.pods[0]
    folder = pod.placement.folder / "volumes" / "rest-auth"
    right = (folder / image_layout.PROBE_AUTH_FILE).read_text()
    wrong = StackSecrets(connect_password=SecretStr("not-the-rest-password"))
    replace_volume_file(
        folder, image_layout.PROBE_AUTH_FILE, rest_auth_files(workers.settings, wrong)[image_layout.PROBE_AUTH_FILE]
    )
    try:
        yield pod
    finally:
        replace_volume_file(folder, image_layout.PROBE_AUTH_FILE, right)


def test_a_wrong_rest_password_fails_readiness_and_says_so(workers: Workers, wrong_probe_password: WorkerPod) -> None:
    pod = wrong_probe_password
    readiness = pod.probe("readinessProbe")
    workers.measured["wrong_password_readiness_message"] = readiness.message
    assert not readiness.passed
    probe_file = f"{image_layout.REST_AUTH_DIR}/{image_layout.PROBE_AUTH_FILE}"
    assert "401" in readiness.message, readiness.message
    assert f"the REST API rejected the credentials in {probe_file}" in readiness.message, readiness.message
    # Liveness only asks whether the REST port is there, so that a bad probe secret (or a slow
    # /health in a rebalance) makes the worker unready instead of restarting it in a loop.
    assert pod.probe("livenessProbe").passed


def test_readiness_passes_again_once_the_probe_file_is_right(workers: Workers) -> None:
    # Runs after the test above put the right file back, as the kubelet updates a mounted Secret.
    result = poll_until(
        lambda: workers.pods[0].probe("readinessProbe"),
        lambda probed: probed.passed,
        timeout=30,
        what="readiness with the right probe credentials",
        describe=lambda probed: probed.message,
    )
    assert isinstance(result, ProbeResult) and result.passed
