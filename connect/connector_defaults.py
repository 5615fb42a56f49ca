"""Settings every MirrorMaker 2 connector gets unless its files say otherwise.

Each default says why it differs from Kafka's own default. Connection settings are not here: they
are rendered from the stack's cluster definitions and cannot be overridden by connector files.
"""

from __future__ import annotations

from connect.worker_properties import BYTE_ARRAY_CONVERTER

MIRROR_PACKAGE = "org.apache.kafka.connect.mirror"
SOURCE_CONNECTOR = f"{MIRROR_PACKAGE}.MirrorSourceConnector"
CHECKPOINT_CONNECTOR = f"{MIRROR_PACKAGE}.MirrorCheckpointConnector"
HEARTBEAT_CONNECTOR = f"{MIRROR_PACKAGE}.MirrorHeartbeatConnector"
CONNECTOR_CLASSES = (SOURCE_CONNECTOR, CHECKPOINT_CONNECTOR, HEARTBEAT_CONNECTOR)
RENAMING_POLICY = "io.github.mm2eks.mirror.RenamingReplicationPolicy"

COMMON = {
    # Set on the connector too, so that a worker with other converters still copies bytes as they are.
    "key.converter": BYTE_ARRAY_CONVERTER,
    "value.converter": BYTE_ARRAY_CONVERTER,
    "header.converter": BYTE_ARRAY_CONVERTER,
    # Names are kept unless the source folder's _source.json renames them (the policy's identity mode).
    "replication.policy.class": RENAMING_POLICY,
}

# Keeps the source cluster read-only: MirrorMaker 2 would otherwise create a topic on it.
OFFSET_SYNCS_ON_TARGET = {"offset-syncs.topic.location": "target"}

SOURCE = OFFSET_SYNCS_ON_TARGET | {
    "tasks.max": "4",
    # New source topics are mirrored within 20 s instead of ten minutes. Over 500 topics, 20 s
    # measured at most 20.4 s from creation to first record, 60 s at most 59.5 s, at the same idle
    # worker CPU (docs/performance.md, 2026-12-02); MSK Replicator documents 30 s.
    "refresh.topics.interval.seconds": "20",
    # MSK with IAM has no ACL API to copy to, and the destination's access is managed by IAM.
    "sync.topic.acls.enabled": "false",
    # Larger fetches: fewer round trips to the source per mirrored megabyte.
    "consumer.fetch.min.bytes": "65536",
    "consumer.fetch.max.wait.ms": "100",
    "consumer.max.partition.fetch.bytes": "4194304",
    "consumer.max.poll.records": "4000",
    # Records of aborted source transactions must not be mirrored.
    "consumer.isolation.level": "read_committed",
}

CHECKPOINT = OFFSET_SYNCS_ON_TARGET | {
    "tasks.max": "1",
    "emit.checkpoints.interval.seconds": "10",
    "refresh.groups.interval.seconds": "60",
    # Consumers moved to the destination resume where they left off on the source.
    "sync.group.offsets.enabled": "true",
    "sync.group.offsets.interval.seconds": "10",
}

HEARTBEAT = {
    "tasks.max": "1",
}


def connector_defaults(connector_class: str, *, replication_factor: int, exactly_once: bool) -> dict[str, str]:
    factor = str(replication_factor)
    defaults = dict(COMMON)
    if connector_class == SOURCE_CONNECTOR:
        defaults |= SOURCE | {"replication.factor": factor, "offset-syncs.topic.replication.factor": factor}
        if exactly_once:
            defaults["exactly.once.support"] = "required"
    elif connector_class == CHECKPOINT_CONNECTOR:
        defaults |= CHECKPOINT | {"checkpoints.topic.replication.factor": factor}
    elif connector_class == HEARTBEAT_CONNECTOR:
        defaults |= HEARTBEAT | {"heartbeats.topic.replication.factor": factor}
    return defaults
