"""The port-forward tunnel relays real REST calls to a real Connect worker.

Only the Kubernetes API is faked (no cluster runs here): listing pods returns objects shaped as
the client returns them, and the port-forward stream is a plain socket to the worker's REST port.
Everything between the HTTP client and the worker is the code `pulumi up` runs on EKS.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml
from kubernetes import client as kubernetes_client

from connect import port_forward
from connect.local_runtime import LocalCredentials, RuntimeState
from connect.rest import ConnectClient, ConnectEndpoint

pytestmark = pytest.mark.runtime

KUBECONFIG = yaml.safe_dump(
    {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "eks", "cluster": {"server": "https://kubernetes.invalid"}}],
        "users": [{"name": "ci", "user": {"token": "not-used"}}],
        "contexts": [{"name": "eks", "context": {"cluster": "eks", "user": "ci"}}],
        "current-context": "eks",
    }
)


@dataclass
class FakePod:
    name: str
    ready: bool
    phase: str = "Running"
    deleting: bool = False

    @property
    def metadata(self) -> Any:
        return type("Meta", (), {"name": self.name, "deletion_timestamp": "now" if self.deleting else None})()

    @property
    def status(self) -> Any:
        condition = type("Condition", (), {"type": "Ready", "status": "True" if self.ready else "False"})()
        return type("Status", (), {"phase": self.phase, "conditions": [condition]})()


@dataclass
class FakeCoreApi:
    pods: list[FakePod]
    listed: list[tuple[str, str]] = field(default_factory=list)
    # What connect.port_forward.stream_api copies for each stream (the streams themselves are faked).
    api_client: Any = field(default_factory=lambda: kubernetes_client.ApiClient(kubernetes_client.Configuration()))

    def list_namespaced_pod(self, namespace: str, label_selector: str, _request_timeout: float) -> Any:
        assert _request_timeout > 0
        self.listed.append((namespace, label_selector))
        return type("PodList", (), {"items": self.pods})()

    def connect_get_namespaced_pod_portforward(self, *args: Any, **kwargs: Any) -> None:  # pragma: no cover
        raise AssertionError("only passed to portforward(), never called directly")


def test_ready_pod_skips_unready_pending_and_terminating_pods() -> None:
    api = FakeCoreApi(
        [
            FakePod("connect-a", ready=False),
            FakePod("connect-b", ready=True, deleting=True),
            FakePod("connect-c", ready=True, phase="Pending"),
            FakePod("connect-d", ready=True),
        ]
    )
    target = port_forward.PodTarget(api, "mirrormaker2", "app=mm2", 8083)
    assert target.ready_pod() == "connect-d"
    assert api.listed == [("mirrormaker2", "app=mm2")]


def test_no_ready_pod_is_a_clear_error() -> None:
    target = port_forward.PodTarget(FakeCoreApi([FakePod("connect-a", ready=False)]), "mirrormaker2", "app=mm2", 8083)
    with pytest.raises(
        port_forward.PortForwardError, match=r"no Ready pod matches 'app=mm2' in namespace 'mirrormaker2'"
    ):
        target.ready_pod()


def test_tunnel_relays_rest_calls_to_a_real_worker(state: RuntimeState, monkeypatch: pytest.MonkeyPatch) -> None:
    worker_port = state.workers[0].rest_port
    streams: list[str] = []

    def fake_portforward(_api_call: Any, pod: str, namespace: str, ports: str) -> Any:
        # As kubernetes.stream.portforward: an object whose socket(port) reaches the pod's port.
        streams.append(f"{namespace}/{pod}:{ports}")
        connection = socket.create_connection(("127.0.0.1", worker_port))
        return type("PortForward", (), {"socket": lambda self, port: connection})()

    monkeypatch.setattr(port_forward, "portforward", fake_portforward)
    monkeypatch.setattr(port_forward, "_core_api", lambda kubeconfig: FakeCoreApi([FakePod("connect-0", ready=True)]))
    url = port_forward.forwarded_url(KUBECONFIG, "mirrormaker2", "app=mm2", 8083)
    assert url == port_forward.forwarded_url(KUBECONFIG, "mirrormaker2", "app=mm2", 8083), "the tunnel is reused"

    connect = LocalCredentials.load(state.secrets_dir).connect
    with ConnectClient(ConnectEndpoint(url, connect.username, connect.password, deadline_seconds=10)) as client:
        client.wait_until_ready()
        assert isinstance(client.connectors(), list)
        assert client.server_info()["version"].startswith("4.")
    assert streams and all(stream == "mirrormaker2/connect-0:8083" for stream in streams)


def test_kubeconfig_is_parsed_without_contacting_the_cluster() -> None:
    api = port_forward._core_api(KUBECONFIG)
    assert api.api_client.configuration.host == "https://kubernetes.invalid"


def test_a_broken_kubeconfig_is_a_clear_error_that_does_not_quote_it() -> None:
    broken = KUBECONFIG.replace("token: not-used", "token: s3cr3t-t0ken\n  - [unbalanced")
    with pytest.raises(port_forward.PortForwardError) as raised:
        port_forward.forwarded_url(broken, "mirrormaker2", "app=connect", 8083)
    message = str(raised.value)
    assert "kubeconfig could not be loaded" in message
    assert "s3cr3t" not in message and raised.value.__cause__ is None
