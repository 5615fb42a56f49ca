"""The pre-flight check's client side, against a scripted Connect: which clusters a connector asks
about, the message it gives, and an older worker without the check (tests/auth runs it for real)."""

from __future__ import annotations

import json

from connect.cluster_check import cluster_properties, unreachable_clusters
from connect.rest import CLUSTER_CHECK_PATH, ConnectClient, ConnectEndpoint
from tests.unit.test_rest_client import ScriptedConnect, json_answer

CONFIG = {
    "connector.class": "org.apache.kafka.connect.mirror.MirrorSourceConnector",
    "source.cluster.alias": "onprem",
    "source.cluster.bootstrap.servers": "kafka-1.dc1.example:9093",
    "source.cluster.security.protocol": "SSL",
    "target.cluster.alias": "msk-main",
    "target.cluster.bootstrap.servers": "b-1.msk:9098",
    "topics": "orders",
}
WHERE = "connectors/staging/msk-main/onprem/orders.json"


def client(server: ScriptedConnect) -> ConnectClient:
    return ConnectClient(ConnectEndpoint(server.url, "mm2-admin", "pw", timeout_seconds=5, deadline_seconds=10))


def test_a_source_connector_asks_about_both_clusters_and_names_the_one_that_fails(connect: ScriptedConnect) -> None:
    unknown_ca = "SSL handshake failed: unknown CA: the broker's certificate is not signed by a CA in the truststore"
    connect.answers = [
        json_answer(200, {"reachable": False, "cause": unknown_ca}),
        json_answer(200, {"reachable": True}),
    ]
    with client(connect) as rest:
        problems = unreachable_clusters(rest, CONFIG, WHERE)
    assert problems == [f"{WHERE}: source 'onprem' cannot be reached with its settings: {unknown_ca}"]
    assert [(verb, path) for verb, path, _ in connect.seen] == [("PUT", CLUSTER_CHECK_PATH)] * 2


def test_a_heartbeat_connector_asks_about_the_destination_only(connect: ScriptedConnect) -> None:
    heartbeats = {**CONFIG, "connector.class": "org.apache.kafka.connect.mirror.MirrorHeartbeatConnector"}
    connect.answers = [json_answer(200, {"reachable": False, "cause": "authentication failed: ..."})]
    with client(connect) as rest:
        problems = unreachable_clusters(rest, heartbeats, WHERE)
    assert problems == [
        f"{WHERE}: destination 'msk-main' cannot be reached with its settings: authentication failed: ..."
    ]
    assert len(connect.seen) == 1


def test_workers_without_the_check_are_not_retried(connect: ScriptedConnect) -> None:
    """An older image answers Jetty's HTML 404: no check, no error, and no retrying until the deadline."""
    connect.answers = [(404, "text/html", "<html>Not Found</html>")]
    with client(connect) as rest:
        assert unreachable_clusters(rest, CONFIG, WHERE) == []
    assert len(connect.seen) == 1


def test_the_properties_are_the_clients_without_prefix_or_alias() -> None:
    assert cluster_properties(CONFIG, "source.cluster.") == {
        "bootstrap.servers": "kafka-1.dc1.example:9093",
        "security.protocol": "SSL",
    }
    assert json.dumps(cluster_properties(CONFIG, "target.cluster.")) == '{"bootstrap.servers": "b-1.msk:9098"}'
