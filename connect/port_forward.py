"""Reach a Connect worker's REST port through the Kubernetes API, like `kubectl port-forward`.

So `pulumi up` works from any machine that can reach the cluster API, with no load balancer in
front of Connect. A local TCP listener relays each accepted connection over its own port-forward
stream to a Ready worker pod. Tunnels are kept per provider process (not in the pickled provider)
and reopened when they stop working.
"""

from __future__ import annotations

import contextlib
import hashlib
import select
import socket
import threading
from dataclasses import dataclass
from typing import Any

import yaml
from kubernetes import client as kubernetes_client
from kubernetes import config as kubernetes_config
from kubernetes.stream import portforward

_TUNNELS: dict[str, Tunnel] = {}
_LOCK = threading.Lock()
_CHUNK = 65536
API_TIMEOUT_SECONDS = 15


class PortForwardError(Exception):
    pass


def forwarded_url(kubeconfig: str, namespace: str, selector: str, port: int) -> str:
    """`http://127.0.0.1:<local port>` relaying to `port` of a Ready pod matching `selector`."""
    key = hashlib.sha256(f"{kubeconfig}\0{namespace}\0{selector}\0{port}".encode()).hexdigest()
    with _LOCK:
        tunnel = _TUNNELS.get(key)
        if tunnel is None or not tunnel.serving:
            try:
                api = _core_api(kubeconfig)
            except Exception as error:  # noqa: BLE001 - YAML and kubeconfig errors can quote the file
                # Only the error's type: its message may repeat a line of the kubeconfig, token included.
                raise PortForwardError(
                    f"the stack's kubeconfig could not be loaded ({type(error).__name__}); "
                    "check the secret config value `kubeconfig` or the cluster outputs"
                ) from None
            tunnel = Tunnel(PodTarget(api, namespace, selector, port))
            tunnel.start()
            _TUNNELS[key] = tunnel
    return tunnel.url


@dataclass(frozen=True)
class PodTarget:
    api: Any  # kubernetes.client.CoreV1Api
    namespace: str
    selector: str
    port: int

    def ready_pod(self) -> str:
        pods = self.api.list_namespaced_pod(
            self.namespace, label_selector=self.selector, _request_timeout=API_TIMEOUT_SECONDS
        ).items
        ready = sorted(pod.metadata.name for pod in pods if _is_ready(pod))
        if not ready:
            raise PortForwardError(
                f"no Ready pod matches {self.selector!r} in namespace {self.namespace!r}; "
                f"check the Connect Deployment (kubectl -n {self.namespace} get pods -l {self.selector})"
            )
        return str(ready[0])

    def open_stream(self) -> Any:
        """A socket-like object connected to the pod's port, over the Kubernetes API."""
        pod = self.ready_pod()
        forward = portforward(
            self.api.connect_get_namespaced_pod_portforward, pod, self.namespace, ports=str(self.port)
        )
        return forward.socket(self.port)


class Tunnel:
    def __init__(self, target: PodTarget) -> None:
        self.target = target
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.serving = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def start(self) -> None:
        threading.Thread(target=self._accept_loop, name="connect-port-forward", daemon=True).start()

    def close(self) -> None:
        self.serving = False
        self._listener.close()

    def _accept_loop(self) -> None:
        while self.serving:
            try:
                local, _ = self._listener.accept()
            except OSError:
                break
            threading.Thread(target=self._serve, args=(local,), daemon=True).start()

    def _serve(self, local: socket.socket) -> None:
        try:
            remote = self.target.open_stream()
        except Exception:  # noqa: BLE001 - the HTTP client sees a closed connection and retries
            self.serving = False  # reopen (and re-pick a pod) on the next call
            local.close()
            return
        relay(local, remote)


def relay(local: Any, remote: Any) -> None:
    """Copy bytes both ways until either side closes."""
    sockets = [local, remote]
    try:
        while True:
            readable, _, _ = select.select(sockets, [], [], 60)
            if not readable:
                continue
            for source in readable:
                data = source.recv(_CHUNK)
                if not data:
                    return
                (remote if source is local else local).sendall(data)
    except OSError:
        return
    finally:
        for end in sockets:
            with contextlib.suppress(OSError):
                end.close()


def _core_api(kubeconfig: str) -> Any:
    configuration = kubernetes_client.Configuration()
    kubernetes_config.load_kube_config_from_dict(  # type: ignore[no-untyped-call]
        yaml.safe_load(kubeconfig), client_configuration=configuration
    )
    return kubernetes_client.CoreV1Api(kubernetes_client.ApiClient(configuration))


def _is_ready(pod: Any) -> bool:
    if pod.status is None or pod.status.phase != "Running" or pod.metadata.deletion_timestamp:
        return False
    return any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))
