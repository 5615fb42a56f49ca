"""Monitoring objects exist only with monitoring enabled and the Prometheus operator present."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.monitoring import DASHBOARD_FILE
from harness.mocked_program import PROJECT_ROOT, ProgramRun, run_program
from stackconfig.load import PROJECT

MONITORING_TYPES = {
    "mm2:k8s:Monitoring",
    "kubernetes:monitoring.coreos.com/v1:PodMonitor",
    "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
}


def test_staging_has_pod_monitor_rules_and_dashboard(staging: ProgramRun) -> None:
    assert {r.type for r in staging.registrations} >= MONITORING_TYPES
    dashboard = staging.one("kubernetes:core/v1:ConfigMap", "monitoring-dashboard").inputs
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert dashboard["metadata"]["namespace"] == "mirrormaker2"
    (content,) = dashboard["data"].values()
    assert json.loads(content) == json.loads((PROJECT_ROOT / DASHBOARD_FILE).read_text())
    namespace = staging.one("kubernetes:core/v1:Namespace")
    for name in ("monitoring-pod-monitor", "monitoring-rules", "monitoring-dashboard"):
        registration = next(r for r in staging.registrations if r.name == name)
        assert namespace.urn in registration.dependencies, name


@pytest.mark.parametrize(("enabled", "operator"), [(False, False), (False, True), (True, False)])
def test_no_monitoring_objects_unless_enabled_with_the_operator(
    values: dict[str, Any], enabled: bool, operator: bool
) -> None:
    values[f"{PROJECT}:monitoring"] = {"enabled": enabled, "prometheusOperator": operator}
    run = run_program(values)
    assert not MONITORING_TYPES & {r.type for r in run.registrations}
    assert [r.name for r in run.of_type("kubernetes:core/v1:ConfigMap")] == ["connect-config"]


def test_the_deployed_rules_and_dashboard_watch_records_behind(staging: ProgramRun) -> None:
    # The lag alert and panels of docs/migration.md reach the cluster as they are in monitoring/.
    rules = staging.one("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "monitoring-rules").inputs
    alerts = {rule["alert"]: rule for group in rules["spec"]["groups"] for rule in group["rules"]}
    assert "kafka_consumer_fetch_manager_records_lag" in alerts["MirrorMakerRecordsBehind"]["expr"]
    (content,) = staging.one("kubernetes:core/v1:ConfigMap", "monitoring-dashboard").inputs["data"].values()
    titles = {panel["title"] for panel in json.loads(content)["panels"]}
    assert {"Records behind by topic", "Records behind by partition (top 20)"} <= titles
