"""The pre-flight check of a connector's clusters: can a worker reach them with the connector's settings?

A wrong password, a truststore without the broker's CA, a client certificate the broker rejects or
an address the broker's certificate does not name all surface only when a task first connects:
minutes after `pulumi up`, as a FAILED task whose trace few people read. The connector provider
asks a worker first (`ConnectClient.check_cluster`, our REST extension): it connects with its own
network and its own secret files, as the task will, and answers with the cause.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from connect.connector_defaults import CHECKPOINT_CONNECTOR, SOURCE_CONNECTOR
from connect.rest import ConnectClient, ConnectError

# The connectors that read the source cluster; every MirrorMaker 2 connector writes to the target.
READS_SOURCE = (SOURCE_CONNECTOR, CHECKPOINT_CONNECTOR)
CLUSTER_PREFIXES = {"source": "source.cluster.", "destination": "target.cluster."}


class ClusterUnreachable(Exception):
    """A connector's cluster cannot be reached with its settings; nothing was written to Connect."""


def unreachable_clusters(client: ConnectClient, config: Mapping[str, str], where: str) -> list[str]:
    """`<file>: source '<alias>' cannot be reached with its settings: <cause>`, per failing cluster.

    Empty when every cluster answers, and when the workers have no such check (an image older
    than it answers 404): the check is an early warning, never a requirement.
    """
    problems = []
    for role, prefix in _clusters_reached(config):
        properties = cluster_properties(config, prefix)
        if "bootstrap.servers" not in properties:
            continue
        try:
            result = client.check_cluster(properties)
        except ConnectError as error:
            if error.status == 404:
                return []
            raise
        if not result.reachable:
            alias = config.get(f"{prefix}alias", "?")
            problems.append(f"{where}: {role} {alias!r} cannot be reached with its settings: {result.cause}")
    return problems


def cluster_properties(config: Mapping[str, str], prefix: str) -> dict[str, str]:
    """The client properties under `prefix` (`source.cluster.`), as the connector's clients get them."""
    return {
        key[len(prefix) :]: value for key, value in config.items() if key.startswith(prefix) and key != f"{prefix}alias"
    }


def _clusters_reached(config: Mapping[str, str]) -> Iterator[tuple[str, str]]:
    if config.get("connector.class") in READS_SOURCE:
        yield "source", CLUSTER_PREFIXES["source"]
    yield "destination", CLUSTER_PREFIXES["destination"]
