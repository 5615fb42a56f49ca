"""Waiting for a connector to converge, against a scripted Connect: which failures end the wait.

The races these cover happen in the real runtime only now and then. After `tasks.max` went down
(2026-12-02 CI), a worker starts an old task before the new task configs exist and fails it with
TooManyTasksException; the task runs again once the new, smaller set is written. After a stopped
connector resumed with 2 tasks (2026-12-03 CI), its status listed task 0 RUNNING before task 1.
"""

from __future__ import annotations

from typing import Any

import pytest

from providers import connector
from providers.connector import FAILED_CONFIRM_SECONDS, POLL_SECONDS, ConnectorStateError, _converge
from tests.unit.test_rest_client import ScriptedConnect, client, json_answer

NAME = "orders"
TOO_MANY = (
    "org.apache.kafka.connect.runtime.TooManyTasksException: The connector orders has generated 2 tasks, "
    "which is greater than 1, the maximum number of tasks it is configured to create."
)
# Enough answers of the stale failure to outlast the confirmation of a real one.
STALE_ANSWERS = int(2 * FAILED_CONFIRM_SECONDS / POLL_SECONDS)


def status(task_state: str, trace: str = "") -> dict[str, Any]:
    task = {"id": 0, "state": task_state, "worker_id": "w1"} | ({"trace": trace} if trace else {})
    return {"name": NAME, "connector": {"state": "RUNNING", "worker_id": "w1"}, "tasks": [task], "type": "source"}


def props() -> dict[str, Any]:
    return {
        "connector_name": NAME,
        "config": {"connector.class": "MirrorSourceConnector", "tasks.max": "1"},
        "state": "running",
        "source_file": "connectors/local/destination/source/orders.json",
        "connect": {"state_deadline_seconds": 30},
    }


def test_a_task_refused_for_the_old_task_count_is_waited_out_once_the_new_count_fits(
    connect: ScriptedConnect,
) -> None:
    stale = [json_answer(200, status("FAILED", TOO_MANY))] * STALE_ANSWERS
    connect.answers = [*stale, *[json_answer(200, status("RUNNING"))] * 3]
    with client(connect) as connect_client:
        outputs = _converge(connect_client, props(), expected_tasks=1)
    assert outputs["connector_state"] == "RUNNING" and outputs["tasks"][0]["state"] == "RUNNING"


def test_the_same_failure_fails_the_wait_when_the_new_task_count_is_not_known(connect: ScriptedConnect) -> None:
    connect.answers = [json_answer(200, status("FAILED", TOO_MANY))] * STALE_ANSWERS
    with client(connect) as connect_client, pytest.raises(ConnectorStateError, match="TooManyTasksException"):
        _converge(connect_client, props(), expected_tasks=None)


def test_any_other_task_failure_fails_the_wait_even_when_the_new_task_count_fits(connect: ScriptedConnect) -> None:
    connect.answers = [json_answer(200, status("FAILED", "org.apache.kafka.common.errors.RecordTooLargeException"))] * (
        STALE_ANSWERS
    )
    with client(connect) as connect_client, pytest.raises(ConnectorStateError, match="RecordTooLargeException"):
        _converge(connect_client, props(), expected_tasks=1)


def test_without_an_expected_count_every_task_config_must_be_listed_before_it_counts_as_running(
    connect: ScriptedConnect,
) -> None:
    two_tasks = {**props(), "config": {"connector.class": "MirrorSourceConnector", "tasks.max": "2"}}
    first_only = status("RUNNING")
    both = {**first_only, "tasks": [*first_only["tasks"], {"id": 1, "state": "RUNNING", "worker_id": "w2"}]}
    task_configs = [{"id": {"connector": NAME, "task": task}, "config": {}} for task in (0, 1)]
    connect.answers = [
        json_answer(200, first_only),
        json_answer(200, task_configs),
        json_answer(200, both),
        json_answer(200, task_configs),  # not asked: two tasks listed is tasks.max already
    ]
    with client(connect) as connect_client:
        outputs = _converge(connect_client, two_tasks, expected_tasks=None)
    assert outputs["task_count"] == 2
    assert [path for _, path, _ in connect.seen] == [
        f"/connectors/{NAME}/status",
        f"/connectors/{NAME}/tasks",
        f"/connectors/{NAME}/status",
    ]


def test_tasks_a_joining_worker_never_lists_are_given_up_on_after_the_grace_period(
    connect: ScriptedConnect, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connector, "TASKS_LISTED_GRACE_SECONDS", 1.0)
    three = {**props(), "config": {"connector.class": "MirrorSourceConnector", "tasks.max": "3"}}
    task_configs = [{"id": {"connector": NAME, "task": task}, "config": {}} for task in (0, 1, 2)]
    connect.answers = [
        answer for _ in range(4) for answer in (json_answer(200, status("RUNNING")), json_answer(200, task_configs))
    ]
    connect.answers += [json_answer(200, status("RUNNING"))] * 4
    with client(connect) as connect_client:
        outputs = _converge(connect_client, three, expected_tasks=None)
    assert outputs["task_count"] == 1


def test_a_task_that_could_not_reach_the_leader_is_waited_for_not_failed(connect: ScriptedConnect) -> None:
    unreachable = (
        "org.apache.kafka.connect.runtime.rest.errors.ConnectRestException: IO Error trying to forward REST "
        "request: java.net.SocketTimeoutException: Connect Timeout"
    )
    connect.answers = [json_answer(200, status("FAILED", unreachable))] * STALE_ANSWERS
    connect.answers += [json_answer(200, status("RUNNING"))] * 3
    with client(connect) as connect_client:
        outputs = _converge(connect_client, props(), expected_tasks=None)
    assert outputs["tasks"][0]["state"] == "RUNNING"
