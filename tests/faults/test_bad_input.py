"""Bad input is rejected before anything is written, with a message naming the file or the key.

The connector tree and the stack config are checked in-process here (the same functions
`pulumi preview` runs first); tests/e2e checks that a bad file fails a real preview with no write.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from connect.cluster_connection import ClusterEndpoint
from connect.connector_tree import ConnectorTreeError, TreeContext, load_connector_tree
from stackconfig.load import StackConfigError, load_stack
from stackconfig.models import PlaintextAuth, SaslAuth

SOURCE_FOLDER = Path("connectors/local/destination/source")
GOOD = {"config": {"connector.class": "MirrorSourceConnector", "topics": "orders"}}


def context(root: Path) -> TreeContext:
    return TreeContext(
        root=root / "connectors",
        env="local",
        destination=ClusterEndpoint("destination", "127.0.0.1:9092", PlaintextAuth(mode="plaintext")),
        sources={"source": ClusterEndpoint("source", "127.0.0.1:9093", SaslAuth(mode="plain", tls=False))},
        secrets_dir="/etc/mm2/secrets",
        replication_factor=1,
        exactly_once=True,
        display_root=root,
    )


def tree_problems(tmp_path: Path, files: dict[str, Any]) -> list[str]:
    for relative, content in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(ConnectorTreeError) as raised:
        load_connector_tree(context(tmp_path))
    return raised.value.problems


def test_malformed_json_names_the_file_and_position(tmp_path: Path) -> None:
    [problem] = tree_problems(tmp_path, {f"{SOURCE_FOLDER}/orders.json": '{"config": {"topics": "orders",}}'})
    assert problem.startswith(f"{SOURCE_FOLDER}/orders.json: malformed JSON at line 1 column")


def test_two_files_naming_one_connector_names_both(tmp_path: Path) -> None:
    [problem] = tree_problems(
        tmp_path,
        {
            f"{SOURCE_FOLDER}/orders.json": GOOD,
            f"{SOURCE_FOLDER}/orders-copy.json": {**GOOD, "name": "orders"},
        },
    )
    assert f"{SOURCE_FOLDER}/orders.json" in problem and f"{SOURCE_FOLDER}/orders-copy.json" in problem
    assert "'orders'" in problem


def test_unknown_connector_class_is_named(tmp_path: Path) -> None:
    bad = {"config": {"connector.class": "io.example.MirrorMaker3", "topics": "orders"}}
    [problem] = tree_problems(tmp_path, {f"{SOURCE_FOLDER}/orders.json": bad})
    assert f"{SOURCE_FOLDER}/orders.json" in problem and "'io.example.MirrorMaker3'" in problem
    assert "MirrorSourceConnector, MirrorCheckpointConnector, MirrorHeartbeatConnector" in problem


def test_missing_connector_class_is_named(tmp_path: Path) -> None:
    [problem] = tree_problems(tmp_path, {f"{SOURCE_FOLDER}/orders.json": {"config": {"topics": "orders"}}})
    assert "config.connector.class is required" in problem


@pytest.mark.parametrize(
    "key",
    [
        "consumer.sasl.jaas.config",
        "ssl.truststore.password",
        "producer.override.sasl.password",
        "producer.override.ssl.keystore.key",
    ],
)
def test_plaintext_secret_is_refused_with_a_hint(tmp_path: Path, key: str) -> None:
    bad = {"config": {**GOOD["config"], key: "hunter2"}}
    [problem] = tree_problems(tmp_path, {f"{SOURCE_FOLDER}/orders.json": bad})
    assert f"config.{key} holds a plaintext secret" in problem
    assert "${file:/etc/mm2/secrets/" in problem, "the message should show how to reference a secret file"
    assert "hunter2" not in problem, "the message must not repeat the secret"


def test_a_plaintext_secret_in_the_shared_file_names_that_file_once(tmp_path: Path) -> None:
    shared = {"config": {"consumer.ssl.truststore.password": "hunter2"}}
    files = {f"{SOURCE_FOLDER}/_source.json": shared, f"{SOURCE_FOLDER}/orders.json": GOOD}
    files[f"{SOURCE_FOLDER}/events.json"] = {"config": {**GOOD["config"], "topics": "events"}}
    [problem] = tree_problems(tmp_path, files)
    assert problem.startswith(f"{SOURCE_FOLDER}/_source.json: config.consumer.ssl.truststore.password holds")


def test_an_unreadable_connector_file_is_named(tmp_path: Path) -> None:
    (tmp_path / SOURCE_FOLDER / "orders.json").mkdir(parents=True)  # a folder where a file should be
    [problem] = tree_problems(tmp_path, {f"{SOURCE_FOLDER}/events.json": GOOD})
    assert problem.startswith(f"{SOURCE_FOLDER}/orders.json: cannot be read")


def test_secret_reference_is_accepted(tmp_path: Path) -> None:
    good = {
        "config": {
            **GOOD["config"],
            "consumer.sasl.jaas.config": "${file:/etc/mm2/secrets/x.properties:sasl.jaas.config}",
        }
    }
    (tmp_path / SOURCE_FOLDER).mkdir(parents=True)
    (tmp_path / SOURCE_FOLDER / "orders.json").write_text(json.dumps(good))
    [spec] = load_connector_tree(context(tmp_path)).connectors
    assert spec.config["consumer.sasl.jaas.config"].startswith("${file:")


def test_connection_settings_in_a_file_are_refused(tmp_path: Path) -> None:
    bad = {"config": {**GOOD["config"], "source.cluster.bootstrap.servers": "elsewhere:9092"}}
    [problem] = tree_problems(tmp_path, {f"{SOURCE_FOLDER}/orders.json": bad})
    assert "config.source.cluster.bootstrap.servers is set by the stack" in problem


# Each of these trees also leaves the stack's one source without connector files: a second problem.
EMPTY_SOURCE = "connectors/local/destination/source: no connector files for source 'source'"


def test_folder_for_a_destination_the_stack_does_not_have(tmp_path: Path) -> None:
    [problem, empty] = tree_problems(tmp_path, {"connectors/local/msk-other/source/orders.json": GOOD})
    assert problem.startswith("connectors/local/msk-other: the stack has no destination 'msk-other'")
    assert "destination.name" in problem
    assert empty.startswith(EMPTY_SOURCE)


def test_folder_for_a_source_the_stack_does_not_have(tmp_path: Path) -> None:
    [problem, empty] = tree_problems(tmp_path, {"connectors/local/destination/confluent/orders.json": GOOD})
    assert "connectors/local/destination/confluent: the stack has no source 'confluent'" in problem
    assert empty.startswith(EMPTY_SOURCE)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    problems = tree_problems(
        tmp_path,
        {
            f"{SOURCE_FOLDER}/a.json": "{",
            f"{SOURCE_FOLDER}/b.json": {"config": {"topics": "x"}},
            f"{SOURCE_FOLDER}/c.json": {"config": GOOD["config"], "state": "sleeping"},
            f"{SOURCE_FOLDER}/d.json": {"config": GOOD["config"], "extra": 1},
        },
    )
    assert [p.split(":")[0] for p in problems] == [f"{SOURCE_FOLDER}/{n}.json" for n in "abcd"]


def test_source_and_checkpoint_connectors_must_share_the_replication_policy(tmp_path: Path) -> None:
    [problem] = tree_problems(
        tmp_path,
        {
            f"{SOURCE_FOLDER}/orders.json": {
                "config": {**GOOD["config"], "replication.policy.topic.template": "${topic}.copy"}
            },
            f"{SOURCE_FOLDER}/groups.json": {"config": {"connector.class": "MirrorCheckpointConnector"}},
        },
    )
    assert "must share one replication policy" in problem and "_source.json" in problem


# --- Found by trying the local stack as a new user would (issue 15) ---------------------------


def test_an_empty_source_folder_is_refused_unless_the_stack_opts_in(tmp_path: Path) -> None:
    (tmp_path / SOURCE_FOLDER).mkdir(parents=True)
    with pytest.raises(ConnectorTreeError) as raised:
        load_connector_tree(context(tmp_path))
    [problem] = raised.value.problems
    assert problem.startswith(f"{SOURCE_FOLDER}: no connector files for source 'source'")
    assert "would delete every connector" in problem and "mm2-eks:allowEmptyConnectorFolders" in problem
    allowed = replace(context(tmp_path), allow_empty_sources=True)
    assert load_connector_tree(allowed).connectors == []


def test_a_missing_source_folder_is_refused_like_an_empty_one(tmp_path: Path) -> None:
    (tmp_path / "connectors" / "local" / "destination").mkdir(parents=True)
    [problem] = tree_problems(tmp_path, {})
    assert problem.startswith(f"{SOURCE_FOLDER}: no connector files for source 'source'")


def test_a_symlinked_connector_file_is_refused_with_its_target(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.json"
    outside.write_text(json.dumps(GOOD))
    (tmp_path / SOURCE_FOLDER).mkdir(parents=True)
    (tmp_path / SOURCE_FOLDER / "linked.json").symlink_to(outside)
    problems = tree_problems(tmp_path, {f"{SOURCE_FOLDER}/orders.json": GOOD})
    assert problems == [f"{SOURCE_FOLDER}/linked.json: a symbolic link (to {outside}); use a regular file"]


def test_a_symlinked_source_folder_is_refused_with_its_target(tmp_path: Path) -> None:
    real = tmp_path / "real-source"
    real.mkdir()
    (real / "orders.json").write_text(json.dumps(GOOD))
    (tmp_path / SOURCE_FOLDER).parent.mkdir(parents=True)
    (tmp_path / SOURCE_FOLDER).symlink_to(real)
    problems = tree_problems(tmp_path, {})
    assert problems[0] == f"{SOURCE_FOLDER}: a symbolic link (to {real}); use a real folder"


def test_a_key_given_twice_is_refused_naming_the_file_and_key(tmp_path: Path) -> None:
    twice = '{"config": {"connector.class": "MirrorSourceConnector", "topics": "orders", "topics": "events"}}'
    [problem] = tree_problems(tmp_path, {f"{SOURCE_FOLDER}/orders.json": twice})
    assert problem.startswith(f"{SOURCE_FOLDER}/orders.json: key 'topics' appears twice")


def test_an_empty_file_says_it_is_empty(tmp_path: Path) -> None:
    [problem] = tree_problems(tmp_path, {f"{SOURCE_FOLDER}/orders.json": ""})
    assert problem.startswith(f"{SOURCE_FOLDER}/orders.json: empty file")


def test_an_invalid_java_pattern_is_refused_with_javas_error(tmp_path: Path) -> None:
    bad = {"config": {"connector.class": "MirrorSourceConnector", "topics": "events, orders("}}
    [problem] = tree_problems(tmp_path, {f"{SOURCE_FOLDER}/orders.json": bad})
    assert problem == (
        f"{SOURCE_FOLDER}/orders.json: config.topics: 'orders(' is not a valid Java regular expression "
        "(Unclosed group near index 7)"
    )


def test_a_pattern_only_java_accepts_is_accepted(tmp_path: Path) -> None:
    # Python's re rejects (?<name>...); java.util.regex, which MirrorMaker 2 uses, accepts it.
    good = {"config": {"connector.class": "MirrorSourceConnector", "topics": "(?<kind>orders|events)-v1"}}
    (tmp_path / SOURCE_FOLDER).mkdir(parents=True)
    (tmp_path / SOURCE_FOLDER / "orders.json").write_text(json.dumps(good))
    assert [spec.name for spec in load_connector_tree(context(tmp_path)).connectors] == ["orders"]


def test_two_connectors_naming_one_topic_are_refused(tmp_path: Path) -> None:
    second = {"config": {"connector.class": "MirrorSourceConnector", "topics": "events,orders"}}
    [problem] = tree_problems(tmp_path, {f"{SOURCE_FOLDER}/orders.json": GOOD, f"{SOURCE_FOLDER}/two.json": second})
    assert problem.startswith(f"{SOURCE_FOLDER}/two.json: selects topic(s) ['orders'] that {SOURCE_FOLDER}/orders.json")
    assert "would arrive twice" in problem


def test_a_pattern_selecting_another_connectors_topic_is_refused(tmp_path: Path) -> None:
    wide = {"config": {"connector.class": "MirrorSourceConnector", "topics": "ord.*"}}
    [problem] = tree_problems(tmp_path, {f"{SOURCE_FOLDER}/orders.json": GOOD, f"{SOURCE_FOLDER}/wide.json": wide})
    assert "selects topic(s) ['orders']" in problem


def test_an_excluded_topic_is_not_an_overlap(tmp_path: Path) -> None:
    wide = {"config": {"connector.class": "MirrorSourceConnector", "topics": "ord.*", "topics.exclude": "orders"}}
    (tmp_path / SOURCE_FOLDER).mkdir(parents=True)
    (tmp_path / SOURCE_FOLDER / "orders.json").write_text(json.dumps(GOOD))
    (tmp_path / SOURCE_FOLDER / "wide.json").write_text(json.dumps(wide))
    tree = load_connector_tree(context(tmp_path))
    assert [spec.name for spec in tree.connectors] == ["orders", "wide"]
    assert tree.warnings == []


def test_patterns_that_may_meet_are_a_warning_and_disjoint_ones_are_not(tmp_path: Path) -> None:
    folder = tmp_path / SOURCE_FOLDER
    folder.mkdir(parents=True)
    for name, topics in {"a": "orders-.*", "b": "orders-eu-.*", "c": "events-.*"}.items():
        (folder / f"{name}.json").write_text(
            json.dumps({"config": {"connector.class": "MirrorSourceConnector", "topics": topics}})
        )
    tree = load_connector_tree(context(tmp_path))
    assert len(tree.warnings) == 1, tree.warnings
    assert tree.warnings[0].startswith(f"{SOURCE_FOLDER}/b.json and {SOURCE_FOLDER}/a.json: their topic patterns may")


LOCAL_CONFIG = {
    "mm2-eks:platform": "local",
    "mm2-eks:env": "local",
    "mm2-eks:destination": '{"name": "destination", "replicationFactor": 1, "auth": {"mode": "plaintext"}}',
    "mm2-eks:sources": '{"source": {"auth": {"mode": "plain", "tls": false}}}',
}


def config_problems(config: dict[str, str], secret_keys: set[str] | None = None) -> list[str]:
    with pytest.raises(StackConfigError) as raised:
        load_stack(config, secret_keys or set())
    return raised.value.problems


def test_wrong_types_in_stack_config_name_the_key() -> None:
    problems = config_problems(
        {
            **LOCAL_CONFIG,
            "mm2-eks:destination": '{"name": "destination", "replicationFactor": "three", '
            '"auth": {"mode": "plaintext"}}',
            "mm2-eks:connect": '{"exactlyOnce": "sometimes"}',
        }
    )
    assert any(p.startswith("mm2-eks:destination.replicationFactor: Input should be a valid integer") for p in problems)
    assert any(p.startswith("mm2-eks:connect.exactlyOnce: Input should be a valid boolean") for p in problems)


def test_unknown_keys_in_stack_config_are_named() -> None:
    problems = config_problems(
        {**LOCAL_CONFIG, "mm2-eks:conect": '{"replicas": 2}', "mm2-eks:connect": '{"replica": 2}'}
    )
    assert "mm2-eks:conect: unknown key (check its spelling against README's configuration reference)" in problems
    assert (
        "mm2-eks:connect.replica: unknown key (check its spelling against README's configuration reference)" in problems
    )


def test_missing_bootstrap_on_eks_names_the_key() -> None:
    problems = config_problems(
        {
            "mm2-eks:platform": "eks",
            "mm2-eks:env": "staging",
            "mm2-eks:aws": '{"region": "eu-west-1", "accountId": "111111111111"}',
            "mm2-eks:cluster": '{"kind": "existing", "name": "c", "vpcId": "vpc-1", "vpcCidr": "10.0.0.0/16", '
            '"routeTableIds": ["rtb-1"], "nodeSecurityGroupId": "sg-1", '
            '"oidcProviderArn": "a", "oidcProviderUrl": "u"}',
            "mm2-eks:destination": '{"name": "msk", "bootstrapServers": "b-1.msk:9092", "auth": {"mode": "plaintext"}}',
            "mm2-eks:sources": '{"confluent": {"auth": {"mode": "plain"}}}',
        }
    )
    assert "mm2-eks:sources.confluent.bootstrapServers: required on platform eks" in problems


def test_secret_config_set_in_plain_text_is_refused() -> None:
    problems = config_problems({**LOCAL_CONFIG, "mm2-eks:connectPassword": "hunter2"})
    assert problems == [
        "mm2-eks:connectPassword must be set with `pulumi config set --secret` (it is stored in plain text)"
    ]
