"""The settings profiles the throughput and latency parts compare, each with where it came from.

A profile is two things: how the Connect worker runs (exactly-once source support on or off, the
mirrored records' producer tuned by connect/worker_properties.py or left at Connect's defaults) and
the MirrorSourceConnector config it registers for one topic.

- `tuned` and `tuned-no-eos`: this project, exactly as a connector file becomes a config.
- `stock`: what the seed designs ran (Connect's producer defaults, gzip, one task).
- `strimzi`, `strimzi-eos`: Strimzi's documented settings for high volumes of messages.
- `aws-samples`, `aws-samples-eos`: the source connector of aws-samples/mirrormaker2-msk-migration.
- `tuned-eos-*`: candidates for better exactly-once defaults, measured beside `tuned`.

Peers "with exactly-once" get only what exactly-once needs on top of their published settings:
the worker's `exactly.once.source.support=enabled`, the connector's `exactly.once.support=required`
and its source consumer's `isolation.level=read_committed` (Connect refuses the connector without).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from connect.cluster_connection import client_properties
from connect.connector_defaults import SOURCE_CONNECTOR
from connect.connector_tree import load_connector_tree
from connect.local_runtime import RuntimeState, cluster_endpoints, local_tree_context
from connect.worker_properties import BYTE_ARRAY_CONVERTER

IDENTITY_POLICY = "org.apache.kafka.connect.mirror.IdentityReplicationPolicy"
# What exactly-once needs on a MirrorSourceConnector: Connect refuses `required` unless the source
# consumer reads committed records only.
EXACTLY_ONCE = {"exactly.once.support": "required", "consumer.isolation.level": "read_committed"}

# Strimzi, documentation/modules/configuring/con-config-high-volume-messages.adoc, section
# "Configuring MirrorMaker 2.0 for high-volume messages" (strimzi/strimzi-kafka-operator, commit
# 0442e422eba48e129f6ed07af4c2248ab3f74b96): the KafkaMirrorMaker2 example's sourceConnector.
# The consumer values equal Kafka's own defaults; the producer ones are 20x and 100 ms.
STRIMZI_SOURCE = {
    "tasks.max": "2",
    "producer.override.batch.size": "327680",
    "producer.override.linger.ms": "100",
    "consumer.fetch.max.bytes": "52428800",
    "consumer.max.partition.fetch.bytes": "1048576",
    "consumer.max.poll.records": "500",
}
# The same example sets `offset.flush.timeout.ms: 10000` in the target cluster's `config`, which
# Strimzi renders into the Connect worker (the Connect cluster is the target). It bounds only how
# long a commit waits for the offsets to be written, not the records' path, and the local worker
# has no knob for it: not applied (see docs/performance.md).
STRIMZI_WORKER_NOT_APPLIED = {"offset.flush.timeout.ms": "10000"}

# aws-samples/mirrormaker2-msk-migration, Configuration/connectors/sasl-scram/mm2-msc-sasl-auth.json
# (commit 0255773ccb3ff95c843521b31fcb72e58312b042), every key but connections, aliases, the
# topic pattern and its custom replication policy (it keeps names, as the identity policy here).
# Sent as published: MirrorMaker 2 keeps only connection keys under source.cluster.* and
# target.cluster.* (MirrorSourceConfig.sourceConsumerConfig retains CLIENT_CONFIG_DEF's names), so
# its fetch, batch and compression values never reach a client; the records' producer stays at
# Connect's defaults (no compression, batch 16 KiB), its consumer at Kafka's.
AWS_SAMPLES_SOURCE = {
    "tasks.max": "4",
    "key.converter": " org.apache.kafka.connect.converters.ByteArrayConverter",  # the leading space is theirs
    "value.converter": BYTE_ARRAY_CONVERTER,
    "sync.topic.acls.interval.seconds": "20",
    "sync.topic.configs.interval.seconds": "20",
    "refresh.topics.interval.seconds": "20",
    "refresh.groups.interval.seconds": "20",
    "consumer.group.id": "mm2-msc",
    "source.cluster.max.poll.records": "50000",
    "source.cluster.receive.buffer.bytes": "33554432",
    "source.cluster.send.buffer.bytes": "33554432",
    "source.cluster.max.partition.fetch.bytes": "33554432",
    "source.cluster.message.max.bytes": "37755000",
    "source.cluster.compression.type": "gzip",
    "source.cluster.max.request.size": "26214400",
    "source.cluster.buffer.memory": "524288000",
    "source.cluster.batch.size": "524288",
    "target.cluster.max.poll.records": "20000",
    "target.cluster.receive.buffer.bytes": "33554432",
    "target.cluster.send.buffer.bytes": "33554432",
    "target.cluster.max.partition.fetch.bytes": "33554432",
    "target.cluster.message.max.bytes": "37755000",
    "target.cluster.compression.type": "gzip",
    "target.cluster.max.request.size": "26214400",
    "target.cluster.buffer.memory": "524288000",
    "target.cluster.batch.size": "52428",
}
# Its workers (Configuration/workers/sasl/connect-distributed.properties) set no producer key:
# Connect's producer defaults, as `producer_tuning=False` runs them here; its other worker keys
# (override policy All, offset.flush.interval.ms 10000) are the local worker's too.

# What the seed designs ran: MirrorMaker 2's defaults, gzip, one task.
STOCK_SOURCE = {"tasks.max": "1", "producer.override.compression.type": "gzip"}


@dataclass(frozen=True)
class Profile:
    name: str
    # ours | seed | strimzi | aws-samples: which rows compare with which.
    family: str
    exactly_once: bool
    # The worker's PRODUCER_TUNING for the mirrored records' producers, or Connect's defaults.
    worker_producer_tuning: bool
    # Keys over the family's base config (ours: the config a connector file becomes).
    settings: Mapping[str, str] = field(default_factory=dict)
    # One line for the docs: where the settings came from.
    origin: str = ""

    def connector_config(self, state: RuntimeState, topic: str) -> dict[str, str]:
        if self.family == "ours":
            return tuned_config(state, topic, self.exactly_once) | dict(self.settings)
        config = peer_base_config(state, topic) | dict(self.settings)
        return config | (EXACTLY_ONCE if self.exactly_once else {})

    @property
    def tasks(self) -> int:
        return int(self.settings.get("tasks.max", "4"))


def tuned_config(state: RuntimeState, topic: str, exactly_once: bool) -> dict[str, str]:
    """Exactly what a connector file `{"config": {"topics": <topic>}}` becomes (4 tasks by default)."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "bench" / "destination" / "source"
        folder.mkdir(parents=True)
        (folder / "bench.json").write_text(
            f'{{"config": {{"connector.class": "MirrorSourceConnector", "topics": "{topic}"}}}}'
        )
        context = local_tree_context(state, Path(scratch), "bench", exactly_once=exactly_once)
        [spec] = load_connector_tree(context).connectors
    return spec.config


def peer_base_config(state: RuntimeState, topic: str) -> dict[str, str]:
    """MirrorMaker 2's own defaults plus what any working setup needs here: connections, aliases,
    byte converters, names kept, replication factor 1 on the single local broker."""
    endpoints = cluster_endpoints(state)
    config = {
        "connector.class": SOURCE_CONNECTOR,
        "topics": topic,
        "source.cluster.alias": "source",
        "target.cluster.alias": "destination",
        "replication.policy.class": IDENTITY_POLICY,
        "key.converter": BYTE_ARRAY_CONVERTER,
        "value.converter": BYTE_ARRAY_CONVERTER,
        "header.converter": BYTE_ARRAY_CONVERTER,
        "replication.factor": "1",
        "offset-syncs.topic.replication.factor": "1",
        "offset-syncs.topic.location": "target",
    }
    for prefix, name in (("source.cluster.", "source"), ("target.cluster.", "destination")):
        for key, value in client_properties(endpoints[name], str(state.secrets_dir)).items():
            config[prefix + key] = value
    return config


def stock_config(state: RuntimeState, topic: str) -> dict[str, str]:
    return peer_base_config(state, topic) | STOCK_SOURCE


TUNED = Profile("tuned", "ours", True, True, origin="connect/worker_properties.py, connect/connector_defaults.py")
TUNED_NO_EOS = Profile("tuned-no-eos", "ours", False, True, origin="the same, exactly-once off")
STOCK = Profile("stock", "seed", False, False, STOCK_SOURCE, "the seed designs: MirrorMaker 2's defaults, gzip")
STRIMZI = Profile("strimzi", "strimzi", False, False, STRIMZI_SOURCE, "Strimzi con-config-high-volume-messages.adoc")
STRIMZI_EOS = Profile("strimzi-eos", "strimzi", True, False, STRIMZI_SOURCE, "the same, exactly-once on")
AWS_SAMPLES = Profile(
    "aws-samples", "aws-samples", False, False, AWS_SAMPLES_SOURCE, "aws-samples mm2-msc-sasl-auth.json"
)
AWS_SAMPLES_EOS = Profile(
    "aws-samples-eos", "aws-samples", True, False, AWS_SAMPLES_SOURCE, "the same, exactly-once on"
)

# Candidates for better exactly-once defaults. With `transaction.boundary=poll` (Connect's
# default) every poll of a task is one transaction: a commit marker in each of its partitions and
# an offsets write. `interval` commits once per interval instead; a larger poll makes each
# poll-sized transaction carry more records, at no cost in latency when little is waiting.
EOS_CANDIDATES = (
    Profile(
        "tuned-eos-poll16k",
        "ours",
        True,
        True,
        {"consumer.max.poll.records": "16000", "consumer.max.partition.fetch.bytes": "8388608"},
        "tuned, 4x larger polls (so 4x larger transactions)",
    ),
    Profile(
        "tuned-eos-interval1s",
        "ours",
        True,
        True,
        {"transaction.boundary": "interval", "transaction.boundary.interval.ms": "1000"},
        "tuned, one transaction per task per second",
    ),
)

# Where `strimzi` beats `tuned-no-eos` (2026-12-02): each probe takes one of Strimzi's differences
# into tuned-no-eos. Run with `python -m bench.rounds --profiles ...`; not part of the full run.
GAP_PROBES = (
    Profile(
        "tuned-no-eos-uncompressed",
        "ours",
        False,
        True,
        {"producer.override.compression.type": "none"},
        "tuned-no-eos, records written uncompressed as Strimzi's",
    ),
    Profile("tuned-no-eos-2tasks", "ours", False, True, {"tasks.max": "2"}, "tuned-no-eos, Strimzi's 2 tasks"),
    Profile(
        "tuned-no-eos-linger100",
        "ours",
        False,
        True,
        {"producer.override.batch.size": "327680", "producer.override.linger.ms": "100"},
        "tuned-no-eos, Strimzi's batch.size and linger.ms",
    ),
)

THROUGHPUT_PROFILES = (TUNED, TUNED_NO_EOS, STOCK, STRIMZI, STRIMZI_EOS, AWS_SAMPLES, AWS_SAMPLES_EOS, *EOS_CANDIDATES)
LATENCY_PROFILES = (TUNED, TUNED_NO_EOS, STOCK, STRIMZI, STRIMZI_EOS, AWS_SAMPLES, AWS_SAMPLES_EOS, *EOS_CANDIDATES)
PROFILES = {profile.name: profile for profile in (*THROUGHPUT_PROFILES, *GAP_PROBES)}


def worker_order(profiles: tuple[Profile, ...]) -> list[Profile]:
    """The profiles grouped by worker settings, so that a round restarts the workers as few times as it can."""
    groups: dict[tuple[bool, bool], list[Profile]] = {}
    for profile in profiles:
        groups.setdefault((profile.exactly_once, profile.worker_producer_tuning), []).append(profile)
    return [profile for group in groups.values() for profile in group]


ConfigFor = Callable[[str], dict[str, str]]
