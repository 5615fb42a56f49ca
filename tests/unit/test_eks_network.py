"""Peering with the sources' VPCs: routes both ways, DNS, security groups, and the accepter's provider."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.network import broker_ports
from harness.mocked_program import EKS_ACCOUNT, NODE_SECURITY_GROUP, PEERING_ID, ProgramRun, run_program
from stackconfig.load import PROJECT
from stackconfig.models import SourceCluster

PEERING = "aws:ec2/vpcPeeringConnection:VpcPeeringConnection"
ACCEPTER = "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter"
OPTIONS = "aws:ec2/peeringConnectionOptions:PeeringConnectionOptions"
ROUTE = "aws:ec2/route:Route"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
AWS_PROVIDER = "pulumi:providers:aws"


def network_of(values: dict[str, Any], source: str = "msk-east") -> dict[str, Any]:
    network: dict[str, Any] = values[f"{PROJECT}:sources"][source]["network"]
    return network


def test_routes_to_the_source_in_every_eks_route_table(staging: ProgramRun, values: dict[str, Any]) -> None:
    cluster, network = values[f"{PROJECT}:cluster"], network_of(values)
    routes = [r for r in staging.of_type(ROUTE) if r.inputs["destinationCidrBlock"] == network["cidrBlock"]]
    assert sorted(r.inputs["routeTableId"] for r in routes) == sorted(cluster["routeTableIds"])
    assert all(r.inputs["vpcPeeringConnectionId"] == PEERING_ID for r in routes)
    assert {staging.provider_of(r).name for r in routes} == {"eks-account"}


def test_routes_to_eks_in_every_source_route_table_through_the_peer_provider(
    staging: ProgramRun, values: dict[str, Any]
) -> None:
    cluster, network = values[f"{PROJECT}:cluster"], network_of(values)
    routes = [r for r in staging.of_type(ROUTE) if r.inputs["destinationCidrBlock"] == cluster["vpcCidr"]]
    assert sorted(r.inputs["routeTableId"] for r in routes) == sorted(network["routeTableIds"])
    assert all(r.inputs["vpcPeeringConnectionId"] == PEERING_ID for r in routes)
    assert {staging.provider_of(r).name for r in routes} == {"msk-east-peer"}


def test_cross_account_cross_region_peering_is_accepted_through_the_peer_provider(
    staging: ProgramRun, values: dict[str, Any]
) -> None:
    network = network_of(values)
    requester = staging.one(PEERING)
    assert requester.inputs["vpcId"] == values[f"{PROJECT}:cluster"]["vpcId"]
    assert requester.inputs["peerVpcId"] == network["vpcId"]
    assert requester.inputs["peerOwnerId"] == network["accountId"]
    assert requester.inputs["peerRegion"] == network["region"]
    assert requester.inputs["autoAccept"] is False  # AWS refuses auto-accept across accounts or regions
    assert staging.provider_of(requester).name == "eks-account"

    accepter = staging.one(ACCEPTER)
    assert accepter.inputs["vpcPeeringConnectionId"] == PEERING_ID
    assert accepter.inputs["autoAccept"] is True
    peer = staging.provider_of(accepter)
    assert peer.type == AWS_PROVIDER
    assert peer.inputs["region"] == network["region"]
    # Providers get structured settings as JSON text.
    assert json.loads(peer.inputs["assumeRoles"]) == [
        {"roleArn": network["accepterRoleArn"], "sessionName": "mm2-eks-peering"}
    ]
    assert json.loads(peer.inputs["allowedAccountIds"]) == [network["accountId"]]


def test_the_eks_account_provider_refuses_other_accounts(staging: ProgramRun, values: dict[str, Any]) -> None:
    provider = staging.one(AWS_PROVIDER, "eks-account")
    assert provider.inputs["region"] == values[f"{PROJECT}:aws"]["region"]
    assert json.loads(provider.inputs["allowedAccountIds"]) == [values[f"{PROJECT}:aws"]["accountId"]]


def test_dns_resolution_is_allowed_on_each_side_with_that_sides_credentials(staging: ProgramRun) -> None:
    options = {r.name: r for r in staging.of_type(OPTIONS)}
    assert set(options) == {"msk-east-dns-requester", "msk-east-dns-accepter"}
    requester, accepter = options["msk-east-dns-requester"], options["msk-east-dns-accepter"]
    assert requester.inputs["requester"] == {"allowRemoteVpcDnsResolution": True}
    assert "accepter" not in requester.inputs
    assert staging.provider_of(requester).name == "eks-account"
    assert accepter.inputs["accepter"] == {"allowRemoteVpcDnsResolution": True}
    assert "requester" not in accepter.inputs
    assert staging.provider_of(accepter).name == "msk-east-peer"
    # Options can be set only on an active (accepted) peering.
    assert staging.one(ACCEPTER).urn in requester.dependencies


def test_broker_port_of_iam_is_opened_from_the_eks_vpc_across_regions(
    staging: ProgramRun, values: dict[str, Any]
) -> None:
    network, cluster = network_of(values), values[f"{PROJECT}:cluster"]
    ingress = staging.one(INGRESS)
    assert ingress.inputs["securityGroupId"] == network["brokerSecurityGroupId"]
    assert (ingress.inputs["fromPort"], ingress.inputs["toPort"], ingress.inputs["ipProtocol"]) == (9098, 9098, "tcp")
    # Security groups cannot be referenced across regions: the EKS VPC's CIDR stands in.
    assert ingress.inputs["cidrIpv4"] == cluster["vpcCidr"]
    assert "referencedSecurityGroupId" not in ingress.inputs
    assert staging.provider_of(ingress).name == "msk-east-peer"

    egress = staging.one(EGRESS)
    assert egress.inputs["securityGroupId"] == NODE_SECURITY_GROUP
    assert (egress.inputs["fromPort"], egress.inputs["toPort"], egress.inputs["ipProtocol"]) == (9098, 9098, "tcp")
    assert egress.inputs["cidrIpv4"] == network["cidrBlock"]
    assert staging.provider_of(egress).name == "eks-account"


def test_sources_without_network_are_not_peered(staging: ProgramRun) -> None:
    assert [r.name for r in staging.of_type("mm2:aws:PeeredNetwork")] == ["msk-east"]
    assert not [
        r
        for r in staging.registrations
        if r.name.startswith("confluent") and r.type != "pulumi-python:dynamic:Resource"
    ]


def test_same_account_and_region_peering_accepts_itself_and_references_the_node_group(
    values: dict[str, Any],
) -> None:
    network = network_of(values)
    for key in ("accountId", "region", "accepterRoleArn"):
        del network[key]
    run = run_program(values)
    assert run.one(PEERING).inputs["autoAccept"] is True
    assert "peerRegion" not in run.one(PEERING).inputs
    assert not run.of_type(ACCEPTER)
    assert [r.name for r in run.of_type(AWS_PROVIDER)] == ["eks-account"]
    (options,) = run.of_type(OPTIONS)
    assert options.inputs["requester"] == options.inputs["accepter"] == {"allowRemoteVpcDnsResolution": True}
    ingress = run.one(INGRESS)
    assert ingress.inputs["referencedSecurityGroupId"] == NODE_SECURITY_GROUP
    assert "cidrIpv4" not in ingress.inputs
    routes = run.of_type(ROUTE)
    assert len(routes) == len(values[f"{PROJECT}:cluster"]["routeTableIds"]) + len(network["routeTableIds"])
    assert {run.provider_of(r).name for r in routes} == {"eks-account"}


def test_cross_account_same_region_references_the_node_group_with_its_account(values: dict[str, Any]) -> None:
    network = network_of(values)
    network["region"] = values[f"{PROJECT}:aws"]["region"]
    run = run_program(values)
    assert "peerRegion" not in run.one(PEERING).inputs
    ingress = run.one(INGRESS)
    assert ingress.inputs["referencedSecurityGroupId"] == f"{EKS_ACCOUNT}/{NODE_SECURITY_GROUP}"
    assert run.provider_of(ingress).name == "msk-east-peer"


def test_a_scram_source_opens_the_scram_port(values: dict[str, Any]) -> None:
    source = values[f"{PROJECT}:sources"]["msk-east"]
    source["auth"] = {"mode": "scram"}
    source["bootstrapServers"] = source["bootstrapServers"].replace(":9098", ":9096")
    credentials = {
        "confluent": {"username": "u", "password": "p"},
        "msk-east": {"username": "mm2", "password": "scram-password"},
        "msk-legacy": {"username": "mm2", "password": "legacy-password"},
    }
    run = run_program(values, {f"{PROJECT}:credentials": credentials, f"{PROJECT}:connectPassword": "x"})
    assert {(r.inputs["fromPort"], r.inputs["toPort"]) for r in run.of_type(INGRESS)} == {(9096, 9096)}
    assert {(r.inputs["fromPort"], r.inputs["toPort"]) for r in run.of_type(EGRESS)} == {(9096, 9096)}


MSK_ARN = "arn:aws:kafka:us-east-1:222222222222:cluster/msk-east/9a8b7c6d-5e4f-3a2b-1c0d-e9f8a7b6c5d4-2"


@pytest.mark.parametrize(
    ("auth", "bootstrap", "arn", "expected"),
    [
        ({"mode": "plaintext"}, "b-1.msk:9092", MSK_ARN, [9092]),
        ({"mode": "tls"}, "b-1.msk:9094", MSK_ARN, [9094]),
        ({"mode": "scram"}, "b-1.msk:9096", MSK_ARN, [9096]),
        ({"mode": "iam"}, "b-1.msk:9098", MSK_ARN, [9098]),
        # SASL/PLAIN is no MSK mode: the bootstrap port is the broker port.
        ({"mode": "plain"}, "pkc-1.confluent.cloud:9092", None, [9092]),
        # A self-managed cluster listens where its bootstrap servers say.
        ({"mode": "tls"}, "kafka-1.internal:9093,kafka-2.internal:9093", None, [9093]),
    ],
)
def test_broker_ports_by_auth_mode(auth: dict[str, str], bootstrap: str, arn: str | None, expected: list[int]) -> None:
    source = SourceCluster.model_validate({"bootstrapServers": bootstrap, "auth": auth, "mskClusterArn": arn})
    assert broker_ports(source) == expected
