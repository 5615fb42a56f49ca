"""Reach a Connect worker's REST port through the Kubernetes API, like `kubectl port-forward`.

So `pulumi up` works from any machine that can reach the cluster API, with no load balancer in
front of Connect. A local TCP listener relays each accepted connection over its own port-forward
stream to a Ready worker pod. Tunnels are kept per provider process (not in the pickled provider)
and reopened when they stop working.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
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
    """The tunnel cannot reach a worker; `permanent` when retrying cannot help (RBAC, credentials)."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def forwarded_url(kubeconfig: str, namespace: str, selector: str, port: int, pod: str | None = None) -> str:
    """`http://127.0.0.1:<local port>` relaying to `port` of a Ready pod matching `selector` (or of `pod`)."""
    key = hashlib.sha256(f"{kubeconfig}\0{namespace}\0{selector}\0{port}\0{pod or ''}".encode()).hexdigest()
    with _LOCK:
        tunnel = _TUNNELS.get(key)
        if tunnel is None or not tunnel.serving:
            tunnel = Tunnel(PodTarget(core_api(kubeconfig), namespace, selector, port, pod))
            # One stream opened and closed now, so that a missing permission or pod is reported
            # here, with its cause, instead of as refused connections in the relay thread.
            try:
                tunnel.target.check()
            except PortForwardError:
                tunnel.close()
                raise
            tunnel.start()
            _TUNNELS[key] = tunnel
    return tunnel.url


@dataclass(frozen=True)
class PodTarget:
    api: Any  # kubernetes.client.CoreV1Api
    namespace: str
    selector: str
    port: int
    # One pod by name (a worker's own metrics port), instead of any Ready one.
    pod: str | None = None

    def ready_pods(self) -> list[str]:
        try:
            pods = self.api.list_namespaced_pod(
                self.namespace, label_selector=self.selector, _request_timeout=API_TIMEOUT_SECONDS
            ).items
        except Exception as error:  # noqa: BLE001 - the client raises ApiException and transport errors
            raise _explain(error, "list pods", self.namespace, "list on pods") from None
        return sorted(str(pod.metadata.name) for pod in pods if _is_ready(pod))

    def ready_pod(self) -> str:
        ready = self.ready_pods()
        if self.pod is not None and self.pod not in ready:
            raise PortForwardError(f"pod {self.pod!r} is not a Ready pod of {self.selector!r} in {self.namespace!r}")
        if self.pod is not None:
            return self.pod
        if not ready:
            raise PortForwardError(
                f"no Ready pod matches {self.selector!r} in namespace {self.namespace!r}; "
                f"check the Connect Deployment (kubectl -n {self.namespace} get pods -l {self.selector})"
            )
        return str(ready[0])

    def open_stream(self) -> Any:
        """A socket-like object connected to the pod's port, over the Kubernetes API."""
        pod = self.ready_pod()
        try:
            forward = portforward(
                stream_api(self.api).connect_get_namespaced_pod_portforward, pod, self.namespace, ports=str(self.port)
            )
            return forward.socket(self.port)
        except Exception as error:  # noqa: BLE001 - ApiException, websocket and transport errors
            raise _explain(error, f"port-forward to pod {pod}", self.namespace, "create on pods/portforward") from None

    def check(self) -> None:
        self.open_stream().close()


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
        # Each connection picks a Ready pod anew: when a worker pod goes away, the next request
        # (the REST client retries) reaches one that is still there.
        try:
            remote = self.target.open_stream()
        except PortForwardError as error:
            answer_with_error(local, error)
            return
        relay(local, remote)


def answer_with_error(local: socket.socket, error: PortForwardError) -> None:
    """Tell the HTTP client why, as Connect would: JSON with a `message` (503 retried, 403 not)."""
    status = "403 Forbidden" if error.permanent else "503 Service Unavailable"
    body = json.dumps({"error_code": int(status[:3]), "message": f"port-forward: {error}"}).encode()
    try:
        local.settimeout(5)
        request = b""
        while b"\r\n\r\n" not in request and len(request) < 65536:  # read the request head first
            chunk = local.recv(_CHUNK)
            if not chunk:
                break
            request += chunk
        head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        local.sendall(head.encode() + b"Connection: close\r\n\r\n" + body)
    except OSError:
        pass
    finally:
        local.close()


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


def _explain(error: Exception, action: str, namespace: str, rbac: str) -> PortForwardError:
    """What went wrong, in words an operator acts on; never the kubeconfig or a token."""
    status = getattr(error, "status", None)
    text = f"{getattr(error, 'reason', '')} {error}"
    if status == 403 or "403" in text:
        return PortForwardError(
            f"the kubeconfig's identity may not {action} in namespace {namespace!r}: Kubernetes RBAC "
            f"forbids it (it needs a Role allowing {rbac} in that namespace)",
            permanent=True,
        )
    if status == 401 or "401" in text:
        return PortForwardError(
            f"the Kubernetes API rejected the kubeconfig's credentials while trying to {action}", permanent=True
        )
    reason = getattr(error, "reason", None) or type(error).__name__
    return PortForwardError(f"could not {action} in namespace {namespace!r} through the Kubernetes API: {reason}")


def core_api(kubeconfig: str) -> Any:
    """The kubeconfig's CoreV1Api (also for the operator commands' pod listings and execs)."""
    try:
        return _core_api(kubeconfig)
    except Exception as error:  # noqa: BLE001 - YAML and kubeconfig errors can quote the file
        # Only the error's type: its message may repeat a line of the kubeconfig, token included.
        raise PortForwardError(
            f"the stack's kubeconfig could not be loaded ({type(error).__name__}); "
            "check the secret config value `kubeconfig` or the cluster outputs"
        ) from None


def stream_api(api: Any) -> Any:
    """A CoreV1Api of its own for one exec or port-forward call, with the same configuration.

    `kubernetes.stream` swaps the ApiClient's `request` for a websocket one for the length of the
    call: another thread's pod listing on the same ApiClient meanwhile fails (ApiValueError). The
    provider opens streams and lists pods from several threads at once.
    """
    return kubernetes_client.CoreV1Api(kubernetes_client.ApiClient(api.api_client.configuration))


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
