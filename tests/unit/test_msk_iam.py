"""The workers' IAM policy for other cluster combinations than staging's."""

from __future__ import annotations

from typing import Any

from harness.mocked_program import staging_values
from stackconfig.load import PROJECT, load_settings
from stackconfig.models import StackSettings
from workload.msk_iam import (
    DESTINATION_TRANSACTION_ACTIONS,
    SOURCE_CLUSTER_ACTIONS,
    SOURCE_GROUP_ACTIONS,
    SOURCE_TOPIC_ACTIONS,
    MskArns,
    worker_policy,
)

SOURCE_ARN = "arn:aws:kafka:us-east-1:222222222222:cluster/msk-east/9a8b7c6d-5e4f-3a2b-1c0d-e9f8a7b6c5d4-2"


def settings_from(values: dict[str, Any]) -> StackSettings:
    own = {key.removeprefix(f"{PROJECT}:"): value for key, value in values.items() if key.startswith(f"{PROJECT}:")}
    return load_settings(own)


def statements(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {statement["Sid"]: statement for statement in policy["Statement"]}


def test_arns_derived_from_the_cluster_arn() -> None:
    arns = MskArns.from_cluster_arn(SOURCE_ARN)
    prefix = "arn:aws:kafka:us-east-1:222222222222"
    suffix = "msk-east/9a8b7c6d-5e4f-3a2b-1c0d-e9f8a7b6c5d4-2/*"
    assert arns.cluster == SOURCE_ARN
    assert arns.topics == f"{prefix}:topic/{suffix}"
    assert arns.groups == f"{prefix}:group/{suffix}"
    assert arns.transactional_ids == f"{prefix}:transactional-id/{suffix}"


def test_a_same_account_iam_source_gets_read_only_access() -> None:
    values = staging_values()
    del values[f"{PROJECT}:sources"]["msk-east"]["auth"]["roleArn"]
    found = statements(worker_policy(settings_from(values), "mm2-staging"))
    assert found["SourceMskEastCluster"]["Action"] == list(SOURCE_CLUSTER_ACTIONS)
    assert found["SourceMskEastCluster"]["Resource"] == SOURCE_ARN
    assert found["SourceMskEastTopics"]["Action"] == list(SOURCE_TOPIC_ACTIONS)
    assert found["SourceMskEastGroups"]["Action"] == list(SOURCE_GROUP_ACTIONS)
    assert "AssumeClusterRoles" not in found
    read_only = set(SOURCE_CLUSTER_ACTIONS + SOURCE_TOPIC_ACTIONS + SOURCE_GROUP_ACTIONS)
    writes = ("Write", "Alter", "Create", "Delete")
    assert not {action for action in read_only if any(word in action for word in writes)}


def test_without_exactly_once_no_transactional_ids() -> None:
    values = staging_values()
    values[f"{PROJECT}:connect"]["exactlyOnce"] = False
    found = statements(worker_policy(settings_from(values), "mm2-staging"))
    assert "DestinationTransactions" not in found
    assert not [s for s in found.values() if set(s["Action"]) & set(DESTINATION_TRANSACTION_ACTIONS)]


def test_a_sasl_destination_needs_no_msk_actions() -> None:
    values = staging_values()
    destination = values[f"{PROJECT}:destination"]
    destination["auth"] = {"mode": "scram"}
    destination["bootstrapServers"] = destination["bootstrapServers"].replace(":9098", ":9096")
    del destination["mskClusterArn"]
    found = statements(worker_policy(settings_from(values), "mm2-staging"))
    assert set(found) == {"AssumeClusterRoles"}
