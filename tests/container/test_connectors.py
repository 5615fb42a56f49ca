"""Connectors through the containers: the provider registers a tree over the REST port, records
mirror from the SASL/PLAIN source to the destination under the tree's names, and the metrics
endpoint serves every series the dashboard and the alert rules query.

One module-scoped flow, as in tests/integration/test_mirroring.py (whose helpers it reuses):
records and a consumer group on the source, then a source and a checkpoint connector from a tree
whose `_source.json` renames the topics.
"""

from __future__ import annotations

import re
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import promql_parser
import pytest

from components.monitoring import MonitoringAssets
from connect.connector_tree import ConnectorSpec
from connect.polling import poll_until
from localkafka import clients
from localkafka.connect_log import Request
from providers.connector import ConnectorProvider
from tests.container.conftest import Workers
from tests.integration.test_connector_lifecycle import engine_apply
from tests.integration.test_mirroring import PARTITIONS, RECORDS, Record, commit_group_offsets, produce, read_all
from tests.support import unique
from tests.unit.test_image import SCRAPE_METRICS, dashboard_expressions, promql_for_parsing
from workload import image_layout


@dataclass
class Flow:
    specs: list[ConnectorSpec]
    outputs: list[dict[str, Any]]
    # The writes the first apply made, as the containers logged them.
    first_writes: list[Request]
    renamed: tuple[str, str]
    sent: list[Record]


@pytest.fixture(scope="module")
def flow(workers: Workers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    state = workers.state
    topic, grouped, group = unique("orders"), unique("payments"), unique("billing")
    clients.create_topics(state, "source", {topic: PARTITIONS, grouped: 1})
    sent = produce(state, topic, 1)
    commit_group_offsets(state, grouped, group)
    specs = workers.connector_specs(
        tmp_path_factory.mktemp("project"),
        {
            "_source.json": {
                "config": {"replication.policy.topic.renames": f"{topic}:{topic}-replica,{grouped}:{grouped}-replica"}
            },
            "data.json": {
                "config": {
                    "connector.class": "MirrorSourceConnector",
                    "topics": f"{topic},{grouped}",
                    "tasks.max": 2,
                    # Frequent offset syncs, so that the checkpoint connector has offsets to translate.
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
    log, provider = workers.connect_log(), ConnectorProvider()
    mark = log.mark()
    outputs = [engine_apply(provider, None, workers.provider_props(spec)) for spec in specs]
    time.sleep(1)  # the worker logs a request just after answering it
    yield Flow(specs, outputs, log.writes_since(mark), (topic, f"{topic}-replica"), sent)
    for output in outputs:
        provider.delete(output["connector_name"], output)


def test_the_provider_registers_the_tree_through_the_rest_port(workers: Workers, flow: Flow) -> None:
    assert [output["connector_state"] for output in flow.outputs] == ["RUNNING", "RUNNING"]
    # One create per connector, counted in the containers' own request logs (the provider's
    # pre-flight cluster checks, PUT /mm2-eks/clusters/check, change nothing in Connect).
    creates = [(w.verb, w.path) for w in flow.first_writes if w.path.startswith("/connectors")]
    assert creates == [("POST", "/connectors")] * len(flow.specs), flow.first_writes
    # Tasks run on the pods, which advertise themselves at the pod IP (${env:POD_IP}).
    pod_ids = {f"{pod.ip}:{image_layout.REST_PORT}" for pod in workers.pods}
    task_workers = {task["worker_id"] for output in flow.outputs for task in output["tasks"]}
    assert task_workers and task_workers <= pod_ids, task_workers


def test_a_second_apply_writes_nothing(workers: Workers, flow: Flow) -> None:
    log, provider = workers.connect_log(), ConnectorProvider()
    mark = log.mark()
    again = [
        engine_apply(provider, output, workers.provider_props(spec))
        for spec, output in zip(flow.specs, flow.outputs, strict=True)
    ]
    time.sleep(1)
    assert again == flow.outputs
    assert log.writes_since(mark) == []
    assert log.connector_stops_since(mark) == []
    assert log.requests_since(mark), "the no-op apply should still have read the live connectors"


def test_records_arrive_byte_for_byte_under_the_renamed_topic(workers: Workers, flow: Flow) -> None:
    source_topic, destination_topic = flow.renamed
    arrived = read_all(workers.state, "destination", destination_topic, RECORDS)
    assert len(arrived) == RECORDS, f"{len(arrived)} of {RECORDS} records arrived on {destination_topic}"
    assert arrived == flow.sent, "keys, values, headers, timestamps or order differ"
    assert source_topic not in clients.topic_names(workers.state, "destination")


# --- Metrics --------------------------------------------------------------------------------------


def queried_metrics(workers: Workers) -> dict[str, str]:
    """{metric name: where it is queried} for every series the dashboard and the alert rules read."""
    # The rules as the program deploys them (its placeholder filled in), the dashboard's queries
    # with Grafana's interval variables replaced.
    rules = MonitoringAssets.load(Path(__file__).resolve().parents[2], workers.settings.monitoring).rules
    queries = [(f"alert {rule['alert']}", str(rule["expr"])) for group in rules["groups"] for rule in group["rules"]]
    queries += [(f"dashboard {where}", promql_for_parsing(expr)) for where, expr in dashboard_expressions()]
    names: dict[str, str] = {}
    for where, expr in queries:

        def visit(node: Any, where: str = where) -> bool:
            if isinstance(node, promql_parser.VectorSelector) and node.name:
                names.setdefault(node.name, where)
            return True

        promql_parser.walk(promql_parser.parse(expr), visit)
    # `up` is Prometheus' own series about the scrape, not the exporter's.
    return {name: where for name, where in names.items() if name not in SCRAPE_METRICS}


def scraped_names(url: str) -> set[str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return {match[1] for match in re.finditer(r"^([a-zA-Z_:][\w:]*)(?:\{[^}]*\})? \S+", text, re.MULTILINE)}


def test_the_metrics_endpoint_serves_every_series_the_dashboard_and_alerts_query(workers: Workers, flow: Flow) -> None:
    wanted = queried_metrics(workers)
    assert len(wanted) > 10, wanted

    def missing() -> dict[str, str]:
        served = set().union(*(scraped_names(pod.metrics_url) for pod in workers.pods))
        return {name: where for name, where in wanted.items() if name not in served}

    # Checkpoint latency appears once the checkpoint connector emitted its first checkpoints.
    left = poll_until(missing, lambda left: not left, timeout=120, interval=2, what="every queried metric")
    assert not left
