"""The worker's REST API is closed to strangers, and the image's readiness probe works against it."""

from __future__ import annotations

import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from connect.local_runtime import RuntimeState
from connect.rest import ConnectClient, ConnectEndpoint, ConnectError
from localkafka.paths import DOCKER_DIR
from workload.image_layout import PROBE_AUTH_FILE

pytestmark = pytest.mark.runtime


def status_without_credentials(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize("path", ["/connectors", "/connector-plugins", "/health", "/"])
def test_rest_api_refuses_unauthenticated_calls(state: RuntimeState, path: str) -> None:
    for worker in state.workers:
        assert status_without_credentials(worker.url + path) == 401


def test_wrong_password_is_refused_with_connects_message(state: RuntimeState) -> None:
    endpoint = ConnectEndpoint(state.connect_url, "mm2-admin", "not-the-password", deadline_seconds=2)
    with ConnectClient(endpoint) as client, pytest.raises(ConnectError, match=r"GET /connectors failed: HTTP 401"):
        client.connectors()


def run_healthcheck(state: RuntimeState, auth_file: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "MM2_REST_PORT": str(state.workers[0].rest_port),
        "MM2_PROBE_AUTH_FILE": str(auth_file),
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        ["bash", str(DOCKER_DIR / "healthcheck.sh")], env=env, capture_output=True, text=True, timeout=30
    )


def test_readiness_probe_passes_with_the_probe_credentials(state: RuntimeState) -> None:
    result = run_healthcheck(state, state.secrets_dir / PROBE_AUTH_FILE)
    assert result.returncode == 0, result.stderr


def test_readiness_probe_fails_with_wrong_credentials(state: RuntimeState, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong-authorization"
    wrong.write_text("bW0yLWFkbWluOndyb25n")  # base64 of mm2-admin:wrong
    result = run_healthcheck(state, wrong)
    assert result.returncode == 1
    assert "401" in result.stderr
