"""Bad config or files fail with a message naming the key or file, before any resource is declared."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connect.connector_tree import ConnectorTreeError
from harness.mocked_program import PROJECT_ROOT, last_run, run_program, secret_values
from stackconfig.load import PROJECT, StackConfigError

Change = Callable[[dict[str, Any], dict[str, Any]], None]


def drop_connect_password(_values: dict[str, Any], secrets: dict[str, Any]) -> None:
    del secrets[f"{PROJECT}:connectPassword"]


def drop_confluent_credentials(_values: dict[str, Any], secrets: dict[str, Any]) -> None:
    secrets[f"{PROJECT}:credentials"] = {}


def drop_destination_arn(values: dict[str, Any], _secrets: dict[str, Any]) -> None:
    del values[f"{PROJECT}:destination"]["mskClusterArn"]


def wrong_msk_port(values: dict[str, Any], _secrets: dict[str, Any]) -> None:
    source = values[f"{PROJECT}:sources"]["msk-east"]
    source["bootstrapServers"] = source["bootstrapServers"].replace(":9098", ":9096")


def drop_accepter_role(values: dict[str, Any], _secrets: dict[str, Any]) -> None:
    del values[f"{PROJECT}:sources"]["msk-east"]["network"]["accepterRoleArn"]


def one_replica(values: dict[str, Any], _secrets: dict[str, Any]) -> None:
    values[f"{PROJECT}:connect"]["replicas"] = 1


def more_workers_than_nodes(values: dict[str, Any], _secrets: dict[str, Any]) -> None:
    values[f"{PROJECT}:connect"]["replicas"] = 4


def misspelt_key(values: dict[str, Any], _secrets: dict[str, Any]) -> None:
    values[f"{PROJECT}:connect"]["replica"] = 3


def negative_max_restarts(values: dict[str, Any], _secrets: dict[str, Any]) -> None:
    values[f"{PROJECT}:connect"]["taskRestarts"] = {"maxRestarts": -1}


def bad_cidr(values: dict[str, Any], _secrets: dict[str, Any]) -> None:
    values[f"{PROJECT}:sources"]["msk-east"]["network"]["cidrBlock"] = "10.20.0.0/33"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (drop_connect_password, "mm2-eks:connectPassword is required"),
        (drop_confluent_credentials, "mm2-eks:credentials.confluent: required (username and password)"),
        (drop_destination_arn, "mm2-eks:destination.mskClusterArn: required with auth.mode iam"),
        (wrong_msk_port, "mm2-eks:sources.msk-east.bootstrapServers: uses port 9096 but MSK serves auth.mode iam"),
        (drop_accepter_role, "mm2-eks:sources.msk-east.network.accepterRoleArn: required"),
        (one_replica, "mm2-eks:connect.replicas: must be at least 2 on eks"),
        (more_workers_than_nodes, "mm2-eks:connect.replicas: 4 workers need as many nodes"),
        (misspelt_key, "mm2-eks:connect.replica: unknown key"),
        (bad_cidr, "mm2-eks:sources.msk-east.network.cidrBlock"),
        (negative_max_restarts, "mm2-eks:connect.taskRestarts.maxRestarts: Input should be greater than or equal to 0"),
    ],
)
def test_config_errors_name_the_key_and_declare_nothing(values: dict[str, Any], change: Change, message: str) -> None:
    secrets = secret_values()
    change(values, secrets)
    with pytest.raises(StackConfigError) as raised:
        run_program(values, secrets)
    assert message in str(raised.value)
    assert last_run().registrations == []


def test_a_plaintext_secret_config_key_is_refused(values: dict[str, Any]) -> None:
    # Passed as config but not marked secret: what `pulumi config set` without --secret does.
    values[f"{PROJECT}:connectPassword"] = "in-plain-text"
    secrets = secret_values()
    del secrets[f"{PROJECT}:connectPassword"]
    with pytest.raises(StackConfigError, match="connectPassword must be set with `pulumi config set --secret`"):
        run_program(values, secrets)
    assert last_run().registrations == []


def project_copy(tmp_path: Path) -> Path:
    """A project folder with the real connectors and monitoring files, for a test to break."""
    shutil.copytree(PROJECT_ROOT / "connectors", tmp_path / "connectors")
    shutil.copytree(PROJECT_ROOT / "monitoring", tmp_path / "monitoring")
    return tmp_path


def test_a_bad_connector_file_fails_before_any_resource(tmp_path: Path) -> None:
    root = project_copy(tmp_path)
    bad = root / "connectors" / "staging" / "msk-main" / "confluent" / "audit.json"
    bad.write_text(
        json.dumps(
            {
                "config": {
                    "connector.class": "MirrorSourceConnector",
                    "source.cluster.bootstrap.servers": "elsewhere:9092",
                    "source.cluster.sasl.password": "hunter2",
                }
            }
        )
    )
    with pytest.raises(ConnectorTreeError) as raised:
        run_program(project_root=root)
    message = str(raised.value)
    assert "connectors/staging/msk-main/confluent/audit.json: config.source.cluster.bootstrap.servers" in message
    assert "set by the stack" in message
    assert last_run().registrations == []


def test_a_source_folder_the_stack_does_not_know_fails(tmp_path: Path) -> None:
    root = project_copy(tmp_path)
    (root / "connectors" / "staging" / "msk-main" / "msk-west").mkdir()
    with pytest.raises(ConnectorTreeError, match="the stack has no source 'msk-west'"):
        run_program(project_root=root)
    assert last_run().registrations == []


def test_missing_monitoring_files_fail_before_any_resource(tmp_path: Path) -> None:
    root = project_copy(tmp_path)
    shutil.rmtree(root / "monitoring")
    with pytest.raises(StackConfigError) as raised:
        run_program(project_root=root)
    assert "monitoring/grafana-dashboard.json" in str(raised.value)
    assert "monitoring/prometheus-rules.yaml" in str(raised.value)
    assert "mm2-eks:monitoring.prometheusOperator" in str(raised.value)
    assert last_run().registrations == []
