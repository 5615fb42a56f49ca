"""The Kubernetes objects the program declares are valid against Kubernetes 1.33's schema (strict).

Manifests are built from the inputs as the provider receives them (camelCase, apiVersion/kind).
Strict validation rejects unknown fields, so a misspelt key fails here instead of being dropped
by the API server.
"""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
import yaml

from components.monitoring import RULES_FILE
from harness.mocked_program import PROJECT_ROOT, ProgramRun, integral

KUBERNETES_VERSION = "1.33"
VALIDATED_KINDS = {
    "Deployment",
    "Service",
    "ConfigMap",
    "Secret",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "ServiceAccount",
    "Namespace",
}


def manifests(run: ProgramRun) -> list[dict[str, Any]]:
    return [
        integral(registration.inputs)
        for registration in run.registrations
        if registration.type.startswith("kubernetes:") and registration.inputs.get("kind") in VALIDATED_KINDS
    ]


def test_every_kind_is_declared(staging: ProgramRun) -> None:
    assert {manifest["kind"] for manifest in manifests(staging)} == VALIDATED_KINDS


@pytest.mark.parametrize("kind", sorted(VALIDATED_KINDS))
def test_manifests_match_the_kubernetes_schema(staging: ProgramRun, kind: str) -> None:
    for manifest in manifests(staging):
        if manifest["kind"] == kind:
            try:
                kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as error:
                pytest.fail(f"{kind} {manifest['metadata']['name']}: {error.message} at {list(error.path)}")


def test_the_validator_rejects_a_misspelt_field(staging: ProgramRun) -> None:
    (deployment,) = [m for m in manifests(staging) if m["kind"] == "Deployment"]
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"tcpSocket": {"port": 8083}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_prometheus_operator_objects(staging: ProgramRun) -> None:
    monitor = staging.one("kubernetes:monitoring.coreos.com/v1:PodMonitor").inputs
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    workers = staging.one("kubernetes:apps/v1:Deployment").inputs["spec"]["selector"]["matchLabels"]
    assert monitor["spec"] == {
        "selector": {"matchLabels": workers},
        "podMetricsEndpoints": [{"port": "metrics", "interval": "30s"}],
    }
    rule = staging.one("kubernetes:monitoring.coreos.com/v1:PrometheusRule").inputs
    expected = yaml.safe_load((PROJECT_ROOT / RULES_FILE).read_text().replace("${NO_RECORDS_MINUTES}", "15"))
    assert integral(rule["spec"]) == {"groups": expected["groups"]}
    rules_text = str(rule["spec"])
    assert "${NO_RECORDS_MINUTES}" not in rules_text
    assert "[15m]" in rules_text  # monitoring.noRecordsMinutes of the staging stack
