"""The connector provider against a real Kafka Connect worker: create, no-op, update, state, drift, delete.

Every write the provider makes is counted from the workers' own request log, so "no change means
no write, hence no restart" is measured on the worker rather than assumed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from connect.connector_tree import ConnectorSpec
from connect.local_runtime import RuntimeState, connect_endpoint
from connect.rest import ConnectClient, ConnectError, ConnectUnavailable
from localkafka import clients
from localkafka.connect_log import ConnectLog
from providers.connector import ConnectorProvider, ConnectorStateError
from tests.support import load_specs, provider_props, unique, write_tree

pytestmark = pytest.mark.runtime


def source_connector(state: RuntimeState, tmp_path: Path, topic: str, **config: Any) -> ConnectorSpec:
    clients.create_topics(state, "source", {topic: 2})
    files = {
        "_source.json": {"config": {"replication.policy.topic.renames": f"{topic}:{topic}-replica"}},
        f"{topic}.json": {
            "config": {"connector.class": "MirrorSourceConnector", "topics": topic, "tasks.max": 1, **config}
        },
    }
    [spec] = load_specs(state, write_tree(tmp_path / "connectors", files))
    return spec


def engine_apply(provider: ConnectorProvider, olds: dict[str, Any] | None, news: dict[str, Any]) -> dict[str, Any]:
    """What `pulumi up` does for one resource: check, then create, or diff and update if needed."""
    checked = provider.check(olds or {}, news)
    assert not checked.failures, [failure.reason for failure in checked.failures]
    if olds is None:
        return provider.create(checked.inputs).outs or {}
    if provider.diff(news["connector_name"], olds, checked.inputs).changes:
        return provider.update(news["connector_name"], olds, checked.inputs).outs or {}
    return olds


@pytest.fixture
def client(state: RuntimeState) -> Any:
    with ConnectClient(connect_endpoint(state)) as connect:
        yield connect


def test_create_waits_for_running_and_second_apply_writes_nothing(state: RuntimeState, tmp_path: Path) -> None:
    spec = source_connector(state, tmp_path, unique("lifecycle"))
    provider, log = ConnectorProvider(), ConnectLog(state)

    outputs = engine_apply(provider, None, provider_props(state, spec))
    assert outputs["connector_state"] == "RUNNING"
    assert outputs["task_count"] == 1
    assert [task["state"] for task in outputs["tasks"]] == ["RUNNING"]
    assert outputs["tasks"][0]["worker_id"].startswith("127.0.0.1:")

    mark = log.mark()
    again = engine_apply(provider, outputs, provider_props(state, spec))
    time.sleep(1)  # let the request log flush
    assert again == outputs
    assert log.writes_since(mark) == []
    assert log.connector_stops_since(mark) == []
    assert log.requests_since(mark), "the no-op apply should still have read the live connector"
    provider.delete(spec.name, outputs)


def test_update_changes_one_key_with_one_write(state: RuntimeState, tmp_path: Path) -> None:
    topic = unique("update")
    spec = source_connector(state, tmp_path, topic)
    provider, log = ConnectorProvider(), ConnectLog(state)
    outputs = engine_apply(provider, None, provider_props(state, spec))

    edited = ConnectorSpec(
        spec.name, {**spec.config, "tasks.max": "2"}, spec.state, spec.source_file, spec.source_cluster
    )
    mark = log.mark()
    outputs = engine_apply(provider, outputs, provider_props(state, edited))
    time.sleep(1)
    writes = log.writes_since(mark)
    assert [(w.verb, w.path) for w in writes] == [("PUT", f"/connectors/{spec.name}/config")]
    assert outputs["config"]["tasks.max"] == "2"
    assert outputs["task_count"] == 2
    provider.delete(spec.name, outputs)


def test_declared_state_pause_stop_resume(state: RuntimeState, tmp_path: Path, client: ConnectClient) -> None:
    spec = source_connector(state, tmp_path, unique("states"))
    provider, log = ConnectorProvider(), ConnectLog(state)
    outputs = engine_apply(provider, None, provider_props(state, spec))

    for declared, action, connect_state in [
        ("paused", "pause", "PAUSED"),
        ("stopped", "stop", "STOPPED"),
        ("running", "resume", "RUNNING"),
    ]:
        mark = log.mark()
        news = provider_props(state, spec)
        news["state"] = declared
        outputs = engine_apply(provider, outputs, news)
        time.sleep(1)
        assert [(w.verb, w.path) for w in log.writes_since(mark)] == [("PUT", f"/connectors/{spec.name}/{action}")]
        assert outputs["connector_state"] == connect_state
        status = client.connector_status(spec.name)
        assert status is not None and status["connector"]["state"] == connect_state
    assert outputs["task_count"] == 1  # tasks come back after stop + resume
    provider.delete(spec.name, outputs)


def test_config_edit_and_resume_in_one_update(state: RuntimeState, tmp_path: Path, client: ConnectClient) -> None:
    # A stopped connector has no task configs; they appear only once it runs with the new config.
    spec = source_connector(state, tmp_path, unique("resume-edit"))
    provider = ConnectorProvider()
    stopped = provider_props(state, spec)
    stopped["state"] = "stopped"
    outputs = engine_apply(provider, None, stopped)
    assert outputs["connector_state"] == "STOPPED"

    edited = ConnectorSpec(
        spec.name, {**spec.config, "tasks.max": "2"}, spec.state, spec.source_file, spec.source_cluster
    )
    outputs = engine_apply(provider, outputs, provider_props(state, edited, state_deadline_seconds=60))
    assert outputs["connector_state"] == "RUNNING"
    assert outputs["task_count"] == 2
    provider.delete(spec.name, outputs)


def test_a_connector_with_no_task_gets_its_tasks_after_an_edit(state: RuntimeState, tmp_path: Path) -> None:
    topic = unique("notask")
    spec = source_connector(state, tmp_path, topic, topics=f"{topic}-nothing-.*")
    provider = ConnectorProvider()
    outputs = engine_apply(provider, None, provider_props(state, spec))
    assert outputs["task_count"] == 0

    edited = ConnectorSpec(
        spec.name, {**spec.config, "topics": topic}, spec.state, spec.source_file, spec.source_cluster
    )
    outputs = engine_apply(provider, outputs, provider_props(state, edited, state_deadline_seconds=60))
    assert outputs["connector_state"] == "RUNNING"
    assert outputs["task_count"] == 1
    assert [task["state"] for task in outputs["tasks"]] == ["RUNNING"]
    provider.delete(spec.name, outputs)


def test_refresh_shows_out_of_band_change_and_next_apply_repairs_it(
    state: RuntimeState, tmp_path: Path, client: ConnectClient
) -> None:
    spec = source_connector(state, tmp_path, unique("drift"))
    provider = ConnectorProvider()
    outputs = engine_apply(provider, None, provider_props(state, spec))

    client.put_connector_config(spec.name, {**spec.config, "tasks.max": "3"})  # someone edits it by hand
    refreshed = provider.read(spec.name, outputs)
    assert refreshed.id == spec.name
    assert refreshed.outs is not None and refreshed.outs["config"]["tasks.max"] == "3"
    assert provider.diff(spec.name, refreshed.outs, provider_props(state, spec)).changes

    repaired = engine_apply(provider, refreshed.outs, provider_props(state, spec))
    assert repaired["config"]["tasks.max"] == "1"
    live = client.connector_config(spec.name)
    assert live is not None and live["tasks.max"] == "1"
    provider.delete(spec.name, repaired)


def test_apply_repairs_drift_even_without_refresh(state: RuntimeState, tmp_path: Path, client: ConnectClient) -> None:
    spec = source_connector(state, tmp_path, unique("norefresh"))
    provider = ConnectorProvider()
    outputs = engine_apply(provider, None, provider_props(state, spec))

    client.delete_connector(spec.name)  # deleted by hand; the Pulumi state still lists it
    assert provider.diff(spec.name, outputs, provider_props(state, spec)).changes
    outputs = engine_apply(provider, outputs, provider_props(state, spec))
    assert outputs["connector_state"] == "RUNNING"
    assert client.connector_config(spec.name) is not None
    provider.delete(spec.name, outputs)


def test_refresh_of_deleted_connector_reports_it_gone(
    state: RuntimeState, tmp_path: Path, client: ConnectClient
) -> None:
    spec = source_connector(state, tmp_path, unique("gone"))
    provider = ConnectorProvider()
    outputs = engine_apply(provider, None, provider_props(state, spec))
    client.delete_connector(spec.name)
    assert provider.read(spec.name, outputs).id is None
    provider.delete(spec.name, outputs)  # 404 counts as done


def test_create_adopts_an_identical_connector_without_writing(
    state: RuntimeState, tmp_path: Path, client: ConnectClient
) -> None:
    spec = source_connector(state, tmp_path, unique("adopt"))
    client.create_connector(spec.name, spec.config)  # e.g. a create that timed out after the POST
    provider, log = ConnectorProvider(), ConnectLog(state)
    time.sleep(1)  # the worker logs a request just after answering it
    mark = log.mark()
    outputs = provider.create(provider_props(state, spec)).outs or {}
    time.sleep(1)
    assert outputs["connector_state"] == "RUNNING"
    assert log.writes_since(mark) == []
    provider.delete(spec.name, outputs)


def test_create_refuses_an_existing_connector_with_another_config(
    state: RuntimeState, tmp_path: Path, client: ConnectClient
) -> None:
    spec = source_connector(state, tmp_path, unique("clash"))
    client.create_connector(spec.name, {**spec.config, "tasks.max": "2"})
    with pytest.raises(ConnectError, match=r"already exists with a different config \(keys \['tasks.max'\]\)"):
        ConnectorProvider().create(provider_props(state, spec))
    client.delete_connector(spec.name)


def test_failed_connector_error_carries_the_trace(state: RuntimeState, tmp_path: Path) -> None:
    # A secret reference to a key the credentials file lacks: the connector fails at start-up.
    secrets = state.secrets_dir
    spec = source_connector(
        state,
        tmp_path,
        unique("failing"),
        **{"consumer.sasl.jaas.config": f"${{file:{secrets}/source.properties:no.such.key}}"},
    )
    props = provider_props(state, spec, state_deadline_seconds=60)
    with pytest.raises(ConnectorStateError) as raised:
        ConnectorProvider().create(props)
    message = str(raised.value)
    assert spec.source_file in message and "failed" in message
    assert "Exception" in message, "the error should include Connect's stack trace"
    ConnectorProvider().delete(spec.name, props)


def test_check_reports_connect_validation_errors_by_key(state: RuntimeState, tmp_path: Path) -> None:
    spec = source_connector(state, tmp_path, unique("invalid"), **{"tasks.max": "many"})
    result = ConnectorProvider().check({}, provider_props(state, spec))
    reasons = [failure.reason for failure in result.failures]
    assert any(spec.source_file in r and "config.tasks.max" in r for r in reasons), reasons


def test_connect_down_fails_clearly_within_the_deadline(state: RuntimeState, tmp_path: Path) -> None:
    spec = source_connector(state, tmp_path, unique("down"))
    props = provider_props(state, spec, url="http://127.0.0.1:9", deadline_seconds=3, timeout_seconds=1)
    started = time.monotonic()
    with pytest.raises(ConnectUnavailable) as raised:
        ConnectorProvider().create(props)
    elapsed = time.monotonic() - started
    assert elapsed < 8, f"gave up after {elapsed:.1f}s, deadline was 3s"
    assert "http://127.0.0.1:9" in str(raised.value) and "after 3s of retries" in str(raised.value)
