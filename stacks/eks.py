"""The `eks` platform: MirrorMaker 2 workers on EKS, peered with the sources, registering the tree.

Order: every input the program reads from files (connector tree, monitoring assets) is read and
checked first, so a bad file fails the preview before anything is declared; then the cluster,
the peerings (they need the nodes' security group), the image, the workers, their monitoring,
and the connectors once the workers are ready.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.cluster import KubernetesCluster
from components.connect_cluster import ConnectCluster, WorkloadIdentity
from components.connectors import ConnectAccess, ConnectorSet
from components.monitoring import Monitoring, MonitoringAssets
from components.network import EksSide, PeeredNetwork
from components.registry import ImageRegistry
from connect.connector_tree import ConnectorTree, TreeContext, load_connector_tree
from stackconfig.models import AwsSettings, StackSecrets, StackSettings
from workload import image_layout
from workload.worker_files import endpoint_of


def build_eks_stack(settings: StackSettings, secrets: StackSecrets, project_root: Path) -> dict[str, pulumi.Input[Any]]:
    tree = _connector_tree(settings, project_root)
    monitoring = settings.monitoring
    with_operator = monitoring.enabled and monitoring.prometheus_operator
    assets = MonitoringAssets.load(project_root, monitoring) if with_operator else None
    if settings.aws is None or settings.cluster is None or secrets.connect_password is None:
        raise ValueError("load_stack validates aws, cluster and connectPassword on eks")  # for the type checker
    for warning in tree.warnings:
        pulumi.log.warn(warning)

    # Every AWS resource of the EKS account goes through this provider: allowed_account_ids makes
    # credentials for the wrong account fail before anything is created.
    aws_provider = aws.Provider(
        "eks-account", region=settings.aws.region, allowed_account_ids=[settings.aws.account_id]
    )
    in_account = pulumi.ResourceOptions(providers=[aws_provider])

    cluster = KubernetesCluster("eks", settings.cluster, secrets.kubeconfig, opts=in_account)
    _peer_sources(settings, settings.aws, cluster, in_account)
    registry = ImageRegistry("image", settings.image, project_root / "docker", opts=in_account)
    connect = ConnectCluster(
        "connect",
        settings,
        secrets,
        image=registry.image_ref,
        identity=WorkloadIdentity(cluster.oidc_provider_arn, cluster.oidc_provider_host),
        node_labels=cluster.node_labels,
        opts=pulumi.ResourceOptions(providers=[aws_provider, cluster.provider]),
    )
    if assets is not None:
        Monitoring(
            "monitoring",
            assets,
            namespace=connect.namespace_ref,
            worker_labels=connect.select_labels,
            opts=pulumi.ResourceOptions(providers=[cluster.provider]),
        )

    access = ConnectAccess(
        username=settings.connect.rest_username,
        password=pulumi.Output.secret(secrets.connect_password.get_secret_value()),
        url=settings.connect.url,
        kubeconfig=None if settings.connect.url else cluster.kubeconfig,
        namespace=connect.namespace,
        selector=connect.selector,
        port=image_layout.REST_PORT,
        timeout_seconds=settings.connect.rest_timeout_seconds,
        deadline_seconds=settings.connect.rest_deadline_seconds,
        state_deadline_seconds=settings.connect.connector_deadline_seconds,
    )
    # Connectors are registered once the workers are ready (pulumi-kubernetes awaits the rollout).
    connectors = ConnectorSet("connectors", tree.connectors, access, depends_on=[connect.deployment])
    return {
        "clusterName": cluster.cluster_name,
        "kubeconfig": cluster.kubeconfig,
        "ecrRepositoryUrl": registry.repository_url,
        "imageDigest": registry.image_ref,
        "connectServiceName": connect.service_name,
        "connectNamespace": connect.namespace,
        "connectorNames": connectors.connector_names,
    }


def _connector_tree(settings: StackSettings, project_root: Path) -> ConnectorTree:
    destination = settings.destination
    return load_connector_tree(
        TreeContext(
            root=project_root / "connectors",
            env=settings.env,
            destination=endpoint_of(destination.name, destination),
            sources={name: endpoint_of(name, source) for name, source in settings.sources.items()},
            secrets_dir=image_layout.SECRETS_DIR,
            replication_factor=destination.replication_factor,
            exactly_once=settings.connect.exactly_once,
            display_root=project_root,
            allow_empty_sources=settings.allow_empty_connector_folders,
        )
    )


def _peer_sources(
    settings: StackSettings, account: AwsSettings, cluster: KubernetesCluster, opts: pulumi.ResourceOptions
) -> None:
    if settings.cluster is None:
        return
    eks = EksSide(
        account_id=account.account_id,
        region=account.region,
        vpc_id=settings.cluster.vpc_id,
        vpc_cidr=settings.cluster.vpc_cidr,
        route_table_ids=settings.cluster.route_table_ids,
        node_security_group_id=cluster.node_security_group_id,
    )
    for name, source in sorted(settings.sources.items()):
        if source.network is not None:
            PeeredNetwork(name, source, eks, opts=opts)
