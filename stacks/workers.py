"""What the `eks` and `kubernetes` platforms share: the tree as the pods see it, the workers and
their monitoring, and the connectors registered through the workers' REST API.

Every file is read and checked first (`pod_connector_tree`, `MonitoringAssets.load`), so a bad
file fails the preview before any resource is declared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_kubernetes as kubernetes

from components.connect_cluster import ConnectCluster, WorkloadIdentity
from components.connectors import ConnectAccess, ConnectorSet
from components.monitoring import Monitoring, MonitoringAssets
from connect.connector_tree import ConnectorTree, TreeContext, load_connector_tree
from stackconfig.models import StackSecrets, StackSettings
from workload import image_layout
from workload.worker_files import endpoint_of


@dataclass(frozen=True)
class CheckedFiles:
    """Everything the program reads from files, read and checked before any resource exists."""

    tree: ConnectorTree
    monitoring: MonitoringAssets | None


def check_files(settings: StackSettings, project_root: Path) -> CheckedFiles:
    destination = settings.destination
    tree = load_connector_tree(
        TreeContext(
            root=project_root / "connectors",
            env=settings.env,
            destination=endpoint_of(destination.name, destination),
            sources={name: endpoint_of(name, source) for name, source in settings.sources.items()},
            # Where the pods mount the Secret with the credential files.
            secrets_dir=image_layout.SECRETS_DIR,
            replication_factor=destination.replication_factor,
            exactly_once=settings.connect.exactly_once,
            display_root=project_root,
            allow_empty_sources=settings.allow_empty_connector_folders,
        )
    )
    for warning in tree.warnings:
        pulumi.log.warn(warning)
    monitoring = settings.monitoring
    with_operator = monitoring.enabled and monitoring.prometheus_operator
    return CheckedFiles(tree, MonitoringAssets.load(project_root, monitoring) if with_operator else None)


@dataclass(frozen=True)
class DeployedWorkers:
    connect: ConnectCluster
    connectors: ConnectorSet


def deploy_workers(
    files: CheckedFiles,
    settings: StackSettings,
    secrets: StackSecrets,
    *,
    image: pulumi.Input[str],
    node_labels: Mapping[str, str],
    kubeconfig: pulumi.Input[str],
    cluster_provider: kubernetes.Provider,
    identity: WorkloadIdentity | None = None,
    providers: Sequence[pulumi.ProviderResource] = (),
) -> DeployedWorkers:
    """The workers, their monitoring, and the connectors registered once the workers are ready."""
    if secrets.connect_password is None:
        raise ValueError("load_stack requires connectPassword on this platform")  # for the type checker
    connect = ConnectCluster(
        "connect",
        settings,
        secrets,
        image=image,
        identity=identity,
        node_labels=node_labels,
        opts=pulumi.ResourceOptions(providers=[*providers, cluster_provider]),
    )
    if files.monitoring is not None:
        Monitoring(
            "monitoring",
            files.monitoring,
            namespace=connect.namespace_ref,
            worker_labels=connect.select_labels,
            opts=pulumi.ResourceOptions(providers=[cluster_provider]),
        )
    if secrets.registration_kubeconfig is not None:
        kubeconfig = pulumi.Output.secret(secrets.registration_kubeconfig.get_secret_value())
    access = ConnectAccess(
        username=settings.connect.rest_username,
        password=pulumi.Output.secret(secrets.connect_password.get_secret_value()),
        url=settings.connect.url,
        kubeconfig=None if settings.connect.url else kubeconfig,
        namespace=connect.namespace,
        selector=connect.selector,
        port=image_layout.REST_PORT,
        timeout_seconds=settings.connect.rest_timeout_seconds,
        deadline_seconds=settings.connect.rest_deadline_seconds,
        state_deadline_seconds=settings.connect.connector_deadline_seconds,
    )
    # Connectors are registered once the workers are ready (pulumi-kubernetes awaits the rollout).
    connectors = ConnectorSet("connectors", files.tree.connectors, access, depends_on=[connect.deployment])
    return DeployedWorkers(connect, connectors)
