"""The local runtime's clusters and Connect worker, as the `local` stack and the tests reach them."""

from __future__ import annotations

from connect.cluster_connection import ClusterEndpoint
from connect.rest import ConnectEndpoint
from localkafka.state import LocalCredentials, RuntimeState
from stackconfig.models import PlaintextAuth, SaslAuth

# The source cluster speaks SASL/PLAIN without TLS; the destination plaintext.
SOURCE_AUTH = SaslAuth(mode="plain", tls=False)
DESTINATION_AUTH = PlaintextAuth(mode="plaintext")


def cluster_endpoints(state: RuntimeState) -> dict[str, ClusterEndpoint]:
    return {
        "source": ClusterEndpoint("source", state.brokers["source"].bootstrap_servers, SOURCE_AUTH),
        "destination": ClusterEndpoint("destination", state.brokers["destination"].bootstrap_servers, DESTINATION_AUTH),
    }


def connect_endpoint(state: RuntimeState, worker_index: int = 0, deadline_seconds: float = 60.0) -> ConnectEndpoint:
    connect = LocalCredentials.load(state.secrets_dir).connect
    return ConnectEndpoint(
        state.workers[worker_index].url, connect.username, connect.password, deadline_seconds=deadline_seconds
    )
