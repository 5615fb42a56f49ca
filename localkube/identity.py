"""A "deploy identity": a kubeconfig allowed only what the connector registration needs in one namespace.

`connect.port_forward` lists the pods (to pick a Ready one) and opens a port-forward stream to it:
`get`/`list` on pods, and `create` (plus `get`, which the websocket upgrade is a GET of) on
`pods/portforward`. Nothing else: not the Deployment, not Secrets, not another namespace.

The identity is a ServiceAccount bound to a Role, with a bound token from the TokenRequest API:
- it is how a CI job is usually given a namespace on a real cluster (EKS maps IAM roles to groups
  the same way, through RBAC), and the kubeconfig carries a bearer token like an EKS one does;
- the token expires by itself and dies with the ServiceAccount, while a client certificate would
  need the CA's key to mint and could not be revoked before it expires;
- RBAC is checked against the real subject (`system:serviceaccount:<ns>:<name>`), so the tests see
  the API server's real 403 for what the Role leaves out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubernetes import client as kubernetes_client

from localkube import api
from localkube.components import SERVICE_ACCOUNT_ISSUER
from localkube.pki import write_kubeconfig
from localkube.state import KubeCluster

TOKEN_SECONDS = 24 * 3600  # longer than any test session


def deploy_rules(port_forward: bool = True) -> list[dict[str, Any]]:
    """The Role's rules: what the connector registration's port-forward does, and nothing more."""
    rules: list[dict[str, Any]] = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]
    if port_forward:
        rules.append({"apiGroups": [""], "resources": ["pods/portforward"], "verbs": ["create", "get"]})
    return rules


def write_deploy_kubeconfig(
    cluster: KubeCluster,
    namespace: str,
    path: Path,
    *,
    port_forward: bool = True,
    name: str = "mm2-deployer",
    create_namespace: bool = True,
) -> Path:
    """Make (or update) the ServiceAccount, Role and RoleBinding `name` in `namespace`, and write a
    kubeconfig (mode 0600) with a fresh token of that ServiceAccount to `path`.

    `port_forward=False` leaves out `pods/portforward`, for testing the error a deployer without it
    gets. The namespace is created when missing unless `create_namespace=False`.
    """
    core = api.core_api(cluster.kubeconfig)
    rbac = api.rbac_api(cluster.kubeconfig)
    if create_namespace:
        _create(lambda: core.create_namespace({"metadata": {"name": namespace}}))
    labels = {"app.kubernetes.io/managed-by": "localkube"}
    metadata = {"name": name, "namespace": namespace, "labels": labels}
    _create(lambda: core.create_namespaced_service_account(namespace, {"metadata": metadata}))
    role = {"metadata": metadata, "rules": deploy_rules(port_forward)}
    # Replaced when it exists, so that the same name can be narrowed or widened between tests.
    if not _create(lambda: rbac.create_namespaced_role(namespace, role)):
        rbac.replace_namespaced_role(name, namespace, role)
    binding = {
        "metadata": metadata,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
    }
    _create(lambda: rbac.create_namespaced_role_binding(namespace, binding))
    request = {"spec": {"audiences": [SERVICE_ACCOUNT_ISSUER], "expirationSeconds": TOKEN_SECONDS}}
    token = core.create_namespaced_service_account_token(name, namespace, request).status.token
    write_kubeconfig(path, cluster.server, cluster.ca_certificate.read_text(), {"token": token}, f"{name}@{namespace}")
    return path


def _create(create: Any) -> bool:
    """Create an object; False if it already exists (409), any other error raised."""
    try:
        create()
        return True
    except kubernetes_client.ApiException as error:
        if error.status == 409:
            return False
        raise
