"""The real Pulumi CLI on the local stack: the dynamic provider pickled into state, called by the engine.

The program is copied into a temporary project (so connector files can be edited freely) whose
`local` stack points at the test session's runtime. The tests run in order, as one operator's day:
each one starts from the state the previous one left. Writes to Connect are counted from the
workers' request logs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from connect.local_runtime import LocalCredentials, connect_endpoint
from connect.rest import ConnectClient
from harness.project_copy import Project, copy_project
from localkafka.runtime import LocalRuntime
from tests.support import runtime_secret_values

pytestmark = pytest.mark.runtime

STACK = "e2e"
CONNECTORS = {"checkpoints", "events", "heartbeats", "orders"}


@pytest.fixture(scope="module")
def project(runtime: LocalRuntime, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    project = copy_project(runtime, tmp_path_factory.mktemp("project"), STACK)
    yield project
    project.cli.run("destroy", "--stack", STACK, "--yes", check=False)


def test_up_registers_every_connector_file(project: Project) -> None:
    output = project.up(STACK)
    assert "6 created" in output, output
    assert project.live_connectors() >= CONNECTORS
    assert project.cli.outputs(STACK)["connectorStates"] == dict.fromkeys(CONNECTORS, "RUNNING")


def test_connect_returns_secret_references_not_values(project: Project) -> None:
    credentials = LocalCredentials.load(project.state.secrets_dir)
    with ConnectClient(connect_endpoint(project.state)) as client:
        config = client.connector_config("orders") or {}
        tasks = client.task_configs("orders") or []
    assert config["source.cluster.sasl.jaas.config"].startswith("${file:")
    read_back = json.dumps(config) + json.dumps(tasks)
    for value in (credentials.source.password, credentials.connect.password):
        assert value not in read_back


def test_second_up_changes_nothing_and_writes_nothing(project: Project) -> None:
    mark = project.log.mark()
    output = project.up(STACK)
    assert "6 unchanged" in output, output
    assert project.log.writes_since(mark) == []
    assert project.log.connector_stops_since(mark) == []


def test_editing_one_file_updates_only_that_connector(project: Project) -> None:
    path = project.source_folder / "orders.json"
    document = json.loads(path.read_text())
    document["config"]["tasks.max"] = 3
    path.write_text(json.dumps(document))
    mark = project.log.mark()
    output = project.up(STACK)
    assert "1 updated" in output, output
    assert [(w.verb, w.path) for w in project.log.writes_since(mark)] == [("PUT", "/connectors/orders/config")]
    assert set(project.log.connector_stops_since(mark)) == {"orders"}


def test_topic_filter_matching_nothing_is_a_warning_not_an_error(project: Project) -> None:
    idle = project.source_folder / "idle.json"
    idle.write_text(
        json.dumps({"config": {"connector.class": "MirrorSourceConnector", "topics": "nothing-matches-.*"}})
    )
    output = project.up(STACK)
    idle.unlink()
    project.up(STACK)
    assert "1 created" in output, output
    assert "connectors/local/destination/source/idle.json: connector 'idle' runs no task" in output, output


def test_deleting_a_file_deletes_its_connector(project: Project) -> None:
    (project.source_folder / "heartbeats.json").unlink()
    mark = project.log.mark()
    output = project.up(STACK)
    assert "1 deleted" in output, output
    assert [(w.verb, w.path) for w in project.log.writes_since(mark)] == [("DELETE", "/connectors/heartbeats")]
    assert "heartbeats" not in project.live_connectors()


def test_refresh_shows_out_of_band_change_and_up_repairs_it(project: Project) -> None:
    with ConnectClient(connect_endpoint(project.state)) as client:
        live = client.connector_config("events") or {}
        client.put_connector_config("events", {**live, "tasks.max": "1"})
    refreshed = project.cli.run("refresh", "--stack", STACK, "--yes", "--diff").stdout
    assert "events" in refreshed and "tasks.max" in refreshed, refreshed
    preview = project.cli.run("preview", "--stack", STACK, "--diff").stdout
    assert "tasks.max" in preview and "1 to update" in preview, preview
    project.up(STACK)
    with ConnectClient(connect_endpoint(project.state)) as client:
        assert (client.connector_config("events") or {})["tasks.max"] == "4"


def test_bad_file_fails_preview_naming_it_before_any_write(project: Project) -> None:
    bad = project.source_folder / "broken.json"
    bad.write_text('{"config": {"connector.class": "MirrorSourceConnector", "topics": "x",}}')
    mark = project.log.mark()
    try:
        result = project.cli.run("preview", "--stack", STACK, check=False)
        up = project.cli.up(STACK, check=False)
    finally:
        bad.unlink()
    assert result.returncode != 0
    assert "connectors/local/destination/source/broken.json: malformed JSON at line 1" in result.stdout
    assert "Traceback" not in result.stdout, "a config error should read as a message, not a stack trace"
    assert up.returncode != 0
    assert project.log.writes_since(mark) == []


def test_state_file_holds_no_plaintext_secret(project: Project) -> None:
    # Every password and private key of the runtime (tests/support.py).
    secret_values = list(runtime_secret_values(project.state).values())
    state_text = project.cli.state_file(STACK).read_text()
    assert "connect_password" in state_text, "the state should hold the connector resources"
    for value in secret_values:
        assert value not in state_text
    history = [path for path in (project.directory / ".state").rglob("*") if path.is_file()]
    for path in history:
        content = path.read_bytes()
        for value in secret_values:
            assert value.encode() not in content, f"{path} holds a secret in plain text"


def test_destroy_removes_every_connector(project: Project) -> None:
    mark = project.log.mark()
    project.cli.run("destroy", "--stack", STACK, "--yes")
    remaining = CONNECTORS - {"heartbeats"}
    deletes = {w.path for w in project.log.writes_since(mark) if w.verb == "DELETE"}
    assert deletes == {f"/connectors/{name}" for name in remaining}
    assert not (remaining & project.live_connectors())


def test_no_log_or_connector_config_holds_a_secret(project: Project, runtime: LocalRuntime) -> None:
    # Every password and private key of the runtime (tests/support.py).
    secret_values = list(runtime_secret_values(project.state).values())
    logs = [p for p in Path(runtime.runtime_dir).rglob("*.log")] + list((project.directory / ".state").rglob("*.log"))
    assert logs, "expected worker and broker logs to search"
    for path in logs:
        text = path.read_text(errors="replace")
        for value in secret_values:
            assert value not in text, f"{path} holds a secret in plain text"
