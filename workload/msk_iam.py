"""The IAM policy of the Connect workers: only the MSK actions MirrorMaker 2 performs.

Kept apart from the Kubernetes objects so that the policy can be read (and tested) as one
document. Action semantics: Amazon MSK developer guide, "Semantics of IAM authorization policy
actions and resources" (each Kafka ACL operation maps to one `kafka-cluster:` action).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stackconfig.models import IamAuth, KafkaCluster, StackSettings


@dataclass(frozen=True)
class MskArns:
    """The resource ARNs of one MSK cluster, derived from its cluster ARN."""

    cluster: str
    topics: str
    groups: str
    transactional_ids: str

    @classmethod
    def from_cluster_arn(cls, arn: str) -> MskArns:
        # arn:aws:kafka:REGION:ACCOUNT:cluster/NAME/UUID -> arn:aws:kafka:REGION:ACCOUNT:<kind>/NAME/UUID/*
        prefix, _, name_and_uuid = arn.partition(":cluster/")
        return cls(
            cluster=arn,
            topics=f"{prefix}:topic/{name_and_uuid}/*",
            groups=f"{prefix}:group/{name_and_uuid}/*",
            transactional_ids=f"{prefix}:transactional-id/{name_and_uuid}/*",
        )


# The destination: the workers write mirrored records, keep Connect's internal topics, and run as
# a consumer group. Deliberately absent: AlterCluster (ALTER CLUSTER: creating ACLs, broker configs;
# only needed with sync.topic.acls.enabled, which the connector defaults turn off) and every
# Delete* action (MirrorMaker 2 never deletes topics or groups).
DESTINATION_CLUSTER_ACTIONS = (
    "kafka-cluster:Connect",
    # Connect and MirrorMaker 2 admin clients describe the cluster (cluster id, brokers).
    "kafka-cluster:DescribeCluster",
    # The worker's producers run with enable.idempotence=true (connect/worker_properties.py).
    "kafka-cluster:WriteDataIdempotently",
)
DESTINATION_TOPIC_ACTIONS = (
    "kafka-cluster:DescribeTopic",
    # Mirrored topics, the internal configs/offsets/status topics, offset-syncs, checkpoints, heartbeats.
    "kafka-cluster:CreateTopic",
    # New partitions on a source topic are added to its mirror (CreatePartitions is ALTER TOPIC).
    "kafka-cluster:AlterTopic",
    # Topic-config sync (sync.topic.configs.enabled, on by default) reads and alters mirror configs.
    "kafka-cluster:DescribeTopicDynamicConfiguration",
    "kafka-cluster:AlterTopicDynamicConfiguration",
    # Workers read the internal topics; the checkpoint connector reads offset-syncs.
    "kafka-cluster:ReadData",
    "kafka-cluster:WriteData",
)
DESTINATION_GROUP_ACTIONS = (
    "kafka-cluster:DescribeGroup",
    # Join the worker group (READ GROUP), and write translated offsets of synced consumer groups.
    "kafka-cluster:AlterGroup",
)
# Exactly-once source: the leader's config-topic producer and every source task's producer are
# transactional (Kafka 4.1 connect-runtime: DistributedConfig.transactionalProducerId and
# Worker.taskTransactionalId).
DESTINATION_TRANSACTION_ACTIONS = (
    "kafka-cluster:DescribeTransactionalId",
    "kafka-cluster:AlterTransactionalId",
)

# A source is only read: topic list and configs (to create mirrors alike), records, and the
# consumer groups whose offsets the checkpoint connector translates. offset-syncs live on the
# target (offset-syncs.topic.location=target), so nothing is ever written to a source.
SOURCE_CLUSTER_ACTIONS = ("kafka-cluster:Connect", "kafka-cluster:DescribeCluster")
SOURCE_TOPIC_ACTIONS = (
    "kafka-cluster:DescribeTopic",
    "kafka-cluster:DescribeTopicDynamicConfiguration",
    "kafka-cluster:ReadData",
)
SOURCE_GROUP_ACTIONS = ("kafka-cluster:DescribeGroup",)


def worker_policy(settings: StackSettings, group_id: str) -> dict[str, Any]:
    """The policy document of the workers' IRSA role."""
    statements: list[dict[str, Any]] = []
    destination = settings.destination
    if isinstance(destination.auth, IamAuth) and destination.msk_cluster_arn:
        arns = MskArns.from_cluster_arn(destination.msk_cluster_arn)
        statements += [
            _allow("DestinationCluster", DESTINATION_CLUSTER_ACTIONS, arns.cluster),
            _allow("DestinationTopics", DESTINATION_TOPIC_ACTIONS, arns.topics),
            _allow("DestinationGroups", DESTINATION_GROUP_ACTIONS, arns.groups),
        ]
        if settings.connect.exactly_once:
            # Only this Connect cluster's transactional ids, not every producer's on the cluster.
            statements.append(
                _allow("DestinationTransactions", DESTINATION_TRANSACTION_ACTIONS, transactional_ids(arns, group_id))
            )

    for name, source in sorted(settings.sources.items()):
        if not isinstance(source.auth, IamAuth) or not source.msk_cluster_arn:
            continue
        if source.auth.role_arn:
            # The role in the source's account is what MSK authorizes: its own policy grants the
            # read-only actions; here the workers only need to become it.
            continue
        arns = MskArns.from_cluster_arn(source.msk_cluster_arn)
        sid = _sid(name)
        statements += [
            _allow(f"Source{sid}Cluster", SOURCE_CLUSTER_ACTIONS, arns.cluster),
            _allow(f"Source{sid}Topics", SOURCE_TOPIC_ACTIONS, arns.topics),
            _allow(f"Source{sid}Groups", SOURCE_GROUP_ACTIONS, arns.groups),
        ]

    roles = sorted({role for cluster in settings.clusters_by_key().values() if (role := _role_arn(cluster))})
    if roles:
        statements.append(
            {"Sid": "AssumeClusterRoles", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": roles}
        )
    return {"Version": "2012-10-17", "Statement": statements}


def transactional_ids(arns: MskArns, group_id: str) -> list[str]:
    prefix = arns.transactional_ids.removesuffix("*")
    return [
        f"{prefix}connect-cluster-{group_id}",  # the leader, writing the config topic
        f"{prefix}{group_id}-*",  # source tasks: <group.id>-<connector>-<task>
    ]


def _role_arn(cluster: KafkaCluster) -> str | None:
    return cluster.auth.role_arn if isinstance(cluster.auth, IamAuth) else None


def _allow(sid: str, actions: tuple[str, ...], resource: str | list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": resource}


def _sid(name: str) -> str:
    # Statement ids allow only [A-Za-z0-9].
    return "".join(part.capitalize() for part in name.split("-"))
