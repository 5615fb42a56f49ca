"""`mm2:aws:PeeredNetwork`: the private path from the Connect workers to one source cluster's brokers.

One per source with a `network` block: a VPC peering connection requested from the EKS account,
accepted in the peer's account and region, DNS resolution across it (MSK bootstrap names must
resolve to the brokers' private addresses), routes on both sides, and the broker port opened
between the EKS nodes and the brokers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from stackconfig.models import MSK_PORT_BY_AUTH_MODE, PeeringNetwork, SourceCluster


@dataclass(frozen=True)
class EksSide:
    """The requester side of every peering: the EKS cluster's VPC and its nodes' security group."""

    account_id: str
    region: str
    vpc_id: str
    vpc_cidr: str
    route_table_ids: Sequence[str]
    node_security_group_id: pulumi.Input[str]


def broker_ports(source: SourceCluster) -> list[int]:
    """The TCP ports the workers dial on the source brokers.

    An MSK cluster (mskClusterArn set) serves each auth mode on its own port, and the stack config
    already refuses bootstrap servers on another one. Anything else (SASL/PLAIN, a self-managed
    cluster) is reached on the ports its bootstrap servers name.
    """
    if source.msk_cluster_arn and source.auth.mode in MSK_PORT_BY_AUTH_MODE:
        return [MSK_PORT_BY_AUTH_MODE[source.auth.mode]]
    return sorted(source.bootstrap_ports())


def _node_source(eks: EksSide, cross_account: bool, cross_region: bool) -> tuple[str | None, pulumi.Input[str] | None]:
    """How the brokers' ingress rule names the workers: (CIDR, security group), one of them set.

    A security group can be referenced across a peering only within one region, as
    "account/sg-id" across accounts; across regions AWS accepts only the CIDR.
    """
    if cross_region:
        return eks.vpc_cidr, None
    if cross_account:
        return None, pulumi.Output.concat(eks.account_id, "/", eks.node_security_group_id)
    return None, eks.node_security_group_id


class PeeredNetwork(pulumi.ComponentResource):
    peering_connection_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        source: SourceCluster,
        eks: EksSide,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mm2:aws:PeeredNetwork", name, None, opts)
        if source.network is None:
            raise ValueError(f"source {name!r} has no network to peer with")
        network = source.network
        peer_account = network.account_id or eks.account_id
        peer_region = network.region or eks.region
        cross_account = peer_account != eks.account_id
        cross_region = peer_region != eks.region
        here = pulumi.ResourceOptions(parent=self)

        # AWS accepts a peering by itself only inside one account and region; anywhere else the
        # peer side must accept it, with credentials valid there.
        peer_provider = (
            self._peer_provider(name, network, peer_account, peer_region) if cross_account or cross_region else None
        )
        peering = aws.ec2.VpcPeeringConnection(
            f"{name}-peering",
            vpc_id=eks.vpc_id,
            peer_vpc_id=network.vpc_id,
            peer_owner_id=peer_account,
            peer_region=peer_region if cross_region else None,
            auto_accept=peer_provider is None,
            tags={"Name": f"mm2-{name}", "Side": "requester"},
            opts=here,
        )
        if peer_provider is None:
            active_id: pulumi.Output[str] = peering.id
            active: pulumi.Resource = peering
            peer = here
        else:
            peer = pulumi.ResourceOptions(parent=self, provider=peer_provider)
            accepter = aws.ec2.VpcPeeringConnectionAccepter(
                f"{name}-accepter",
                vpc_peering_connection_id=peering.id,
                auto_accept=True,
                tags={"Name": f"mm2-{name}", "Side": "accepter"},
                opts=peer,
            )
            active_id, active = accepter.id, accepter
        # Everything below needs the peering ACTIVE, which it is only once accepted.
        after_active = pulumi.ResourceOptions(depends_on=[active])

        self._allow_dns_resolution(name, active_id, peer_provider, pulumi.ResourceOptions.merge(here, after_active))
        for route_table_id in eks.route_table_ids:
            aws.ec2.Route(
                f"{name}-to-source-{route_table_id}",
                route_table_id=route_table_id,
                destination_cidr_block=network.cidr_block,
                vpc_peering_connection_id=active_id,
                opts=pulumi.ResourceOptions.merge(here, after_active),
            )
        for route_table_id in network.route_table_ids:
            aws.ec2.Route(
                f"{name}-to-eks-{route_table_id}",
                route_table_id=route_table_id,
                destination_cidr_block=eks.vpc_cidr,
                vpc_peering_connection_id=active_id,
                opts=pulumi.ResourceOptions.merge(peer, after_active),
            )

        from_cidr, from_group = _node_source(eks, cross_account, cross_region)
        for port in broker_ports(source):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-brokers-from-eks-{port}",
                security_group_id=network.broker_security_group_id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                cidr_ipv4=from_cidr,
                referenced_security_group_id=from_group,
                description=f"MirrorMaker 2 workers on EKS ({eks.vpc_id}) to the brokers",
                opts=pulumi.ResourceOptions.merge(peer, after_active),
            )
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-eks-to-brokers-{port}",
                security_group_id=eks.node_security_group_id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                cidr_ipv4=network.cidr_block,
                description=f"MirrorMaker 2 workers to source {name} brokers ({network.vpc_id})",
                opts=here,
            )

        self.peering_connection_id = peering.id
        self.register_outputs({"peering_connection_id": peering.id})

    def _peer_provider(self, name: str, network: PeeringNetwork, account: str, region: str) -> aws.Provider:
        # allowed_account_ids makes a wrong accepterRoleArn fail instead of touching another account.
        assume = [aws.ProviderAssumeRoleArgs(role_arn=network.accepter_role_arn, session_name="mm2-eks-peering")]
        return aws.Provider(
            f"{name}-peer",
            region=region,
            allowed_account_ids=[account],
            assume_roles=assume if network.accepter_role_arn else None,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _allow_dns_resolution(
        self,
        name: str,
        peering_id: pulumi.Input[str],
        peer_provider: aws.Provider | None,
        opts: pulumi.ResourceOptions,
    ) -> None:
        requester = aws.ec2.PeeringConnectionOptionsRequesterArgs(allow_remote_vpc_dns_resolution=True)
        accepter = aws.ec2.PeeringConnectionOptionsAccepterArgs(allow_remote_vpc_dns_resolution=True)
        if peer_provider is None:
            aws.ec2.PeeringConnectionOptions(
                f"{name}-dns", vpc_peering_connection_id=peering_id, requester=requester, accepter=accepter, opts=opts
            )
            return
        # Each side's option can only be set with that side's credentials.
        aws.ec2.PeeringConnectionOptions(
            f"{name}-dns-requester", vpc_peering_connection_id=peering_id, requester=requester, opts=opts
        )
        aws.ec2.PeeringConnectionOptions(
            f"{name}-dns-accepter",
            vpc_peering_connection_id=peering_id,
            accepter=accepter,
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(provider=peer_provider)),
        )
