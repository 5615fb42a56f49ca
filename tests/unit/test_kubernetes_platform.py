"""Platform kubernetes under mocks: the same workers and connectors as on EKS, and no AWS resource."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.mocked_program import ProgramRun, last_run, run_program, strip_secret_envelopes
from stackconfig.load import PROJECT, StackConfigError
from workload.kubernetes import SERVICE_ACCOUNT

KUBECONFIG = json.dumps({"apiVersion": "v1", "kind": "Config", "clusters": [{"name": "own-cluster"}]})
IMAGE = "registry.example/mm2-eks@sha256:" + "cd" * 32


def values() -> dict[str, Any]:
    return {
        f"{PROJECT}:platform": "kubernetes",
        f"{PROJECT}:env": "selfmanaged",
        f"{PROJECT}:image": {"reference": IMAGE, "pullPolicy": "IfNotPresent"},
        f"{PROJECT}:kubernetes": {"nodeLabels": {"pool": "mirror"}},
        f"{PROJECT}:destination": {
            "name": "kafka-dc2",
            "bootstrapServers": "kafka.dc2.example:9093",
            "auth": {"mode": "scram"},
            "replicationFactor": 3,
        },
        f"{PROJECT}:sources": {"dc1": {"bootstrapServers": "kafka.dc1.example:9093", "auth": {"mode": "tls"}}},
        f"{PROJECT}:connect": {"replicas": 2, "workerAntiAffinity": "preferred"},
    }


def secrets() -> dict[str, Any]:
    return {
        f"{PROJECT}:kubeconfig": KUBECONFIG,
        f"{PROJECT}:connectPassword": "rest-pa55word-kube",
        f"{PROJECT}:credentials": {"kafka-dc2": {"username": "mirror", "password": "scram-pa55word-kube"}},
    }


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("selfmanaged")
    folder = root / "connectors" / "selfmanaged" / "kafka-dc2" / "dc1"
    folder.mkdir(parents=True)
    (folder / "orders.json").write_text(
        json.dumps({"config": {"connector.class": "MirrorSourceConnector", "topics": "orders"}})
    )
    return root


@pytest.fixture(scope="module")
def run(project: Path) -> ProgramRun:
    return run_program(values(), secrets(), project_root=project, stack="selfmanaged")


def test_no_aws_resource_is_declared(run: ProgramRun) -> None:
    types = {registration.type for registration in run.registrations}
    assert not [t for t in types if t.startswith(("aws:", "eks:", "docker:"))], sorted(types)
    assert "kubernetes:apps/v1:Deployment" in types


def test_the_workers_run_the_given_image_without_an_iam_role(run: ProgramRun) -> None:
    deployment = run.one("kubernetes:apps/v1:Deployment").inputs
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == IMAGE and container["imagePullPolicy"] == "IfNotPresent"
    account = run.one("kubernetes:core/v1:ServiceAccount").inputs
    assert account["metadata"]["name"] == SERVICE_ACCOUNT and "annotations" not in account["metadata"]
    affinity = deployment["spec"]["template"]["spec"]["affinity"]
    assert "preferredDuringSchedulingIgnoredDuringExecution" in affinity["podAntiAffinity"]
    expressions = affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert expressions == [{"matchExpressions": [{"key": "pool", "operator": "In", "values": ["mirror"]}]}]


def test_every_kubernetes_object_goes_to_the_stacks_own_cluster(run: ProgramRun) -> None:
    provider = run.one("pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"] == KUBECONFIG
    assert strip_secret_envelopes(provider.raw)["kubeconfig"] == "[secret]", "the kubeconfig must be a secret"
    for registration in run.registrations:
        if registration.type.startswith("kubernetes:") and registration.custom:
            assert registration.provider.startswith(provider.urn), registration.name


def test_connectors_are_registered_through_the_port_forward(run: ProgramRun) -> None:
    [connector] = run.of_type("pulumi-python:dynamic:Resource")
    assert connector.inputs["connect"]["kubernetes"]["namespace"] == "mirrormaker2"
    assert connector.inputs["kubeconfig"] == KUBECONFIG
    assert connector.inputs["config"]["source.cluster.security.protocol"] == "SSL"
    assert run.outputs["connectorNames"] == ["orders"]
    assert "kubeconfig" in run.secret_outputs


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            lambda v: v[f"{PROJECT}:image"].pop("reference"),
            "mm2-eks:image.reference: required on platform kubernetes (an image built elsewhere)",
        ),
        (
            lambda v: v[f"{PROJECT}:sources"]["dc1"].update(auth={"mode": "iam"}),
            "mm2-eks:sources.dc1.auth.mode: iam needs an EKS service account role; use platform eks",
        ),
        (
            lambda v: v.update({f"{PROJECT}:aws": {"region": "eu-west-1", "accountId": "111111111111"}}),
            "mm2-eks:aws: not used on platform kubernetes (no AWS resource is created)",
        ),
    ],
)
def test_settings_that_do_not_fit_the_platform_are_named(project: Path, change: Any, problem: str) -> None:
    config = values()
    change(config)
    with pytest.raises(StackConfigError) as raised:
        run_program(config, secrets(), project_root=project, stack="selfmanaged")
    assert problem in raised.value.problems
    assert last_run().registrations == []


def test_the_kubeconfig_is_required(project: Path) -> None:
    without = {key: value for key, value in secrets().items() if not key.endswith(":kubeconfig")}
    with pytest.raises(StackConfigError) as raised:
        run_program(values(), without, project_root=project, stack="selfmanaged")
    assert raised.value.problems == ["mm2-eks:kubeconfig is required on platform kubernetes (it names the cluster)"]


def test_an_existing_namespace_is_left_alone(project: Path) -> None:
    config = values()
    config[f"{PROJECT}:connect"]["createNamespace"] = False
    run = run_program(config, secrets(), project_root=project, stack="selfmanaged")
    assert run.of_type("kubernetes:core/v1:Namespace") == []
    assert run.one("kubernetes:apps/v1:Deployment").inputs["metadata"]["namespace"] == "mirrormaker2"
