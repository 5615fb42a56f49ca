"""Bad input and unreachable clusters: an error that names the problem, a bounded wait, never a traceback.

Unknown stacks, sources and groups are named with the known ones (exit 64); a Connect or a Kafka
cluster that does not answer ends the command within its --timeout with the address and the cause
(exit 3).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from connect.local_runtime import RuntimeState
from connect.rest import ConnectClient
from localkafka import clients
from localkafka.processes import free_ports
from localkafka.runtime import LocalRuntime
from tests.migration.support import mm2ctl
from tests.support import load_specs, unique, write_tree

# --timeout for the unreachable cases, and how long the whole command may take around it (JVM start, retries).
TIMEOUT_SECONDS = 5
BOUND_SECONDS = 90


def test_unknown_stack_is_named_with_the_known_ones(tmp_path: Path) -> None:
    result = mm2ctl(LocalRuntime(tmp_path), "status", "--stack", "prod")
    assert result.status == 64
    assert "unknown stack 'prod'; known stacks: local, staging" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_source_is_named_with_the_known_ones(tmp_path: Path) -> None:
    result = mm2ctl(LocalRuntime(tmp_path), "cutover", "--source", "east")
    assert result.status == 64
    assert "unknown source 'east'; known sources: source" in result.stderr


def test_a_bad_command_line_is_not_mistaken_for_records_lost(tmp_path: Path) -> None:
    result = mm2ctl(LocalRuntime(tmp_path), "cutover")  # --source is required
    assert result.status == 64, "argparse's own exit status 2 would read as 'records lost'"
    assert "--source" in result.stderr


@pytest.mark.runtime
def test_unknown_group_is_named_with_the_known_ones(migration_runtime: LocalRuntime, tmp_path: Path) -> None:
    state = migration_runtime.state()
    topic, group = unique("groups-topic"), unique("groups-known")
    clients.create_topics(state, "source", {topic: 1})
    producer = clients.producer(state, "source")
    producer.produce(topic, value=b"x")
    assert producer.flush(30) == 0
    consumer = clients.consumer(state, "source", group)
    assert len(clients.consume(consumer, [topic], 1, timeout=60)) == 1
    consumer.commit(asynchronous=False)
    consumer.close()
    root = write_tree(
        tmp_path / "connectors",
        {
            f"{topic}.json": {"config": {"connector.class": "MirrorSourceConnector", "topics": topic}},
            f"{group}.json": {"config": {"connector.class": "MirrorCheckpointConnector", "groups": group}},
        },
    )
    with ConnectClient(migration_runtime.connect_endpoint()) as connect:
        specs = load_specs(state, root)
        for spec in specs:
            connect.create_connector(spec.name, spec.config)
        try:
            result = mm2ctl(
                migration_runtime, "cutover", "--source", "source", "--group", "nope", "--quiet-seconds", "0"
            )
        finally:
            for spec in specs:
                connect.delete_connector(spec.name)
    assert result.status == 64, result.shown()
    assert "unknown group 'nope'; known groups: " in result.stderr and group in result.stderr, result.stderr


@pytest.mark.runtime
def test_connect_that_does_not_answer(migration_runtime: LocalRuntime, tmp_path: Path) -> None:
    (dead_port,) = free_ports(1)
    copy = _runtime_copy(migration_runtime, tmp_path, worker_port=dead_port)
    started = time.monotonic()
    result = mm2ctl(copy, "status", "--timeout", str(TIMEOUT_SECONDS))
    assert time.monotonic() - started < BOUND_SECONDS
    assert result.status == 3, result.shown()
    assert f"127.0.0.1:{dead_port}" in result.stderr and "ConnectError" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.runtime
def test_kafka_cluster_that_does_not_answer(migration_runtime: LocalRuntime, tmp_path: Path) -> None:
    """Connect answers, the source cluster does not: the offsets tool gives up within --timeout and names it."""
    (dead_port,) = free_ports(1)
    copy = _runtime_copy(migration_runtime, tmp_path, source_port=dead_port)
    state = migration_runtime.state()
    topic = unique("unreachable")
    clients.create_topics(state, "source", {topic: 1})
    root = write_tree(
        tmp_path / "connectors",
        {f"{topic}.json": {"config": {"connector.class": "MirrorSourceConnector", "topics": topic}}},
    )
    (spec,) = load_specs(state, root)
    with ConnectClient(migration_runtime.connect_endpoint()) as connect:
        connect.create_connector(spec.name, spec.config)
        try:
            started = time.monotonic()
            result = mm2ctl(copy, "status", "--timeout", str(TIMEOUT_SECONDS))
            elapsed = time.monotonic() - started
        finally:
            connect.delete_connector(spec.name)
    assert elapsed < BOUND_SECONDS
    assert result.status == 3, result.shown()
    assert f"cluster 'source' at 127.0.0.1:{dead_port} did not answer" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def _runtime_copy(
    runtime: LocalRuntime, tmp_path: Path, worker_port: int | None = None, source_port: int | None = None
) -> LocalRuntime:
    """The runtime's state and secrets in another folder, with one address pointing where nothing listens."""
    folder = tmp_path / "runtime-copy"
    shutil.copytree(Path(runtime.runtime_dir) / "secrets", folder / "secrets")
    raw = json.loads((Path(runtime.runtime_dir) / "state.json").read_text())
    raw["runtime_dir"] = str(folder)
    if worker_port is not None:
        raw["workers"][0]["rest_port"] = worker_port
    if source_port is not None:
        raw["brokers"]["source"]["port"] = source_port
    (folder / "state.json").write_text(json.dumps(raw))
    RuntimeState.load(folder)  # still a valid state file
    return LocalRuntime(folder)
