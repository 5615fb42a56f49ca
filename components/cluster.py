"""`mm2:aws:EksCluster`: the Kubernetes cluster the Connect workers run on, and a provider for it.

Either a new EKS cluster (pulumi-eks) in an existing VPC with one managed node group carrying the
labels the workers' node affinity selects, or an existing cluster given by its kubeconfig secret.
Either way the rest of the stack sees the same outputs.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as kubernetes
from pydantic import SecretStr

from stackconfig.models import ExistingCluster, NewCluster

# What every EKS node needs: join the cluster, run the VPC CNI, pull images from ECR.
NODE_POLICY_ARNS = {
    "worker": "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "cni": "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "ecr": "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
}


class KubernetesCluster(pulumi.ComponentResource):
    cluster_name: pulumi.Output[str]
    # A secret output: it grants access to the cluster.
    kubeconfig: pulumi.Output[str]
    # The group the nodes' (and so the pods') network interfaces carry.
    node_security_group_id: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    # Without the scheme, as IAM trust-policy condition keys spell it.
    oidc_provider_host: pulumi.Output[str]
    node_labels: dict[str, str]
    provider: kubernetes.Provider

    def __init__(
        self,
        name: str,
        cluster: NewCluster | ExistingCluster,
        kubeconfig: SecretStr | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mm2:aws:EksCluster", name, None, opts)
        if isinstance(cluster, NewCluster):
            self._create(name, cluster)
        else:
            self._adopt(cluster, kubeconfig)
        self.provider = kubernetes.Provider(
            f"{name}-kubernetes", kubeconfig=self.kubeconfig, opts=pulumi.ResourceOptions(parent=self)
        )
        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "kubeconfig": self.kubeconfig,
                "node_security_group_id": self.node_security_group_id,
                "oidc_provider_arn": self.oidc_provider_arn,
                "oidc_provider_host": self.oidc_provider_host,
            }
        )

    def _create(self, name: str, settings: NewCluster) -> None:
        here = pulumi.ResourceOptions(parent=self)
        cluster = eks.Cluster(
            name,
            name=settings.name,
            version=settings.version,
            vpc_id=settings.vpc_id,
            private_subnet_ids=settings.private_subnet_ids,
            authentication_mode=eks.AuthenticationMode.API,
            create_oidc_provider=True,
            skip_default_node_group=True,
            # Managed node groups carry the security group EKS creates for the cluster; without this
            # pulumi-eks would also create a node group that no node of ours would wear, and
            # node_security_group_id would name that unused group.
            skip_default_security_groups=True,
            # The VPC CNI enforces NetworkPolicy only when told to; without it the workers'
            # policy would be accepted and silently ignored.
            use_default_vpc_cni=False,
            vpc_cni_options=eks.VpcCniOptionsArgs(enable_network_policy=True),
            opts=here,
        )
        node_role = aws.iam.Role(
            f"{name}-node-role",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
                    ],
                }
            ),
            opts=here,
        )
        attachments = [
            aws.iam.RolePolicyAttachment(f"{name}-node-{key}", role=node_role.name, policy_arn=arn, opts=here)
            for key, arn in NODE_POLICY_ARNS.items()
        ]
        node_group = settings.node_group
        eks.ManagedNodeGroup(
            f"{name}-workers",
            cluster=cluster,
            node_role=node_role,
            instance_types=[node_group.instance_type],
            subnet_ids=settings.private_subnet_ids,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                desired_size=node_group.desired_size, min_size=node_group.min_size, max_size=node_group.max_size
            ),
            labels=node_group.labels,
            # Nodes cannot join before their role may join the cluster.
            opts=pulumi.ResourceOptions(parent=self, depends_on=attachments),
        )
        # pulumi-eks names the EKS cluster exactly as told, so the name is known at preview.
        self.cluster_name = pulumi.Output.from_input(settings.name)
        self.kubeconfig = pulumi.Output.secret(cluster.kubeconfig_json)
        self.node_security_group_id = cluster.node_security_group_id
        self.oidc_provider_arn = cluster.oidc_provider_arn
        self.oidc_provider_host = cluster.oidc_provider_url.apply(_without_scheme)
        self.node_labels = dict(node_group.labels)

    def _adopt(self, settings: ExistingCluster, kubeconfig: SecretStr | None) -> None:
        if kubeconfig is None:
            raise ValueError("an existing cluster needs the kubeconfig secret")  # load_stack refuses this earlier
        self.cluster_name = pulumi.Output.from_input(settings.name)
        self.kubeconfig = pulumi.Output.secret(kubeconfig.get_secret_value())
        self.node_security_group_id = pulumi.Output.from_input(settings.node_security_group_id)
        self.oidc_provider_arn = pulumi.Output.from_input(settings.oidc_provider_arn)
        self.oidc_provider_host = pulumi.Output.from_input(_without_scheme(settings.oidc_provider_url))
        self.node_labels = dict(settings.node_labels)


def _without_scheme(url: str) -> str:
    return url.removeprefix("https://").rstrip("/")
