"""Where MirrorMaker 2 writes a source topic: the replication policy of a connector, as Python.

The same names as the Java policies give (docker/replication-policy's RenamingReplicationPolicy,
and Kafka's DefaultReplicationPolicy and IdentityReplicationPolicy), for the forward direction
only: `status` and `cutover` start from source topics. The connector config is the one Connect
stores, so the settings were already validated by the policy when the connector started.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from connect.connector_defaults import RENAMING_POLICY

DEFAULT_POLICY = "org.apache.kafka.connect.mirror.DefaultReplicationPolicy"
IDENTITY_POLICY = "org.apache.kafka.connect.mirror.IdentityReplicationPolicy"
POLICY_CLASS = "replication.policy.class"
TEMPLATE = "replication.policy.topic.template"
RENAMES = "replication.policy.topic.renames"
SEPARATOR = "replication.policy.separator"
INTERNAL_SEPARATOR_ENABLED = "replication.policy.internal.topic.separator.enabled"
HEARTBEATS = "heartbeats"
CHECKPOINTS_SUFFIX = "checkpoints.internal"


class NamingError(ValueError):
    """A connector's policy settings that no MirrorMaker 2 policy we know would accept."""


@dataclass(frozen=True)
class RemoteNaming:
    """How one connector names its source topics on the destination."""

    policy: str
    source_alias: str
    separator: str
    internal_separator: str
    template: str | None
    renames: Mapping[str, str]

    @classmethod
    def of(cls, config: Mapping[str, str]) -> RemoteNaming:
        # Kafka's own default when a connector does not say (ours always does: connect/connector_defaults.py).
        policy = config.get(POLICY_CLASS, DEFAULT_POLICY).strip()
        if policy not in (RENAMING_POLICY, DEFAULT_POLICY, IDENTITY_POLICY):
            raise NamingError(
                f"{POLICY_CLASS} {policy!r}: mm2ctl knows the names only of {RENAMING_POLICY}, "
                f"{DEFAULT_POLICY} and {IDENTITY_POLICY}"
            )
        separator = config.get(SEPARATOR, ".")
        internal_enabled = config.get(INTERNAL_SEPARATOR_ENABLED, "true").strip().lower() != "false"
        template = (config.get(TEMPLATE) or "").strip() if policy == RENAMING_POLICY else ""
        renames_text = (config.get(RENAMES) or "").strip() if policy == RENAMING_POLICY else ""
        return cls(
            policy=policy,
            source_alias=config.get("source.cluster.alias", ""),
            separator=separator,
            internal_separator=separator if internal_enabled else ".",
            template=template if template and template != "${topic}" else None,
            renames=_parse_renames(renames_text),
        )

    def remote_topic(self, topic: str) -> str:
        """The destination topic that MirrorMaker 2 writes `topic` of the connector's source cluster to."""
        if self.policy == DEFAULT_POLICY or self._is_heartbeats(topic):
            # Heartbeats topics keep DefaultReplicationPolicy's names under every policy, for cycle detection.
            return f"{self.source_alias}{self.separator}{topic}"
        if self.policy == IDENTITY_POLICY:
            return topic
        if topic in self.renames:
            return self.renames[topic]
        if self.template is None:
            return topic
        return self.template.replace("${source}", self.source_alias).replace("${topic}", topic)

    def checkpoints_topic(self) -> str:
        """MirrorMaker 2's checkpoints topic of this source on the destination: `<source>.checkpoints.internal`."""
        return f"{self.source_alias}{self.internal_separator}{CHECKPOINTS_SUFFIX}"

    def _is_heartbeats(self, topic: str) -> bool:
        if self.policy == IDENTITY_POLICY:
            # IdentityReplicationPolicy takes any name ending in "heartbeats" for a heartbeats topic.
            return topic.endswith(HEARTBEATS)
        return topic == HEARTBEATS or topic.endswith(self.separator + HEARTBEATS)


def _parse_renames(text: str) -> dict[str, str]:
    """`a:b,c:d`, spaces around entries and names ignored, as TopicRenames.parse reads it."""
    renames: dict[str, str] = {}
    if not text:
        return renames
    for number, entry in enumerate(text.split(","), start=1):
        parts = entry.strip().split(":")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise NamingError(f"{RENAMES}: entry {number} ({entry.strip()!r}) must be source:target")
        renames[parts[0].strip()] = parts[1].strip()
    return renames
