"""The `kubernetes` platform: the workers on any Kubernetes cluster, no AWS resource at all.

For a cluster you run yourself (or a test cluster): it is reached with the secret `kubeconfig`
key, the image is one built elsewhere (`image.reference`, e.g. by `make image`), and every Kafka
cluster authenticates without AWS IAM. The workers, their monitoring and the connectors are the
same as on EKS (stacks/workers.py); only the cluster, the image and the IAM role are not made here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes

from stackconfig.models import StackSecrets, StackSettings
from stacks.workers import check_files, deploy_workers


def build_kubernetes_stack(
    settings: StackSettings, secrets: StackSecrets, project_root: Path
) -> dict[str, pulumi.Input[Any]]:
    files = check_files(settings, project_root)
    if secrets.kubeconfig is None or settings.image.reference is None:
        raise ValueError("load_stack validates kubeconfig and image.reference on kubernetes")  # for mypy
    kubeconfig = pulumi.Output.secret(secrets.kubeconfig.get_secret_value())
    provider = kubernetes.Provider("cluster", kubeconfig=kubeconfig)
    workers = deploy_workers(
        files,
        settings,
        secrets,
        image=settings.image.reference,
        node_labels=settings.kubernetes.node_labels,
        kubeconfig=kubeconfig,
        cluster_provider=provider,
    )
    return {
        "kubeconfig": kubeconfig,
        "image": settings.image.reference,
        "connectServiceName": workers.connect.service_name,
        "connectNamespace": workers.connect.namespace,
        "connectorNames": workers.connectors.connector_names,
    }
