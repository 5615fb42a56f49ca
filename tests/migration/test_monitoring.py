"""The dashboard and the alert rules against a real Prometheus scraping the local workers.

- `promtool test rules` runs monitoring/prometheus-rules.test.yaml, which has a test for every alert;
- a Prometheus (Debian's package) scrapes the runtime's workers while they mirror, checkpoint a
  group, fail a task and fall behind: every dashboard query and every alert expression returns
  series, and the lag alert and the failed-task alert fire under their real faults.
The faults: a connector with a typo in a consumer setting (`consumer.auto.offset.reset: sideways`:
its task fails at every start); a connector whose naming template lacks `${topic}` (the replication
policy refuses it at start: the connector fails); and a 400,000-record backlog mirrored by a task
whose producer the destination throttles to 20 KB/s (a client quota). The test's copy of the rules
waits 10 s instead of each `for:` (minutes), and looks back 1 minute for MirrorMakerNoRecords; the
expressions and thresholds are the file's own.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from connect.java_command import java_command
from connect.local_runtime import RuntimeState
from connect.polling import poll_until
from connect.rest import ConnectClient
from localkafka import clients
from localkafka.jars import ensure_jars
from localkafka.paths import REPO_ROOT
from localkafka.runtime import LocalRuntime
from tests.support import load_specs, unique, write_tree

RULES = REPO_ROOT / "monitoring" / "prometheus-rules.yaml"
RULE_TESTS = REPO_ROOT / "monitoring" / "prometheus-rules.test.yaml"
DASHBOARD = REPO_ROOT / "monitoring" / "grafana-dashboard.json"
NO_RECORDS_PLACEHOLDER = "${NO_RECORDS_MINUTES}"
PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
SCRAPE_SECONDS = 2
# The namespace and pod labels a PodMonitor would attach; the rules and panels aggregate by them.
TARGET_LABELS = {"namespace": "mm2-test", "pod": "connect-0"}
QUOTA_BYTES_PER_SECOND = 20_000
# Exactly-once mirroring commits a poll (4,000 records) once the destination has it: at 20 KB/s, one per half
# minute, while the consumer fetches ahead at most 4 MiB per partition (connect/connector_defaults.py).
BACKLOG_RECORDS = 400_000


def test_promtool_unit_tests_cover_every_alert(tmp_path: Path) -> None:
    alerts = {rule["alert"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]}
    tested = {test["name"] for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]}
    assert alerts == tested, f"alerts without a test: {sorted(alerts - tested)}; tests of no alert: {tested - alerts}"
    (tmp_path / "prometheus-rules.yaml").write_text(RULES.read_text().replace(NO_RECORDS_PLACEHOLDER, "10"))
    shutil.copy(RULE_TESTS, tmp_path)
    result = subprocess.run(
        [PROMTOOL, "test", "rules", RULE_TESTS.name], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.runtime
def test_dashboard_and_alerts_on_a_real_prometheus(migration_runtime: LocalRuntime, tmp_path: Path) -> None:
    state = migration_runtime.state()
    faults = Faults(state, tmp_path)
    with ConnectClient(migration_runtime.connect_endpoint()) as connect:
        faults.start(connect)
        try:
            with Prometheus(state, tmp_path) as api:
                for where, expr in _dashboard_queries() + _alert_signals():
                    _wait_for_series(api, where, expr)
                firing = poll_until(
                    api.firing,
                    lambda names: {"MirrorMakerTaskFailed", "MirrorMakerRecordsBehind"} <= names,
                    timeout=300,
                    interval=SCRAPE_SECONDS,
                    what="the failed-task and records-behind alerts to fire",
                )
                assert "MirrorMakerWorkerDown" not in firing
        finally:
            faults.stop(connect)


def _wait_for_series(api: PrometheusApi, where: str, expr: str) -> None:
    poll_until(
        lambda: api.query(expr),
        timeout=240,
        interval=SCRAPE_SECONDS,
        what=f"{where} to return series: {expr}",
        describe=lambda series: f"{len(series)} series",
    )


# --- The faults ----------------------------------------------------------------------------------------


class Faults:
    """Traffic, a checkpointed group, a task and a connector that fail, and a mirror throttled by the destination."""

    def __init__(self, state: RuntimeState, tmp_path: Path) -> None:
        self.state, self.tmp_path = state, tmp_path
        prefix = unique("monitoring")
        self.live, self.backlog, self.group = (f"{prefix}-{n}" for n in ("live", "backlog", "reader"))
        self.typo = f"{prefix}-typo"
        self.names: list[str] = []
        self._stop = threading.Event()
        self._traffic = threading.Thread(target=self._live_traffic, daemon=True)
        root = write_tree(
            tmp_path / "connectors",
            {
                f"{self.live}.json": {"config": {"connector.class": "MirrorSourceConnector", "topics": self.live}},
                f"{prefix}-checkpoints.json": {
                    "config": {
                        "connector.class": "MirrorCheckpointConnector",
                        "groups": self.group,
                        "refresh.groups.interval.seconds": 5,
                        "emit.checkpoints.interval.seconds": 2,
                    }
                },
                # A typo in a consumer setting: every start of the task fails building its consumer.
                f"{self.typo}.json": {
                    "config": {
                        "connector.class": "MirrorSourceConnector",
                        "topics": self.typo,
                        "consumer.auto.offset.reset": "sideways",
                    }
                },
                # One task, so that its producer's client id (connector-producer-<name>-0) can be throttled.
                f"{self.backlog}.json": {
                    "config": {"connector.class": "MirrorSourceConnector", "topics": self.backlog, "tasks.max": 1}
                },
            },
        )
        self.throttled = f"connector-producer-{self.backlog}-0"
        # A naming template without ${topic}: the replication policy refuses it when the connector starts. Its own
        # tree: connectors of one source folder must share one policy.
        broken_policy = write_tree(
            tmp_path / "broken-policy",
            {
                f"{prefix}-misnamed.json": {
                    "config": {
                        "connector.class": "MirrorSourceConnector",
                        "topics": self.live,
                        "replication.policy.topic.template": "mirrored",
                    }
                }
            },
        )
        self.specs = load_specs(state, root) + load_specs(state, broken_policy)

    def start(self, connect: ConnectClient) -> None:
        clients.create_topics(self.state, "source", {self.live: 3, self.backlog: 3, self.typo: 1})
        producer = clients.producer(self.state, "source", **{"queue.buffering.max.messages": BACKLOG_RECORDS})
        for index in range(BACKLOG_RECORDS):
            producer.produce(self.backlog, value=b"b" * 100, partition=index % 3)
            if index % 1_000 == 0:
                producer.poll(0)
        assert producer.flush(120) == 0
        self._quota(f"producer_byte_rate={QUOTA_BYTES_PER_SECOND}", add=True)
        for spec in self.specs:
            connect.create_connector(spec.name, spec.config)
            self.names.append(spec.name)
        self._traffic.start()

    def stop(self, connect: ConnectClient) -> None:
        self._stop.set()
        self._traffic.join(60)
        for name in self.names:
            connect.delete_connector(name)
        self._quota("producer_byte_rate", add=False)

    def _live_traffic(self) -> None:
        """Records to mirror, and a group that reads and commits them (the checkpoint connector's work)."""
        producer = clients.producer(self.state, "source")
        consumer = clients.consumer(self.state, "source", self.group)
        consumer.subscribe([self.live])
        index = 0
        while not self._stop.is_set():
            for _ in range(50):
                producer.produce(self.live, value=b"live", partition=index % 3)
                index += 1
            producer.poll(0)
            if consumer.consume(num_messages=1000, timeout=0.5):
                consumer.commit(asynchronous=False)
        producer.flush(30)
        consumer.close()

    def _quota(self, setting: str, add: bool) -> None:
        """A quota on the destination for the backlog task's producer, with Kafka's own tool: the destination
        accepts its records at 20 KB/s, and exactly-once mirroring commits each batch only once it is written."""
        action = ["--add-config", setting] if add else ["--delete-config", setting]
        command = java_command(
            ensure_jars().java,
            "kafka.admin.ConfigCommand",
            "--bootstrap-server",
            self.state.brokers["destination"].bootstrap_servers,
            "--alter",
            *action,
            "--entity-type",
            "clients",
            "--entity-name",
            self.throttled,
        )
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr


# --- Prometheus ------------------------------------------------------------------------------------------


class PrometheusApi:
    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, expr: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=30)
        body = response.json()
        assert body.get("status") == "success", f"{expr}: {body}"
        return list(body["data"]["result"])

    def firing(self) -> set[str]:
        alerts = httpx.get(f"{self.url}/api/v1/alerts", timeout=30).json()["data"]["alerts"]
        return {alert["labels"]["alertname"] for alert in alerts if alert["state"] == "firing"}


class Prometheus:
    """Prometheus on a free loopback port, scraping every worker's metrics endpoint, with the test's rules."""

    def __init__(self, state: RuntimeState, tmp_path: Path) -> None:
        self.state, self.folder = state, tmp_path / "prometheus"

    def __enter__(self) -> PrometheusApi:
        self.folder.mkdir()
        rules = self.folder / "rules.yaml"
        rules.write_text(_test_rules())
        targets = [worker.metrics_url.removeprefix("http://").removesuffix("/metrics") for worker in self.state.workers]
        config = {
            "global": {"scrape_interval": f"{SCRAPE_SECONDS}s", "evaluation_interval": f"{SCRAPE_SECONDS}s"},
            "rule_files": [str(rules)],
            "scrape_configs": [
                {
                    "job_name": "mm2-test/connect",
                    "scrape_timeout": f"{SCRAPE_SECONDS}s",
                    "static_configs": [{"targets": targets, "labels": TARGET_LABELS}],
                }
            ],
        }
        (self.folder / "prometheus.yml").write_text(yaml.safe_dump(config))
        port = _free_port()
        self.process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={self.folder / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(self.folder / "prometheus.log").open("w"),
        )
        url = f"http://127.0.0.1:{port}"
        poll_until(lambda: _ready(url, self.process), timeout=60, what=f"Prometheus at {url} to be ready")
        return PrometheusApi(url)

    def __exit__(self, *_: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def _ready(url: str, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        raise RuntimeError(f"Prometheus exited with {process.returncode}")
    try:
        return httpx.get(f"{url}/-/ready", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _test_rules() -> str:
    """The rules file, each `for:` shortened to 10 s and the no-records window to 1 minute: nothing else changes."""
    text = RULES.read_text().replace(NO_RECORDS_PLACEHOLDER, "1")
    return re.sub(r"(?m)^(\s+for:\s*)\S+$", r"\g<1>10s", text)


# --- What must return series --------------------------------------------------------------------------------


def _dashboard_queries() -> list[tuple[str, str]]:
    """Every panel query of the dashboard, its variables set to "all" as Grafana sends them."""
    queries = []
    for panel in _panels(json.loads(DASHBOARD.read_text())["panels"]):
        for target in panel.get("targets", []):
            expr = re.sub(r"\$\{?(namespace|source|topic)\}?", ".*", target["expr"])
            expr = expr.replace("$__rate_interval", "1m")
            queries.append((f"panel {panel['title']!r}", _signal(expr)))
    return queries


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from panel.get("panels", [])


def _alert_signals() -> list[tuple[str, str]]:
    rules = yaml.safe_load(_test_rules())
    return [(f"alert {rule['alert']}", _signal(rule["expr"])) for group in rules["groups"] for rule in group["rules"]]


def _signal(expr: str) -> str:
    """The expression without its threshold: what it compares must exist (the comparison holds only under a fault)."""
    return re.sub(r"\s*(==|!=|>=|<=|>|<)\s*[0-9.]+(?=\s*($|\n|and\b|or\b|unless\b))", "", expr.strip())
