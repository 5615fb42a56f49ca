"""Talking to the cluster from Python: health endpoints over verified TLS, and the `kubernetes` client."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as kubernetes_client
from kubernetes import config as kubernetes_config

from localkube.pki import Pki

HEALTH_TIMEOUT_SECONDS = 3
API_TIMEOUT_SECONDS = 15


def healthy(url: str, pki: Pki | None = None, client: str = "admin") -> bool:
    """True if `url` answers 200 (`ok`). HTTPS is verified against the cluster's CA, with a client cert."""
    context = None
    if url.startswith("https://"):
        if pki is None:
            raise ValueError("an https health check needs the cluster's Pki")
        context = ssl.create_default_context(cafile=str(pki.ca))
        context.load_cert_chain(str(pki.cert(client)), str(pki.key(client)))
    try:
        with urllib.request.urlopen(url, timeout=HEALTH_TIMEOUT_SECONDS, context=context) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def core_api(kubeconfig: Path) -> Any:
    """A CoreV1Api for a kubeconfig file (the `kubernetes` client is untyped: Any)."""
    return kubernetes_client.CoreV1Api(api_client(kubeconfig))


def rbac_api(kubeconfig: Path) -> Any:
    return kubernetes_client.RbacAuthorizationV1Api(api_client(kubeconfig))


def api_client(kubeconfig: Path) -> Any:
    configuration = kubernetes_client.Configuration()
    kubernetes_config.load_kube_config_from_dict(  # type: ignore[no-untyped-call]
        yaml.safe_load(kubeconfig.read_text()), client_configuration=configuration
    )
    return kubernetes_client.ApiClient(configuration)


def node_ready(core: Any, node_name: str) -> str:
    """The node's Ready condition status ('True' when it is), or what is missing."""
    try:
        node = core.read_node(node_name, _request_timeout=API_TIMEOUT_SECONDS)
    except kubernetes_client.ApiException as error:
        return f"node {node_name}: {error.status} {error.reason}"
    except Exception as error:  # noqa: BLE001 - transport errors while the API server starts
        return f"node {node_name}: {type(error).__name__}"
    conditions = {c.type: c.status for c in (node.status.conditions or [])}
    return str(conditions.get("Ready", "no Ready condition yet"))


def has_service_account(core: Any, namespace: str, name: str) -> bool:
    try:
        core.read_namespaced_service_account(name, namespace, _request_timeout=API_TIMEOUT_SECONDS)
        return True
    except Exception:  # noqa: BLE001 - 404 until the controller manager made it
        return False
