"""The EKS cluster (new or existing) and the Kubernetes provider every Kubernetes object uses."""

from __future__ import annotations

import json
from typing import Any

from harness.mocked_program import KUBECONFIG, OIDC_ARN, OIDC_HOST, ProgramRun, run_program, secret_values
from stackconfig.load import PROJECT

KUBERNETES_PROVIDER = "pulumi:providers:kubernetes"


def test_new_cluster_from_config(staging: ProgramRun, values: dict[str, Any]) -> None:
    cluster = values[f"{PROJECT}:cluster"]
    eks = staging.one("eks:index:Cluster").inputs
    assert eks["name"] == cluster["name"]
    assert eks["version"] == cluster["version"]
    assert eks["vpcId"] == cluster["vpcId"]
    assert eks["privateSubnetIds"] == cluster["privateSubnetIds"]
    assert eks["createOidcProvider"] is True
    assert eks["authenticationMode"] == "API"
    assert eks["skipDefaultNodeGroup"] is True
    assert eks["skipDefaultSecurityGroups"] is True
    assert eks["useDefaultVpcCni"] is False
    assert eks["vpcCniOptions"]["enableNetworkPolicy"] is True
    assert staging.outputs["clusterName"] == cluster["name"]


def test_managed_node_group_carries_the_labels_the_workers_select(staging: ProgramRun, values: dict[str, Any]) -> None:
    node_group = values[f"{PROJECT}:cluster"]["nodeGroup"]
    group = staging.one("eks:index:ManagedNodeGroup")
    assert group.inputs["labels"] == node_group["labels"]
    assert group.inputs["instanceTypes"] == [node_group["instanceType"]]
    assert group.inputs["scalingConfig"] == {
        "desiredSize": node_group["desiredSize"],
        "minSize": node_group["minSize"],
        "maxSize": node_group["maxSize"],
    }
    assert group.inputs["cluster"] == staging.one("eks:index:Cluster").urn
    node_role = staging.one("aws:iam/role:Role", "eks-node-role")
    assert json.loads(node_role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Service": "ec2.amazonaws.com"
    }
    attached = {r.inputs["policyArn"] for r in staging.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
    assert attached == {
        "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
        "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
        "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    }
    # Nodes join only once their role may.
    assert {a.urn for a in staging.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")} <= set(
        group.dependencies
    )
    node_selector = staging.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]["affinity"][
        "nodeAffinity"
    ]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert node_selector == [
        {"matchExpressions": [{"key": k, "operator": "In", "values": [v]} for k, v in node_group["labels"].items()]}
    ]


def test_kubernetes_objects_use_the_provider_built_from_the_kubeconfig(staging: ProgramRun) -> None:
    provider = staging.one(KUBERNETES_PROVIDER)
    assert provider.inputs["kubeconfig"] == KUBECONFIG
    assert "4dabf18193072939515e22adb298388d" in provider.raw["kubeconfig"]  # sent as a secret
    kubernetes_objects = [r for r in staging.registrations if r.type.startswith("kubernetes:")]
    assert len(kubernetes_objects) >= 10
    assert {staging.provider_of(r).urn for r in kubernetes_objects} == {provider.urn}
    assert staging.outputs["kubeconfig"] == KUBECONFIG
    assert "kubeconfig" in staging.secret_outputs


def test_irsa_role_trusts_the_clusters_oidc_provider_for_the_workers_service_account(staging: ProgramRun) -> None:
    role = staging.one("aws:iam/role:Role", "connect-workers")
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Federated": OIDC_ARN}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            f"{OIDC_HOST}:sub": "system:serviceaccount:mirrormaker2:mm2-connect",
            f"{OIDC_HOST}:aud": "sts.amazonaws.com",
        }
    }
    service_account = staging.one("kubernetes:core/v1:ServiceAccount")
    assert service_account.inputs["metadata"]["name"] == "mm2-connect"
    assert service_account.inputs["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::111111111111:role/mm2-staging-connect-workers"
    }
    pod = staging.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "mm2-connect"


def test_existing_cluster_from_kubeconfig_secret(values: dict[str, Any]) -> None:
    existing_kubeconfig = "apiVersion: v1\nkind: Config\nclusters: [{name: existing}]\n"
    values[f"{PROJECT}:cluster"] = {
        "kind": "existing",
        "name": "shared-eks",
        "vpcId": "vpc-0a1b2c3d4e5f60718",
        "vpcCidr": "10.10.0.0/16",
        "routeTableIds": ["rtb-0a1b2c3d4e5f60001"],
        "nodeSecurityGroupId": "sg-0123456789abcdef0",
        "oidcProviderArn": "arn:aws:iam::111111111111:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXISTING",
        "oidcProviderUrl": "https://oidc.eks.eu-west-1.amazonaws.com/id/EXISTING",
        "nodeLabels": {"pool": "kafka"},
    }
    run = run_program(values, {**secret_values(), f"{PROJECT}:kubeconfig": existing_kubeconfig})
    assert not run.of_type("eks:index:Cluster")
    assert not run.of_type("eks:index:ManagedNodeGroup")
    assert run.one(KUBERNETES_PROVIDER).inputs["kubeconfig"] == existing_kubeconfig
    assert run.outputs["clusterName"] == "shared-eks"
    assert run.outputs["kubeconfig"] == existing_kubeconfig
    egress = run.one("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert egress.inputs["securityGroupId"] == "sg-0123456789abcdef0"
    role = run.one("aws:iam/role:Role", "connect-workers")
    condition = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert "oidc.eks.eu-west-1.amazonaws.com/id/EXISTING:sub" in condition
    pod = run.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]
    assert pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] == {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "pool", "operator": "In", "values": ["kafka"]}]}]
    }
