"""What a new user ran into on the local stack with the real CLI, each now refused or repaired.

Every test here failed before its fix: an empty folder deleted every connector, a failed create
left an orphan that blocked the next `up` with HTTP 409, Connect's validation errors came after a
dump of the whole config, two connectors doubled a topic's records, and a restarted local runtime
broke the stack. Writes to Connect are counted from the workers' request logs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from connect.local_runtime import connect_endpoint
from connect.rest import ConnectClient
from harness.project_copy import Project, copy_project
from localkafka import clients
from localkafka.runtime import LocalRuntime

pytestmark = pytest.mark.runtime

STACK = "safe"
SOURCE = "connectors/local/destination/source"


@pytest.fixture(scope="module")
def project(runtime: LocalRuntime, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    project = copy_project(runtime, tmp_path_factory.mktemp("safe"), STACK)
    project.up(STACK)
    yield project
    project.cli.run("destroy", "--stack", STACK, "--yes", check=False)


def write(project: Project, name: str, document: object) -> Path:
    path = project.source_folder / name
    path.write_text(json.dumps(document))
    return path


def test_validation_errors_read_file_key_message_only(project: Project) -> None:
    path = project.source_folder / "orders.json"
    original = path.read_text()
    document = json.loads(original)
    document["config"]["tasks.max"] = "ten"
    path.write_text(json.dumps(document))
    try:
        result = project.cli.run("preview", "--stack", STACK, check=False)
    finally:
        path.write_text(original)
    assert result.returncode != 0
    assert (
        f"{SOURCE}/orders.json: config.tasks.max: Invalid value ten for configuration tasks.max: "
        "Not a number of type INT" in result.stdout
    ), result.stdout
    assert "Invalid value null" not in result.stdout, "Connect's follow-on error should be left out"
    assert "property config value" not in result.stdout, "the whole rendered config should not be dumped"


def test_a_failed_create_leaves_nothing_behind_and_the_fixed_file_applies(project: Project) -> None:
    secrets = project.state.secrets_dir
    broken = {
        "config": {
            "connector.class": "MirrorSourceConnector",
            "topics": "broken-topic",
            # A secret reference to a key the credentials file lacks: the connector fails at start-up.
            "consumer.sasl.jaas.config": f"${{file:{secrets}/source.properties:no.such.key}}",
        }
    }
    clients.create_topics(project.state, "source", {"broken-topic": 1})  # a task starts, and fails
    path = write(project, "broken.json", broken)
    result = project.cli.up(STACK, check=False)
    assert result.returncode != 0
    assert f"{SOURCE}/broken.json: connector 'broken' failed" in result.stdout, result.stdout
    assert "deleted again, so nothing is left half-applied" in result.stdout
    assert "broken" not in project.live_connectors(), "the failed connector was left in Connect"

    broken["config"].pop("consumer.sasl.jaas.config")
    path.write_text(json.dumps(broken))
    mark = project.log.mark()
    output = project.up(STACK)
    assert "1 created" in output, output
    assert [(w.verb, w.path) for w in project.log.writes_since(mark)] == [("POST", "/connectors")]
    path.unlink()
    project.up(STACK)


def test_two_connectors_selecting_one_topic_fail_preview(project: Project) -> None:
    path = write(
        project, "orders-again.json", {"config": {"connector.class": "MirrorSourceConnector", "topics": "orders"}}
    )
    try:
        result = project.cli.run("preview", "--stack", STACK, check=False)
    finally:
        path.unlink()
    assert result.returncode != 0
    expected = f"{SOURCE}/orders.json: selects topic(s) ['orders'] that {SOURCE}/orders-again.json mirrors too"
    assert expected in result.stdout, result.stdout


def test_an_emptied_folder_is_refused_until_the_stack_opts_in(project: Project) -> None:
    files = {path.name: path.read_text() for path in project.source_folder.glob("*.json")}
    for name in files:
        if name != "_source.json":
            (project.source_folder / name).unlink()
    mark = project.log.mark()
    preview = project.cli.run("preview", "--stack", STACK, check=False)
    up = project.cli.up(STACK, check=False)
    assert preview.returncode != 0 and up.returncode != 0
    assert f"{SOURCE}: no connector files for source 'source', so `pulumi up` would delete" in preview.stdout
    assert "mm2-eks:allowEmptyConnectorFolders" in preview.stdout
    assert project.log.writes_since(mark) == []
    assert {"orders", "events", "checkpoints", "heartbeats"} <= project.live_connectors()

    project.set_config(STACK, "allowEmptyConnectorFolders", True)
    try:
        output = project.up(STACK)
        assert "4 deleted" in output, output
    finally:
        project.set_config(STACK, "allowEmptyConnectorFolders", False)
        for name, text in files.items():
            (project.source_folder / name).write_text(text)
    project.up(STACK)


def test_the_stack_survives_a_runtime_restart_and_a_removed_runtime(tmp_path: Path) -> None:
    """down + up gives new ports and credentials; the provider reads them at each call."""
    runtime = LocalRuntime(tmp_path / "runtime")
    runtime.up(workers=1)
    try:
        project = copy_project(runtime, tmp_path / "project", STACK)
        project.up(STACK)
        runtime.down()
        runtime.up(workers=1)
        project.state = runtime.state()
        (project.source_folder / "heartbeats.json").unlink()
        output = project.up(STACK)
        assert "1 deleted" in output, output
        with ConnectClient(connect_endpoint(runtime.state())) as client:
            assert set(client.connectors()) == {"orders", "events", "checkpoints"}
        runtime.down()  # the runtime and its folder are gone: destroy has nothing left to delete
        destroyed = project.cli.run("destroy", "--stack", STACK, "--yes")
        assert "5 deleted" in destroyed.stdout, destroyed.stdout  # 3 connectors, their component, the stack
    finally:
        runtime.down()
