"""mm2ctl's remote topic names are the Java policies' names: the examples of the policy's own JUnit tests
(docker/replication-policy/src/test/.../RenamingReplicationPolicyTest.java), and Kafka's two policies."""

from __future__ import annotations

import pytest

from connect.connector_defaults import RENAMING_POLICY
from mm2ctl.naming import DEFAULT_POLICY, IDENTITY_POLICY, NamingError, RemoteNaming

BOTH_RENAMES = "orders:orders-replica,events:events-staging"


def naming(**config: str) -> RemoteNaming:
    keys = {"alias": "source.cluster.alias", "template": "replication.policy.topic.template"}
    keys |= {"renames": "replication.policy.topic.renames", "policy": "replication.policy.class"}
    keys |= {"separator": "replication.policy.separator"}
    settings = {"replication.policy.class": RENAMING_POLICY, "source.cluster.alias": "east"}
    return RemoteNaming.of(settings | {keys[k]: v for k, v in config.items()})


@pytest.mark.parametrize(
    ("config", "topic", "remote"),
    [
        # Identity: keepsNamesAndAnswersTheConfiguredSourceLikeIdentityReplicationPolicy, heartbeats included.
        ({}, "orders", "orders"),
        ({}, "a.b.c", "a.b.c"),
        ({}, "heartbeats", "east.heartbeats"),
        ({}, "east.heartbeats", "east.east.heartbeats"),
        ({}, "user-heartbeats", "user-heartbeats"),  # nameEndingInHeartbeatsIsAnOrdinaryTopic
        # blankSettingsAndTheBareTopicTemplateMeanIdentity
        ({"template": "", "renames": " "}, "orders", "orders"),
        ({"template": "${topic}"}, "orders", "orders"),
        ({"template": " ${topic} "}, "orders", "orders"),
        # Template
        ({"template": "${topic}.replica"}, "orders", "orders.replica"),
        ({"template": "${source}-${topic}"}, "orders", "east-orders"),
        ({"template": "${source}-${topic}"}, "orders-v2", "east-orders-v2"),
        ({"template": "${topic}.from.${source}"}, "orders", "orders.from.east"),
        ({"template": "mirror_${topic}"}, "orders", "mirror_orders"),
        ({"alias": "us-east", "template": "${source}-${topic}"}, "orders", "us-east-orders"),
        # Renames
        ({"renames": "orders:orders-replica,events:events-staging"}, "orders", "orders-replica"),
        ({"renames": "orders:orders-replica,events:events-staging"}, "events", "events-staging"),
        ({"renames": "orders:orders-replica,events:events-staging"}, "payments", "payments"),
        ({"renames": " orders : orders-replica , events:events-staging "}, "orders", "orders-replica"),
        # RenamesWithTemplate
        ({"renames": BOTH_RENAMES, "template": "${source}.${topic}"}, "orders", "orders-replica"),
        ({"renames": BOTH_RENAMES, "template": "${source}.${topic}"}, "payments", "east.payments"),
        ({"renames": "audit:audit", "template": "${topic}.replica"}, "audit", "audit"),
        ({"renames": "audit:audit", "template": "${topic}.replica"}, "orders", "orders.replica"),
        ({"renames": "orders:west.orders", "template": "${source}.${topic}"}, "orders", "west.orders"),
        # Kafka's own policies
        ({"policy": DEFAULT_POLICY}, "orders", "east.orders"),
        ({"policy": DEFAULT_POLICY, "separator": "_"}, "orders", "east_orders"),
        ({"policy": IDENTITY_POLICY}, "orders", "orders"),
        ({"policy": IDENTITY_POLICY}, "user-heartbeats", "east.user-heartbeats"),
    ],
)
def test_remote_names_are_the_java_policys(config: dict[str, str], topic: str, remote: str) -> None:
    assert naming(**config).remote_topic(topic) == remote


def test_the_local_tree_names_what_the_mirroring_test_finds() -> None:
    # connectors/local/destination/source/_source.json, as tests/integration/test_mirroring.py sees it mirrored.
    local = naming(alias="source", renames="orders:orders-replica", template="${source}-${topic}")
    assert [local.remote_topic(t) for t in ("orders", "events")] == ["orders-replica", "source-events"]


def test_checkpoints_topic_follows_the_separator_settings() -> None:
    assert naming().checkpoints_topic() == "east.checkpoints.internal"
    assert naming(separator="_").checkpoints_topic() == "east_checkpoints.internal"
    internal_dots = RemoteNaming.of(
        {
            "source.cluster.alias": "east",
            "replication.policy.separator": "_",
            "replication.policy.internal.topic.separator.enabled": "false",
        }
    )
    assert internal_dots.checkpoints_topic() == "east.checkpoints.internal"


def test_an_unknown_policy_is_named() -> None:
    with pytest.raises(NamingError, match=r"com\.example\.MyPolicy"):
        naming(policy="com.example.MyPolicy")
