"""The test pods: netcheck (netcheck.c) in a pod spec, and the wait for a pod to be Ready or done."""

from __future__ import annotations

from typing import Any

from connect.polling import poll_until
from localkube import api

NETCHECK_IMAGE = "localhost/netcheck:test"
POD_SECONDS = 120.0


def netcheck_pod(
    name: str,
    image: str,
    args: list[str],
    labels: dict[str, str] | None = None,
    restart: str = "Always",
    port: int | None = None,
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "netcheck",
        "image": image,
        "imagePullPolicy": "Never",  # loaded into the node: no registry
        "args": args,
        "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}},
    }
    if port is not None:
        # The kubelet's real probe, from the host to the pod's IP over the bridge.
        container["ports"] = [{"containerPort": port}]
        container["readinessProbe"] = {"tcpSocket": {"port": port}, "periodSeconds": 1}
    return {
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "containers": [container],
            "restartPolicy": restart,
            "terminationGracePeriodSeconds": 5,
            "automountServiceAccountToken": False,
        },
    }


def wait_for_pod(core: Any, namespace: str, name: str, done: str) -> Any:
    """Until the pod is Ready (`done="Ready"`) or in phase `done` (e.g. Succeeded); fails on Failed."""

    def probe() -> Any:
        pod = core.read_namespaced_pod(name, namespace, _request_timeout=api.API_TIMEOUT_SECONDS)
        if pod.status.phase == "Failed" and done != "Failed":
            raise AssertionError(f"pod {namespace}/{name} failed: {pod.status}")
        return pod

    def finished(pod: Any) -> bool:
        if done == "Ready":
            return any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))
        return bool(pod.status.phase == done)

    return poll_until(
        probe,
        finished,
        timeout=POD_SECONDS,
        what=f"pod {namespace}/{name} to be {done}",
        describe=lambda pod: f"phase {pod.status.phase}, {pod.status.container_statuses}",
    )
