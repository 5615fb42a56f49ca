"""The `Connector` dynamic resource: one Kafka Connect connector, kept as its JSON file declares.

The provider is pickled into the Pulumi state and re-imported by the engine's dynamic-provider
host, so this module has no import-time side effects and the provider object holds no state: each
method reaches Connect through `providers.connect_access`, which also keeps what one host process
remembers between calls.

Inputs (all plain JSON):
    connector_name   the connector's name in Connect (changing it replaces the resource)
    config           the full config, string to string, as Connect stores it
    state            running | paused | stopped
    source_file      the JSON file it came from, for messages
    connect          how to reach Connect: {url}, {kubernetes: {namespace, selector, port}} or
                     {local_runtime: {dir, worker}}, plus username, timeout_seconds, deadline_seconds
    connect_password basic-auth password (a secret; also kept secret in the outputs), or ""
    kubeconfig       for port-forwarding to a worker pod (a secret), or ""
Outputs: the inputs plus connector_state, tasks [{id, state, worker_id}], task_count, worker_id.

Nothing is half-applied: a connector that fails while it is created is deleted again, so that
the state and Connect agree, and fixing the file and running `pulumi up` again creates it anew.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, cast

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)
from pulumi.runtime.rpc import UNKNOWN

from connect.cluster_check import ClusterUnreachable, unreachable_clusters
from connect.connector_defaults import CONNECTOR_CLASSES
from connect.connector_files import CONNECT_STATES, STATES
from connect.polling import PollTimeout, poll_until
from connect.rest import LEADER_FORWARD_FAILED, ConnectClient, ConnectError, ConnectorAlreadyExists, LiveConnector
from providers.connect_access import (
    LocalRuntimeGone,
    best_effort_client,
    connect_client,
    forget_listing,
    live_connectors,
)

INPUT_KEYS = ("connector_name", "config", "state", "source_file", "connect", "connect_password", "kubeconfig")
# Inputs that are secrets, kept secret in the outputs too.
SECRET_OUTPUTS = ["connect_password", "kubeconfig"]
POLL_SECONDS = 0.5
FAILED_CONFIRM_SECONDS = 3.0
HEALTHY_CONFIRM_SECONDS = 10.0
ZERO_TASKS_GRACE_SECONDS = 5.0
TASKS_LISTED_GRACE_SECONDS = 15.0
# What a worker raises when it starts a task while the connector has more task configs than tasks.max.
TOO_MANY_TASKS = "TooManyTasksException"
# Connect's validation reports a value it could not parse a second time as "Invalid value null".
_FOLLOW_ON_ERROR = "Invalid value null"


class ConnectorStateError(Exception):
    """The connector did not reach its declared state; the message carries Connect's task trace."""


def normalise(config: Mapping[str, Any] | None) -> dict[str, str]:
    """A config as Connect returns it, reduced to what the files declare.

    Connect returns every value as a string and adds `name` and `__internal.*` keys: comparing
    without this would show a change on every preview and restart connectors for nothing.
    """
    if not config:
        return {}
    result = {}
    for key, value in config.items():
        if key == "name" or key.startswith("__internal"):
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        result[str(key)] = str(value)
    return result


def changed_keys(desired: Mapping[str, str], live: Mapping[str, str]) -> list[str]:
    return sorted(key for key in set(desired) | set(live) if desired.get(key) != live.get(key))


class ConnectorProvider(ResourceProvider):
    # --- check: catch bad input before anything is written ------------------------------------

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        where = news.get("source_file") or news.get("connector_name") or "connector"
        config = news.get("config")
        if not isinstance(news.get("connector_name"), str) or not news.get("connector_name"):
            failures.append(CheckFailure("", f"{where}: connector_name must be a non-empty string"))
        if news.get("state") not in (*STATES, UNKNOWN):
            failures.append(
                CheckFailure("", f"{where}: state must be one of {', '.join(STATES)}, got {news.get('state')!r}")
            )
        if not isinstance(config, dict):
            failures.append(CheckFailure("", f"{where}: config must be an object of strings"))
        else:
            bad = sorted(key for key, value in config.items() if not isinstance(value, str))
            if bad:
                failures.append(CheckFailure("", f"{where}: config values must be strings: {bad}"))
            connector_class = config.get("connector.class")
            if connector_class not in (*CONNECTOR_CLASSES, UNKNOWN):
                failures.append(CheckFailure("", f"{where}: unknown connector.class {connector_class!r}"))
            # An unchanged config was validated when it was applied: no need to ask Connect again.
            unchanged = isinstance(olds.get("config"), dict) and not changed_keys(
                normalise(olds["config"]), normalise(config)
            )
            if not failures and not unchanged and not _has_unknowns(news):
                failures += _validate_with_connect(news, where)
                failures += [] if failures else _unreachable_clusters(news, where)
        return CheckResult(news, failures)

    # --- diff: compare string maps; consult the live connector when nothing was edited --------

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        if olds.get("connector_name") != news.get("connector_name"):
            return DiffResult(changes=True, replaces=["connector_name"], delete_before_replace=True)
        if _has_unknowns(news):
            return DiffResult(changes=True)
        edited = [key for key in INPUT_KEYS if key != "config" and olds.get(key) != news.get(key)]
        if changed_keys(normalise(news.get("config")), normalise(olds.get("config"))):
            edited.append("config")
        if edited:
            return DiffResult(changes=True)
        # Nothing was edited: still converge if the connector drifted, vanished or has failed tasks,
        # so that `pulumi up` repairs what someone changed by hand even without a refresh.
        return DiffResult(changes=_live_drift(news))

    # --- create, update, read, delete ----------------------------------------------------------

    def create(self, props: dict[str, Any]) -> CreateResult:
        with connect_client(props) as client:
            # Again before writing: a preview may have run before the workers could be reached.
            unreachable = _unreachable_clusters(props, props["source_file"], client)
            if unreachable:
                raise ClusterUnreachable("\n".join(failure.reason for failure in unreachable))
            try:
                _create_or_adopt(client, props)
                outputs = _converge(client, props)
            except ConnectorStateError as error:
                # Not in the state if create fails: remove it from Connect too, or it is orphaned.
                client.delete_connector(props["connector_name"])
                raise ConnectorStateError(
                    f"{error}\n(the connector was deleted again, so nothing is left half-applied; "
                    "fix the file and run `pulumi up` again)"
                ) from None
            finally:
                forget_listing(props)
        return CreateResult(id_=props["connector_name"], outs=outputs)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        name = news["connector_name"]
        desired = normalise(news["config"])
        expected_tasks = None
        with connect_client(news) as client:
            try:
                live = client.connector_config(name)
                if live is None:  # deleted out of band
                    _create_or_adopt(client, news)
                else:
                    written = bool(changed_keys(desired, normalise(live)))
                    if written:
                        client.put_connector_config(name, desired)
                    # State first: a paused or stopped connector makes no new task configs until it runs.
                    _apply_state(client, name, news["state"])
                    if written and news["state"] == "running":
                        removed = set(normalise(live)) - set(desired)
                        expected_tasks = _wait_for_task_configs(client, news, removed)
                outputs = _converge(client, news, expected_tasks)
            finally:
                forget_listing(news)
        return UpdateResult(outs=outputs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        name = props.get("connector_name") or id_
        with connect_client(props) as client:
            live = live_connectors(client, props).get(name)
            if live is None:
                # Dropping a resource from the state is not undone by the next up: make sure the
                # answer did not come from a worker (behind a load balancer) that is still joining.
                client.wait_until_ready()
                live = live_connectors(client, props, fresh=True).get(name)
        if live is None:
            return ReadResult(id_=None, outs={})  # deleted out of band: gone from the state
        outputs = {
            **_inputs(props),
            "config": normalise(live.config),
            "state": _declared_state(live.status),
            **_status_outputs(live.status),
        }
        return ReadResult(id_=id_, outs=outputs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        try:
            with connect_client(props) as client:
                client.delete_connector(props.get("connector_name") or id_)
        except LocalRuntimeGone:
            return  # the local runtime and everything in it were removed: nothing left to delete
        finally:
            forget_listing(props)


class Connector(Resource):
    """One connector file, registered through the Kafka Connect REST API."""

    connector_state: pulumi.Output[str]
    task_count: pulumi.Output[int]
    tasks: pulumi.Output[list[dict[str, Any]]]
    worker_id: pulumi.Output[str]

    def __init__(
        self, resource_name: str, props: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        secrets = pulumi.ResourceOptions(additional_secret_outputs=SECRET_OUTPUTS)
        outputs = {"connector_state": None, "task_count": None, "tasks": None, "worker_id": None}
        super().__init__(
            ConnectorProvider(), resource_name, {**props, **outputs}, pulumi.ResourceOptions.merge(opts, secrets)
        )


# --- Helpers: every one builds what it needs from the props it is given ---------------------


def _validate_with_connect(news: Mapping[str, Any], where: str) -> list[CheckFailure]:
    """Connect's own per-key validation, when the worker can be reached; silent when it cannot.

    One message per key, `file: config.key: message`: Connect adds a second, confusing error
    ("Invalid value null") for a value it could not parse, which is left out.
    """
    config = normalise(news["config"])
    try:
        with best_effort_client(news) as client:
            result = client.validate(config["connector.class"], {**config, "name": news["connector_name"]})
    except ConnectError:
        return []  # unreachable (a preview without access): the program warns; create/update report it
    failures = []
    for entry in result.get("configs", []):
        value = entry.get("value", {})
        errors = [error for error in value.get("errors", []) if not str(error).startswith(_FOLLOW_ON_ERROR)]
        errors = errors or value.get("errors", [])
        if errors:
            failures.append(CheckFailure("", f"{where}: config.{value.get('name', '?')}: {errors[0]}"))
    return failures


def _unreachable_clusters(
    props: Mapping[str, Any], where: str, client: ConnectClient | None = None
) -> list[CheckFailure]:
    """The pre-flight check: can a worker reach the connector's clusters with its settings?

    Run by a worker (connect/cluster_check.py) so that a wrong password, truststore, client
    certificate or address fails here with its cause, not as a task FAILED minutes later. Silent
    when Connect cannot be reached, like Connect's validation.
    """
    config = normalise(props["config"])
    try:
        if client is not None:
            problems = unreachable_clusters(client, config, where)
        else:
            with best_effort_client(props) as reachable:
                problems = unreachable_clusters(reachable, config, where)
    except ConnectError:
        return []
    return [CheckFailure("", problem) for problem in problems]


def _live_drift(props: Mapping[str, Any]) -> bool:
    """Whether the live connector differs from the declared one (config, state, failed tasks)."""
    try:
        with best_effort_client(props) as client:
            live: LiveConnector | None = live_connectors(client, props).get(props["connector_name"])
    except ConnectError:
        return False  # unreachable during a preview: nothing to compare with
    if live is None or changed_keys(normalise(props["config"]), normalise(live.config)):
        return True
    tasks_failed = any(task.get("state") == "FAILED" for task in live.status.get("tasks", []))
    return tasks_failed or live.status["connector"]["state"] != CONNECT_STATES[props["state"]]


def connect_validation_skipped(props: Mapping[str, Any]) -> str | None:
    """Why Connect's validation cannot run now (unreachable), or None when it can: for a preview warning."""
    try:
        with best_effort_client(props) as client:
            client.server_info()
    except ConnectError as error:
        return str(error)
    return None


def _apply_state(client: ConnectClient, name: str, state: str) -> None:
    """Pause, stop or resume only when the connector is settled in another state."""
    status = _settled_status(client, name)
    live_state = status["connector"]["state"] if status else None
    if live_state in CONNECT_STATES.values() and live_state != CONNECT_STATES[state]:
        client.set_state(name, state)
    if status and state == "running" and any(task.get("state") == "FAILED" for task in status.get("tasks", [])):
        client.restart_failed(name)


def _settled_status(client: ConnectClient, name: str, seconds: float = 30.0) -> dict[str, Any] | None:
    """The status once the connector is assigned: a just-created one is briefly UNASSIGNED or absent.

    Still unassigned after `seconds`: the last status seen, for the caller to act on what is.
    """
    try:
        return poll_until(
            lambda: client.connector_status(name),
            lambda status: status is not None and status["connector"]["state"] != "UNASSIGNED",
            timeout=seconds,
            interval=POLL_SECONDS,
            what=f"connector {name!r} to be assigned to a worker",
        )
    except PollTimeout as timeout:
        return cast(dict[str, Any] | None, timeout.last_value)


def _converge(client: ConnectClient, props: Mapping[str, Any], expected_tasks: int | None = None) -> dict[str, Any]:
    """Wait until the connector and its tasks reach the declared state; return all outputs.

    A failure counts once it has lasted a few seconds: right after a restart Connect can still
    report the old one. The workers restart failed tasks themselves (the restart supervisor), so a
    task that keeps failing flaps between FAILED and RUNNING: once seen failing, the connector must
    run healthy for HEALTHY_CONFIRM_SECONDS before it counts as RUNNING, and a failure seen again
    FAILED_CONFIRM_SECONDS after the first one fails the call. Zero tasks count as settled only
    after a grace period, because a new connector starts its tasks a moment after it reports RUNNING.
    Without an expected task count, the tasks listed must be as many as the task configs, for up to
    TASKS_LISTED_GRACE_SECONDS.
    """
    name, state = props["connector_name"], props["state"]
    wanted = CONNECT_STATES[state]
    limit = float(props["connect"].get("state_deadline_seconds", 300))
    started = time.monotonic()
    tasks_max = int(normalise(props["config"]).get("tasks.max", "1"))
    failing_since: float | None = None  # when a failure was first seen (None: none, or healed)
    healthy_since: float | None = None  # when the connector last stopped showing a failure
    # The new task configs are known to fit tasks.max: a task that a worker refused because the old
    # ones did not (TooManyTasksException) is restarted with the new set, however slowly that comes.
    task_count_check_stale = expected_tasks is not None and expected_tasks <= tasks_max

    def reached(status: dict[str, Any] | None) -> bool:
        nonlocal failing_since, healthy_since
        if status is None:
            return False
        now = time.monotonic()
        # A task numbered at or above tasks.max belongs to a generation before tasks.max went down: Connect
        # removes it with the new task set, and its status (often FAILED with TooManyTasksException) is stale.
        tasks = [task for task in status.get("tasks", []) if int(task.get("id", 0)) < tasks_max]
        failed = status["connector"]["state"] == "FAILED" or any(
            _task_failed(task, task_count_check_stale) for task in tasks
        )
        if failed:
            failing_since, healthy_since = failing_since or now, None
            if now - failing_since >= FAILED_CONFIRM_SECONDS:
                raise ConnectorStateError(_failure_message(props, status))
        elif failing_since is not None:
            healthy_since = healthy_since or now
            if now - healthy_since >= HEALTHY_CONFIRM_SECONDS:
                failing_since = None  # a transient failure, restarted and healed
        if failing_since is not None:
            return False
        if expected_tasks is not None and state == "running":
            settled = len(tasks) == expected_tasks
        else:
            settled = bool(tasks) or state != "running" or now - started >= ZERO_TASKS_GRACE_SECONDS
        done = (
            not failed
            and status["connector"]["state"] == wanted
            and settled
            and all(task.get("state") == wanted for task in tasks)
        )
        # Each task reports its own status once it runs: the first may be RUNNING before the others
        # are listed at all, and only the task configs say how many there are. A worker that just
        # joined may never list some (its view of the status topic): after a grace period, what it
        # lists is taken as it is.
        unlisted_possible = expected_tasks is None and state == "running" and len(tasks) < tasks_max
        if done and unlisted_possible and now - started < TASKS_LISTED_GRACE_SECONDS:
            done = len(tasks) >= len(client.task_configs(name) or [])
        return done

    try:
        status = poll_until(
            lambda: client.connector_status(name),
            reached,
            timeout=limit,
            interval=POLL_SECONDS,
            what=f"connector {name!r} to reach {wanted}",
            describe=_describe_status,
        )
    except PollTimeout as timeout:
        raise ConnectorStateError(
            f"{props['source_file']}: connector {name!r} did not reach {wanted} within "
            f"{limit:.0f}s; last seen: {_describe_status(cast(dict[str, Any] | None, timeout.last_value))}"
        ) from None
    assert status is not None  # `reached` is false for a missing connector
    return {**_inputs(props), **_status_outputs(status)}


def _task_failed(task: Mapping[str, Any], task_count_check_stale: bool) -> bool:
    if task.get("state") != "FAILED":
        return False
    trace = str(task.get("trace", ""))
    if LEADER_FORWARD_FAILED in trace.lower():
        # Its start needed the group's leader (exactly-once fencing) while the leader was gone; the
        # workers' restart supervisor starts it again. Not RUNNING either: the wait goes on, to
        # the deadline if it never heals.
        return False
    return not (task_count_check_stale and TOO_MANY_TASKS in trace)


def _create_or_adopt(client: ConnectClient, props: Mapping[str, Any]) -> None:
    """Create the connector, or adopt one of that name whose config is the same (then apply its state).

    "Already exists" is expected after our own timed-out POST was retried, or when a worker still
    joining the group answered 404 for a connector that exists.
    """
    name = props["connector_name"]
    desired = normalise(props["config"])
    live = client.connector_config(name)
    if live is None:
        try:
            client.create_connector(name, desired, initial_state=props["state"])
            return
        except ConnectorAlreadyExists:
            live = client.connector_config(name)
            if live is None:
                raise
    differing = changed_keys(desired, normalise(live))
    if differing:
        raise ConnectError(
            "POST",
            "/connectors",
            409,
            f"a connector named {name!r} already exists with a different config "
            f"(keys {differing}); delete or rename it, or rename the file {props['source_file']}",
            name,
        )
    _apply_state(client, name, props["state"])


def _wait_for_task_configs(client: ConnectClient, props: Mapping[str, Any], removed: set[str]) -> int | None:
    """After a config write, wait for task configs generated from the new config; return their count.

    Until the connector has restarted and generated new task configs, the status still shows the
    old tasks RUNNING; MirrorMaker 2 copies the connector's config into each task's config, so a
    task is new when it has every desired value and none of the `removed` keys. An empty task list
    proves nothing (old and new configs alike may make no task): then the count is left open (None),
    as it is when the deadline passes (`_converge` then reports what it sees).
    """
    desired = normalise(props["config"])

    def new_or_empty(tasks: list[dict[str, Any]]) -> bool:
        return not tasks or all(_task_made_from(task.get("config", {}), desired, removed) for task in tasks)

    try:
        tasks = poll_until(
            lambda: client.task_configs(props["connector_name"]) or [],
            new_or_empty,
            timeout=float(props["connect"].get("state_deadline_seconds", 300)),
            interval=POLL_SECONDS,
            what=f"task configs of connector {props['connector_name']!r} made from the new config",
        )
    except PollTimeout:
        return None
    return len(tasks) or None


def _task_made_from(task_config: Mapping[str, str], desired: Mapping[str, str], removed: set[str]) -> bool:
    return not (removed & set(task_config)) and all(
        value == desired[key] for key, value in task_config.items() if key in desired
    )


def _failure_message(props: Mapping[str, Any], status: Mapping[str, Any]) -> str:
    name = props["connector_name"]
    parts = [f"{props['source_file']}: connector {name!r} failed"]
    connector = status["connector"]
    if connector.get("state") == "FAILED":
        parts.append(f"connector on {connector.get('worker_id')}: {_first_lines(connector.get('trace', ''))}")
    for task in status.get("tasks", []):
        if task.get("state") == "FAILED":
            parts.append(f"task {task['id']} on {task.get('worker_id')}: {_first_lines(task.get('trace', ''))}")
    return "\n".join(parts)


def _first_lines(trace: str, count: int = 12) -> str:
    return "\n    ".join(trace.strip().splitlines()[:count])


def _describe_status(status: Mapping[str, Any] | None) -> str:
    if status is None:
        return "connector not found"
    tasks = ", ".join(f"task {t['id']} {t['state']}" for t in status.get("tasks", [])) or "no tasks"
    return f"connector {status['connector']['state']}, {tasks}"


def _declared_state(status: Mapping[str, Any]) -> str:
    live = str(status["connector"]["state"])
    for declared, connect_state in CONNECT_STATES.items():
        if live == connect_state:
            return declared
    return live.lower()  # FAILED or UNASSIGNED: shows as a difference from the declared state


def _status_outputs(status: Mapping[str, Any]) -> dict[str, Any]:
    tasks = [
        {"id": task["id"], "state": task["state"], "worker_id": task.get("worker_id", "")}
        for task in status.get("tasks", [])
    ]
    return {
        "connector_state": status["connector"]["state"],
        "worker_id": status["connector"].get("worker_id", ""),
        "tasks": tasks,
        "task_count": len(tasks),
    }


def _inputs(props: Mapping[str, Any]) -> dict[str, Any]:
    return {key: props.get(key) for key in INPUT_KEYS}


def _has_unknowns(value: Any) -> bool:
    if value == UNKNOWN:
        return True
    if isinstance(value, Mapping):
        return any(_has_unknowns(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_unknowns(item) for item in value)
    return False
