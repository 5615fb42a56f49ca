"""`mm2:k8s:Monitoring`: Prometheus operator objects and the Grafana dashboard for the workers.

The assets live in monitoring/ so that they can be reviewed (and used without Kubernetes) as
plain files; `MonitoringAssets.load` reads them before any resource is declared, so a missing
or broken file fails the preview instead of half a deployment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes
import yaml

from stackconfig.load import PROJECT, StackConfigError
from stackconfig.models import MonitoringSettings

DASHBOARD_FILE = Path("monitoring") / "grafana-dashboard.json"
RULES_FILE = Path("monitoring") / "prometheus-rules.yaml"
# Replaced verbatim: string.Template would also see the rules' own $labels and $value.
NO_RECORDS_PLACEHOLDER = "${NO_RECORDS_MINUTES}"
# The label the Grafana sidecar looks for on ConfigMaps holding dashboards.
GRAFANA_DASHBOARD_LABEL = {"grafana_dashboard": "1"}


@dataclass(frozen=True)
class MonitoringAssets:
    dashboard_json: str
    # The PrometheusRule's spec: {"groups": [...]}.
    rules: dict[str, Any]

    @classmethod
    def load(cls, project_root: Path, settings: MonitoringSettings) -> MonitoringAssets:
        problems = []
        why = f"needed because {PROJECT}:monitoring.prometheusOperator is true"
        dashboard = project_root / DASHBOARD_FILE
        rules_file = project_root / RULES_FILE
        dashboard_json, rules = "", {}
        try:
            dashboard_json = dashboard.read_text()
            json.loads(dashboard_json)
        except (OSError, ValueError) as error:
            problems.append(f"{DASHBOARD_FILE}: unreadable or not JSON ({error}); {why}")
        try:
            text = rules_file.read_text().replace(NO_RECORDS_PLACEHOLDER, str(settings.no_records_minutes))
            rules = yaml.safe_load(text)
            if not isinstance(rules, dict) or not isinstance(rules.get("groups"), list):
                problems.append(f"{RULES_FILE}: expected a top-level `groups:` list (a PrometheusRule spec); {why}")
        except (OSError, yaml.YAMLError) as error:
            problems.append(f"{RULES_FILE}: unreadable or not YAML ({error}); {why}")
        if problems:
            raise StackConfigError(problems)
        return cls(dashboard_json=dashboard_json, rules={"groups": rules["groups"]})


class Monitoring(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        assets: MonitoringAssets,
        namespace: pulumi.Input[str],
        worker_labels: Mapping[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mm2:k8s:Monitoring", name, None, opts)
        here = pulumi.ResourceOptions(parent=self)
        labels = {"app.kubernetes.io/part-of": "mm2-eks"}
        kubernetes.apiextensions.CustomResource(
            f"{name}-pod-monitor",
            api_version="monitoring.coreos.com/v1",
            kind="PodMonitor",
            metadata={"name": "mirrormaker2-workers", "namespace": namespace, "labels": labels},
            spec={
                "selector": {"matchLabels": dict(worker_labels)},
                "podMetricsEndpoints": [{"port": "metrics", "interval": "30s"}],
            },
            opts=here,
        )
        kubernetes.apiextensions.CustomResource(
            f"{name}-rules",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata={"name": "mirrormaker2-alerts", "namespace": namespace, "labels": labels},
            spec=assets.rules,
            opts=here,
        )
        kubernetes.core.v1.ConfigMap(
            f"{name}-dashboard",
            metadata={
                "name": "mirrormaker2-dashboard",
                "namespace": namespace,
                "labels": {**labels, **GRAFANA_DASHBOARD_LABEL},
            },
            data={"mirrormaker2.json": assets.dashboard_json},
            opts=here,
        )
        self.register_outputs({})
