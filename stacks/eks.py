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
from components.connect_cluster import WorkloadIdentity
from components.network import EksSide, PeeredNetwork
from components.registry import ImageRegistry
from stackconfig.models import AwsSettings, StackSecrets, StackSettings
from stacks.workers import check_files, deploy_workers


def build_eks_stack(settings: StackSettings, secrets: StackSecrets, project_root: Path) -> dict[str, pulumi.Input[Any]]:
    files = check_files(settings, project_root)
    if settings.aws is None or settings.cluster is None:
        raise ValueError("load_stack validates aws and cluster on eks")  # for the type checker

    # Every AWS resource of the EKS account goes through this provider: allowed_account_ids makes
    # credentials for the wrong account fail before anything is created.
    aws_provider = aws.Provider(
        "eks-account", region=settings.aws.region, allowed_account_ids=[settings.aws.account_id]
    )
    in_account = pulumi.ResourceOptions(providers=[aws_provider])

    cluster = KubernetesCluster("eks", settings.cluster, secrets.kubeconfig, opts=in_account)
    _peer_sources(settings, settings.aws, cluster, in_account)
    registry = ImageRegistry("image", settings.image, project_root / "docker", opts=in_account)
    workers = deploy_workers(
        files,
        settings,
        secrets,
        image=registry.image_ref,
        node_labels=cluster.node_labels,
        kubeconfig=cluster.kubeconfig,
        cluster_provider=cluster.provider,
        identity=WorkloadIdentity(cluster.oidc_provider_arn, cluster.oidc_provider_host),
        providers=[aws_provider],
    )
    return {
        "clusterName": cluster.cluster_name,
        "kubeconfig": cluster.kubeconfig,
        "ecrRepositoryUrl": registry.repository_url,
        "imageDigest": registry.image_ref,
        "connectServiceName": workers.connect.service_name,
        "connectNamespace": workers.connect.namespace,
        "connectorNames": workers.connectors.connector_names,
    }


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
