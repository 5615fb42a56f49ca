"""Every source auth mode against real brokers: records mirror byte for byte, renamed, with offsets
translated; secrets stay in files; first-contact mistakes fail the provider's check (what `pulumi
preview` runs) and its create, before anything is written, and a wrong secret file fails a real
`pulumi preview`.

One local runtime per source mode (SASL_SSL with PLAIN, SASL_SSL with SCRAM-SHA-512, mutual TLS,
one-way TLS), each in its own folder and started for that mode's tests only; every destination
speaks SCRAM-SHA-512 over TLS, as MSK does on port 9096. The brokers' certificates come from the
runtime's own CA (`auth.privateCa`), so the workers trust it through the same PEM files and config
provider references as on EKS. Record counts are the integration flow's (tests/integration/
test_mirroring.py, whose helpers these are).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

from connect.cluster_check import ClusterUnreachable
from connect.cluster_connection import credentials_file_content
from connect.connector_tree import ConnectorSpec
from connect.local_runtime import RuntimeState, connect_endpoint
from connect.polling import poll_until
from connect.rest import ConnectClient
from connect.secret_file import write_secret
from harness.project_copy import copy_project
from localkafka import certs, clients
from localkafka.paths import REPO_ROOT
from localkafka.runtime import LocalRuntime
from providers.connector import ConnectorProvider
from stackconfig.models import ClusterAuth, MutualTlsAuth, SaslAuth, TlsAuth
from tests.integration.test_mirroring import (
    GROUP_RECORDS,
    LATER_RECORDS,
    PARTITIONS,
    RECORDS,
    Record,
    commit_group_offsets,
    produce,
    produce_sequence,
    read_all,
)
from tests.support import load_specs, provider_props, runtime_secret_values, unique, write_tree

SOURCE_MODES: dict[str, ClusterAuth] = {
    "sasl-ssl-plain": SaslAuth(mode="plain", private_ca=True),
    "sasl-ssl-scram": SaslAuth(mode="scram", private_ca=True),
    "mtls": MutualTlsAuth(mode="mtls", private_ca=True),
    "tls": TlsAuth(mode="tls", private_ca=True),
}
DESTINATION_AUTH = SaslAuth(mode="scram", private_ca=True)
RUNTIMES_DIR = REPO_ROOT / ".local" / "auth-runtimes"
CLI_STACK = "auth"


@dataclass
class AuthFlow:
    mode: str
    runtime: LocalRuntime
    state: RuntimeState
    specs: list[ConnectorSpec]
    renamed: tuple[str, str]
    grouped: tuple[str, str]
    group: str
    sent: list[Record]


@pytest.fixture(scope="module", params=list(SOURCE_MODES))
def flow(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthFlow]:
    mode = request.param
    runtime = LocalRuntime(RUNTIMES_DIR / mode, source_auth=SOURCE_MODES[mode], destination_auth=DESTINATION_AUTH)
    runtime.down()  # a runtime left by an interrupted run
    try:
        state = runtime.up(workers=1)
        renamed, grouped, group = unique("orders"), unique("payments"), unique("billing")
        clients.create_topics(state, "source", {renamed: PARTITIONS, grouped: 1})
        sent = produce(state, renamed, 7)
        commit_group_offsets(state, grouped, group)
        root = write_tree(
            tmp_path_factory.mktemp(mode) / "connectors",
            {
                "_source.json": {
                    "config": {
                        "replication.policy.topic.renames": f"{renamed}:{renamed}-replica,{grouped}:{grouped}-copy"
                    }
                },
                "data.json": {
                    "config": {
                        "connector.class": "MirrorSourceConnector",
                        "topics": f"{renamed},{grouped}",
                        "tasks.max": 2,
                        "offset.lag.max": 10,
                    }
                },
                "groups.json": {
                    "config": {
                        "connector.class": "MirrorCheckpointConnector",
                        "groups": group,
                        "emit.checkpoints.interval.seconds": 1,
                        "sync.group.offsets.interval.seconds": 1,
                        "refresh.groups.interval.seconds": 5,
                    }
                },
            },
        )
        specs = load_specs(state, root)
        provider = ConnectorProvider()
        # create runs the pre-flight check first: it passes with the right settings.
        for spec in specs:
            provider.create(provider_props(state, spec))
        yield AuthFlow(
            mode, runtime, state, specs, (renamed, f"{renamed}-replica"), (grouped, f"{grouped}-copy"), group, sent
        )
    finally:
        runtime.down()


def test_records_arrive_byte_for_byte_under_the_renamed_topic(flow: AuthFlow) -> None:
    _, destination_topic = flow.renamed
    arrived = read_all(flow.state, "destination", destination_topic, RECORDS)
    assert len(arrived) == RECORDS, f"{flow.mode}: {len(arrived)} of {RECORDS} records arrived"
    assert arrived == flow.sent, f"{flow.mode}: keys, values, headers, timestamps or order differ"


def test_consumer_group_offsets_are_translated_onto_the_renamed_topic(flow: AuthFlow) -> None:
    source_topic, destination_topic = flow.grouped
    admin = clients.admin(flow.state, "destination")

    def translated_offset() -> int:
        request = ConsumerGroupTopicPartitions(flow.group, [TopicPartition(destination_topic, 0)])
        result = admin.list_consumer_group_offsets([request])[flow.group].result()
        offset = int(result.topic_partitions[0].offset)
        return offset if offset >= GROUP_RECORDS else 0

    poll_until(translated_offset, timeout=120, what=f"{flow.mode}: group {flow.group} offsets on {destination_topic}")
    produce_sequence(flow.state, source_topic, range(GROUP_RECORDS, GROUP_RECORDS + LATER_RECORDS))
    consumer = clients.consumer(flow.state, "destination", flow.group)
    try:
        messages = clients.consume(consumer, [destination_topic], LATER_RECORDS, 60)
    finally:
        consumer.close()
    sequences = [int(m.value()) for m in messages]  # type: ignore[arg-type]
    assert sequences == list(range(GROUP_RECORDS, GROUP_RECORDS + LATER_RECORDS)), f"{flow.mode}: resumed elsewhere"


def test_connect_holds_references_and_no_secret_shows_anywhere(flow: AuthFlow) -> None:
    """Passwords and keys live in the secrets folder only: not in Connect's answers, the state or a log."""
    with ConnectClient(connect_endpoint(flow.state)) as client:
        config = client.connector_config(flow.specs[0].name) or {}
        tasks = client.task_configs(flow.specs[0].name) or []
    secret_keys = [key for key in config if key.endswith(("jaas.config", "keystore.key", "truststore.certificates"))]
    assert secret_keys, f"{flow.mode}: expected secret settings in the connector config"
    for key in secret_keys:
        assert config[key].startswith(("${file:", "${dir:")), f"{flow.mode}: {key} is not a reference"
    answers = json.dumps(config) + json.dumps(tasks)
    files = [Path(flow.state.runtime_dir) / "state.json", *Path(flow.state.runtime_dir).rglob("*.log")]
    for name, value in runtime_secret_values(flow.state).items():
        assert value not in answers, f"{flow.mode}: {name} in Connect's answers"
        for path in files:
            assert value not in path.read_text(errors="replace"), f"{flow.mode}: {name} in {path}"


# --- First contact: a wrong setting fails check (preview) and create, naming the cluster and the cause ---

Mistake = Callable[[AuthFlow, dict[str, str]], tuple[str, str]]


def wrong_password(flow: AuthFlow, config: dict[str, str]) -> tuple[str, str]:
    auth = flow.state.brokers["source"].cluster_auth
    assert isinstance(auth, SaslAuth)
    path = flow.state.secrets_dir / "wrong-source-password.properties"
    write_secret(path, credentials_file_content(auth, "mirror", "not-the-password"))
    config["source.cluster.sasl.jaas.config"] = f"${{file:{path}:sasl.jaas.config}}"
    return "source 'source'", "authentication failed"


def wrong_destination_password(flow: AuthFlow, config: dict[str, str]) -> tuple[str, str]:
    path = flow.state.secrets_dir / "wrong-destination-password.properties"
    write_secret(path, credentials_file_content(DESTINATION_AUTH, "mirror", "not-the-password"))
    config["target.cluster.sasl.jaas.config"] = f"${{file:{path}:sasl.jaas.config}}"
    return "destination 'destination'", "authentication failed"


def truststore_without_the_brokers_ca(flow: AuthFlow, config: dict[str, str]) -> tuple[str, str]:
    write_secret(flow.state.secrets_dir / "other-ca.pem", certs.new_ca("some other CA").certificate)
    config["source.cluster.ssl.truststore.certificates"] = f"${{dir:{flow.state.secrets_dir}:other-ca.pem}}"
    return "source 'source'", "SSL handshake failed: unknown CA"


def client_certificate_the_broker_rejects(flow: AuthFlow, config: dict[str, str]) -> tuple[str, str]:
    stranger = certs.issue(certs.new_ca("a CA the broker does not know"), "stranger", server=False)
    write_secret(flow.state.secrets_dir / "stranger-certificate.pem", stranger.certificate)
    write_secret(flow.state.secrets_dir / "stranger-private-key.pem", stranger.private_key)
    config["source.cluster.ssl.keystore.certificate.chain"] = (
        f"${{dir:{flow.state.secrets_dir}:stranger-certificate.pem}}"
    )
    config["source.cluster.ssl.keystore.key"] = f"${{dir:{flow.state.secrets_dir}:stranger-private-key.pem}}"
    return "source 'source'", "SSL handshake failed: the broker rejected the client certificate"


def hostname_the_certificate_does_not_name(flow: AuthFlow, config: dict[str, str]) -> tuple[str, str]:
    # localhost reaches the broker, but its certificate names 127.0.0.1 only.
    config["source.cluster.bootstrap.servers"] = f"localhost:{flow.state.brokers['source'].port}"
    return "source 'source'", "SSL handshake failed: hostname mismatch"


MISTAKES: dict[str, list[Mistake]] = {
    "sasl-ssl-plain": [wrong_password],
    "sasl-ssl-scram": [wrong_password, wrong_destination_password, hostname_the_certificate_does_not_name],
    "mtls": [client_certificate_the_broker_rejects, truststore_without_the_brokers_ca],
    "tls": [truststore_without_the_brokers_ca, hostname_the_certificate_does_not_name],
}


def test_first_contact_mistakes_fail_the_check_and_the_create_with_their_cause(flow: AuthFlow) -> None:
    provider = ConnectorProvider()
    data = next(spec for spec in flow.specs if spec.config["connector.class"].endswith("MirrorSourceConnector"))
    for mistake in MISTAKES[flow.mode]:
        props: dict[str, Any] = provider_props(flow.state, data)
        props["connector_name"] = unique("mistake")
        config = dict(props["config"])
        cluster, cause = mistake(flow, config)
        props["config"] = config
        expected = f"{data.source_file}: {cluster} cannot be reached with its settings: {cause}"

        failures = provider.check({}, props).failures or []
        reasons = [failure.reason for failure in failures]
        assert len(reasons) == 1 and reasons[0].startswith(expected), f"{mistake.__name__}: {reasons}"

        with pytest.raises(ClusterUnreachable) as raised:
            provider.create(props)
        assert str(raised.value).startswith(expected), f"{mistake.__name__}: {raised.value}"
        with ConnectClient(connect_endpoint(flow.state)) as client:
            assert props["connector_name"] not in client.connectors(), f"{mistake.__name__}: something was written"


# --- The same through the real CLI: a wrong file in the secrets folder fails `pulumi preview` ----------


def wrong_secret_files(flow: AuthFlow) -> tuple[dict[str, str], str]:
    """What a Secret with a wrong value holds, per mode: {file name: content}, and the cause expected."""
    auth = flow.state.brokers["source"].cluster_auth
    if isinstance(auth, SaslAuth):
        return {
            "source.properties": credentials_file_content(auth, "mirror", "not-the-password")
        }, "authentication failed"
    if isinstance(auth, MutualTlsAuth):
        stranger = certs.issue(certs.new_ca("a CA the broker does not know"), "stranger", server=False)
        files = {"source-certificate.pem": stranger.certificate, "source-private-key.pem": stranger.private_key}
        return files, "SSL handshake failed: the broker rejected the client certificate"
    return {"source-ca.pem": certs.new_ca("some other CA").certificate}, "SSL handshake failed: unknown CA"


def test_a_wrong_secret_fails_a_real_pulumi_preview_naming_the_source_and_the_cause(
    flow: AuthFlow, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Last for each runtime: the secret files are put back, but running tasks may have reconnected meanwhile."""
    project = copy_project(flow.runtime, tmp_path_factory.mktemp(f"cli-{flow.mode}"), CLI_STACK)
    # The stack declares the clusters as the runtime serves them (stacks/local.py compares both).
    source, destination = (flow.state.brokers[name].cluster_auth for name in ("source", "destination"))
    project.set_config(CLI_STACK, "sources", {"source": {"auth": source.model_dump(by_alias=True)}})
    destination_settings = {
        "name": "destination",
        "replicationFactor": 1,
        "auth": destination.model_dump(by_alias=True),
    }
    project.set_config(CLI_STACK, "destination", destination_settings)
    wrong, cause = wrong_secret_files(flow)
    originals = {name: (flow.state.secrets_dir / name).read_text() for name in wrong}
    mark = project.log.mark()
    try:
        for name, content in wrong.items():
            write_secret(flow.state.secrets_dir / name, content)
        result = project.cli.run("preview", "--stack", CLI_STACK, check=False)
    finally:
        for name, content in originals.items():
            write_secret(flow.state.secrets_dir / name, content)
    assert result.returncode != 0
    # The engine stops at the first connector that fails its check, whichever it checked first.
    files = "connectors/local/destination/source/[a-z]+\\.json"
    message = f"{files}: source 'source' cannot be reached with its settings: {re.escape(cause)}"
    assert re.search(message, result.stdout), result.stdout
    assert "Traceback" not in result.stdout
    assert project.log.writes_since(mark) == []
