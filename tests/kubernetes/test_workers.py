"""The program's workload on a real cluster: `pulumi up` of a `kubernetes` stack with the real Pulumi
Kubernetes provider, the image from `make image` loaded into the node, the connectors registered
through the port-forward with a deploy identity that may only list pods and port-forward.

The tests run in order, as one operator's day on the stack: deploy, re-apply, mirror, refresh,
roll the workers with a config change, lose a pod, try a deploy identity without port-forward,
destroy. The Kafka clusters run on the host at the node's address (the local runtime with
`broker_host`), which the pods reach over the cluster's bridge; nothing else is reached.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import TopicPartition
from kubernetes.client.exceptions import ApiException

from connect.local_runtime import LocalCredentials, RuntimeState
from connect.polling import poll_until
from connect.port_forward import forwarded_url
from connect.rest import ConnectClient, ConnectEndpoint
from harness.project_copy import Project, copy_project
from localkafka import clients
from localkafka.connect_log import REQUEST, Request
from localkafka.paths import REPO_ROOT
from localkafka.runtime import LocalRuntime
from localkube.cluster import LocalKube
from localkube.identity import write_deploy_kubeconfig
from localkube.state import KubeCluster
from mm2ctl.cli import main as mm2ctl_main
from tests.faults.streams import Outcome, SequenceProducer, arrival, record_outcome
from workload import image_layout
from workload.kubernetes import WorkerNames

pytestmark = pytest.mark.runtime

STACK = "kube"
NAMESPACE = "mirrormaker2"
GROUP = "mm2-local"  # group_id of env "local"
IMAGE_ARCHIVE = REPO_ROOT / ".cache" / "image" / "mm2-eks.oci.tar"
IMAGE = "localhost/mm2-eks:dev"
CONNECTORS = {"checkpoints", "events", "heartbeats", "orders", "streams"}
PARTITIONS = 4
# Topics of the fault streams, mirrored by the `streams` connector the fixture adds to the tree.
STREAM_TOPICS = ("stream-roll", "stream-kill")
SELECTOR = WorkerNames(NAMESPACE, GROUP).selector


@dataclass
class Deployment:
    """The deployed stack and what the tests need to look at it."""

    project: Project
    kafka: RuntimeState
    cluster: KubeCluster
    core: Any
    password: str
    deployer: Path
    marks: dict[str, int] = field(default_factory=dict)

    def worker_pods(self) -> list[Any]:
        pods = self.core.list_namespaced_pod(NAMESPACE, label_selector=SELECTOR, _request_timeout=30).items
        return sorted(pods, key=lambda pod: pod.metadata.name)

    def ready_pods(self) -> list[str]:
        return [pod.metadata.name for pod in self.worker_pods() if _ready(pod) and not pod.metadata.deletion_timestamp]

    def client(self, deadline_seconds: float = 60) -> ConnectClient:
        url = forwarded_url(self.deployer.read_text(), NAMESPACE, SELECTOR, image_layout.REST_PORT)
        return ConnectClient(ConnectEndpoint(url, "mm2-admin", self.password, deadline_seconds=deadline_seconds))

    def mark(self) -> None:
        """Remember how far each worker pod's log goes, to count the requests made after this."""
        self.marks = {pod.metadata.name: len(self._log(pod.metadata.name)) for pod in self.worker_pods()}

    def writes_since_mark(self) -> list[Request]:
        found = []
        for pod in self.worker_pods():
            text = self._log(pod.metadata.name)[self.marks.get(pod.metadata.name, 0) :]
            found += [Request.of(m) for m in REQUEST.finditer(text)]
        return [request for request in found if request.is_write and request.path.startswith("/connectors")]

    def _log(self, pod: str) -> str:
        return str(self.core.read_namespaced_pod_log(pod, NAMESPACE, _request_timeout=30))


def _ready(pod: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))


def stack_config(kafka: RuntimeState) -> dict[str, Any]:
    """A stack like staging, on the `kubernetes` platform, pointed at the Kafka on the node's address."""
    return {
        "mm2-eks:platform": "kubernetes",
        "mm2-eks:env": "local",
        "mm2-eks:image": {"reference": IMAGE, "pullPolicy": "Never"},
        "mm2-eks:destination": {
            "name": "destination",
            "bootstrapServers": kafka.brokers["destination"].bootstrap_servers,
            "auth": {"mode": "plaintext"},
            "replicationFactor": 1,
        },
        "mm2-eks:sources": {
            "source": {
                "bootstrapServers": kafka.brokers["source"].bootstrap_servers,
                "auth": {"mode": "plain", "tls": False},
            }
        },
        "mm2-eks:connect": {
            "replicas": 2,
            # One node: both workers share it (the default, required, would leave one Pending).
            "workerAntiAffinity": "preferred",
            # The namespace is made beforehand, with the deploy identity's Role in it.
            "createNamespace": False,
            "cpuRequest": "250m",
            "memoryRequest": "1536Mi",
            "memoryLimit": "1536Mi",
            "rebalanceDelayMs": 10000,
            "connectorDeadlineSeconds": 300,
        },
    }


@pytest.fixture(scope="module")
def deployment(
    kube: LocalKube, cluster: KubeCluster, core: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    assert IMAGE_ARCHIVE.exists(), f"{IMAGE_ARCHIVE} is missing: `make image` builds it (make test runs it first)"
    assert IMAGE in kube.load_image(IMAGE_ARCHIVE)
    runtime = LocalRuntime(tmp_path_factory.mktemp("kube-kafka") / "runtime", broker_host=cluster.node_ip)
    kafka = runtime.up(workers=0)
    folder = tmp_path_factory.mktemp("kube-stack")
    try:
        project = copy_project(runtime, folder / "project", STACK, config=stack_config(kafka))
        clients.create_topics(kafka, "source", dict.fromkeys(STREAM_TOPICS, PARTITIONS))
        streams = {
            "config": {"connector.class": "MirrorSourceConnector", "topics": "stream-.*", "tasks.max": PARTITIONS}
        }
        (project.source_folder / "streams.json").write_text(json.dumps(streams))
        project.cli.install_kubernetes_plugin()
        core.create_namespace({"metadata": {"name": NAMESPACE}})
        deployer = write_deploy_kubeconfig(cluster, NAMESPACE, folder / "deployer.kubeconfig", create_namespace=False)
        password = uuid.uuid4().hex
        source = LocalCredentials.load(kafka.secrets_dir).source
        secrets = {
            "kubeconfig": cluster.kubeconfig_text(),
            "registrationKubeconfig": deployer.read_text(),
            "connectPassword": password,
        }
        for key, value in secrets.items():
            project.cli.set_secret(STACK, f"mm2-eks:{key}", value)
        credentials = {"source": {"username": source.username, "password": source.password}}
        project.cli.set_secret(STACK, "mm2-eks:credentials", json.dumps(credentials))
        yield Deployment(project, kafka, cluster, core, password, deployer)
    finally:
        if "project" in locals():
            project.cli.run("destroy", "--stack", STACK, "--yes", check=False)
        core.delete_namespace(NAMESPACE, grace_period_seconds=0)
        runtime.down()


def test_up_rolls_out_the_workers_and_registers_through_the_port_forward(deployment: Deployment) -> None:
    output = deployment.project.up(STACK)
    assert "created" in output, output
    ready = deployment.ready_pods()
    assert len(ready) == 2, f"expected 2 Ready worker pods, got {ready}"
    # Ready means the Deployment's own readiness probe passed: an authenticated GET /health.
    for pod in deployment.worker_pods():
        [container] = pod.spec.containers
        assert container.readiness_probe._exec.command == [image_layout.HEALTHCHECK]
        assert container.image == IMAGE and pod.spec.node_name == deployment.cluster.node_name
    states = deployment.project.cli.outputs(STACK)["connectorNames"]
    assert set(states) == CONNECTORS
    with deployment.client() as client:
        statuses = {
            name: (client.connector_status(name) or {}).get("connector", {}).get("state") for name in CONNECTORS
        }
    assert statuses == dict.fromkeys(CONNECTORS, "RUNNING")


def test_second_up_changes_nothing_and_writes_nothing(deployment: Deployment) -> None:
    deployment.mark()
    output = deployment.project.up(STACK)
    assert "created" not in output and "updated" not in output and "deleted" not in output, output
    assert deployment.writes_since_mark() == []


def test_records_mirror_through_the_pods_renamed_as_the_tree_says(deployment: Deployment) -> None:
    kafka = deployment.kafka  # a runtime of its own: these are the only records of `orders`
    producer = clients.producer(kafka, "source")
    for index in range(200):
        producer.produce("orders", key=f"k{index}".encode(), value=f"order {index}".encode())
    assert producer.flush(30) == 0
    # connectors/local/destination/source/_source.json renames orders to orders-replica.
    consumer = clients.consumer(kafka, "destination", f"kube-check-{uuid.uuid4().hex[:6]}")
    try:
        records = clients.consume(consumer, ["orders-replica"], 200, timeout=180)
    finally:
        consumer.close()
    values = sorted(bytes(record.value() or b"") for record in records)
    assert values == sorted(f"order {index}".encode() for index in range(200))


def test_mm2ctl_status_reads_the_stack_through_the_kubernetes_api(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mm2ctl status` on a kubernetes stack: Connect and the metrics through port-forwards, the clusters'
    offsets through the offsets tool executed inside a worker pod, the REST password from the stack."""
    project = deployment.project
    for key, value in project.cli.env().items():  # the Pulumi CLI and passphrase that `pulumi up` used
        monkeypatch.setenv(key, value)
    argv = ["status", "--stack", STACK, "--json", "--kubeconfig", str(deployment.cluster.kubeconfig)]

    def status() -> dict[str, Any]:
        capsys.readouterr()
        exit_status = mm2ctl_main(argv, project_root=project.directory)
        document = dict(json.loads(capsys.readouterr().out))
        assert document["exitStatus"] == exit_status
        return document

    # Caught up once the connector has committed the offsets of the 200 records of `orders`.
    document = poll_until(
        status, lambda d: d["exitStatus"] == 0, timeout=180, interval=5, what="mm2ctl status 0", describe=_verdict
    )
    report = document["report"]
    orders = [row for row in report["partitions"] if row["topic"] == "orders"]
    assert orders and {row["destination_topic"] for row in orders} == {"orders-replica"}
    assert sum(row["end"] for row in orders) == 200 and sum(row["behind"] + row["lost"] for row in orders) == 0
    assert sum(row["destination_end"] for row in orders) >= 200  # exactly-once markers are offsets too
    assert {row["name"]: row["state"] for row in report["connectors"]} == dict.fromkeys(CONNECTORS, "RUNNING")


def _verdict(document: dict[str, Any]) -> str:
    return str(document.get("verdict"))


def test_refresh_sees_an_out_of_band_change(deployment: Deployment) -> None:
    with deployment.client() as client:
        live = client.connector_config("events") or {}
        client.put_connector_config("events", {**live, "tasks.max": "1"})
    refreshed = deployment.project.cli.run("refresh", "--stack", STACK, "--yes", "--diff").stdout
    assert "events" in refreshed and "tasks.max" in refreshed, refreshed
    deployment.project.up(STACK)
    with deployment.client() as client:
        assert (client.connector_config("events") or {})["tasks.max"] == "4"


def _mirrored(deployment: Deployment, topic: str) -> int:
    """Offsets on the destination copy of `topic` (the tree's template names it source-<topic>)."""
    consumer = clients.consumer(deployment.kafka, "destination", f"probe-{uuid.uuid4().hex[:6]}")
    try:
        metadata = clients.admin(deployment.kafka, "destination").list_topics(timeout=10).topics
        if f"source-{topic}" not in metadata:
            return 0
        return sum(
            consumer.get_watermark_offsets(TopicPartition(f"source-{topic}", p), timeout=10)[1]
            for p in metadata[f"source-{topic}"].partitions
        )
    finally:
        consumer.close()


def _stream(deployment: Deployment, topic: str) -> SequenceProducer:
    """A paced stream into `topic`, returned once the first of it has been mirrored."""
    start = max(0, _mirrored(deployment, topic))
    stream = SequenceProducer(deployment.kafka, topic, None, PARTITIONS, rate=2000)
    stream.start()
    poll_until(lambda: _mirrored(deployment, topic) > start, timeout=300, interval=2, what=f"{topic} to be mirrored")
    return stream


def test_a_worker_setting_rolls_the_workers_one_at_a_time_losing_nothing(deployment: Deployment) -> None:
    topic = "stream-roll"
    stream = _stream(deployment, topic)
    before = {pod.metadata.name for pod in deployment.worker_pods()}
    ready_counts: list[int] = []
    evictions: list[int] = []  # HTTP status of evicting the last Ready worker during the roll
    logs: dict[str, str] = {}  # each worker pod's log as last read: the old pods' go with them
    watching = threading.Event()

    def watch() -> None:
        while not watching.is_set():
            ready = deployment.ready_pods()
            ready_counts.append(len(ready))
            if len(ready) == 1 and not evictions:
                evictions.append(_evict(deployment, ready[0]))
            if len(ready_counts) % 3 == 0:
                _keep_logs(deployment, logs)
            time.sleep(1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    deployment.project.set_config(
        STACK, "connect", {**stack_config(deployment.kafka)["mm2-eks:connect"], "rebalanceDelayMs": 15000}
    )
    started = time.monotonic()
    output = deployment.project.up(STACK)
    rolled_seconds = time.monotonic() - started
    watching.set()
    watcher.join(10)
    produced = stream.stop()
    assert stream.error is None, stream.error
    assert "updated" in output, output
    # The rollout is done when the new pods are Ready; an old one may still be terminating (grace 60 s).
    after = poll_until(
        lambda: {pod.metadata.name for pod in deployment.worker_pods()},
        lambda names: not (before & names),
        timeout=120,
        interval=2,
        what="the old worker pods to be gone",
    )
    assert not (before & after), f"every worker pod is new after the config change (before {before}, after {after})"
    assert min(ready_counts) >= 1, (
        f"the rollout took both workers down at once (Ready counts {ready_counts}, evictions {evictions}); "
        f"the workers' failed probes: {_probe_failures(deployment)}"
    )
    assert evictions == [429], f"the disruption budget should refuse evicting the last Ready worker: {evictions}"
    outcome = arrival(deployment.kafka, f"source-{topic}", produced, timeout=300)
    record_outcome(
        Outcome(
            "kubernetes: worker config change rolls the Deployment (exactly-once)",
            "every sequence number, read_committed",
            outcome.expected,
            outcome.lost,
            outcome.duplicates,
            round(rolled_seconds, 1),
            {"fewest_ready_pods_during_roll": min(ready_counts)},
        )
    )
    _keep_logs(deployment, logs)
    assert (outcome.lost, outcome.duplicates) == (0, 0), f"{outcome}; the workers' logs: {_save_logs(logs, topic)}"


def _keep_logs(deployment: Deployment, logs: dict[str, str]) -> None:
    for pod in deployment.worker_pods():
        # A pod gone, or whose container has not started yet, keeps its last read.
        with contextlib.suppress(ApiException):
            logs[pod.metadata.name] = deployment._log(pod.metadata.name)


def _save_logs(logs: dict[str, str], topic: str) -> str:
    folder = REPO_ROOT / ".local" / "kube-logs" / topic
    folder.mkdir(parents=True, exist_ok=True)
    for pod, text in logs.items():
        (folder / f"{pod}.log").write_text(text)
    return str(folder)


def _probe_failures(deployment: Deployment) -> list[str]:
    """The kubelet's Unhealthy events of the worker pods: when a probe failed and what it printed."""
    events = deployment.core.list_namespaced_event(NAMESPACE, field_selector="reason=Unhealthy", _request_timeout=30)
    return [
        f"{event.last_timestamp or event.event_time} {event.involved_object.name} x{event.count}: {event.message}"
        for event in events.items
    ]


def _evict(deployment: Deployment, pod: str) -> int:
    """Ask to evict a pod, as a node drain does; the HTTP status (429: refused by the disruption budget)."""
    body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod, "namespace": NAMESPACE}}
    try:
        deployment.core.create_namespaced_pod_eviction(pod, NAMESPACE, body, _request_timeout=30)
    except ApiException as error:
        return int(error.status)
    return 201


def test_a_deleted_pod_mid_stream_loses_nothing_and_the_port_forward_moves(deployment: Deployment) -> None:
    topic = "stream-kill"
    stream = _stream(deployment, topic)
    with deployment.client(deadline_seconds=120) as client:
        assert client.connectors()
        victim = deployment.ready_pods()[0]
        deployment.core.delete_namespaced_pod(victim, NAMESPACE, grace_period_seconds=0)
        started = time.monotonic()
        # The same client, the same tunnel: its next calls reach the remaining Ready pod.
        assert set(client.connectors()) >= CONNECTORS
        moved_seconds = time.monotonic() - started
    poll_until(lambda: len(deployment.ready_pods()) == 2, timeout=300, interval=2, what="the replacement worker pod")
    produced = stream.stop()
    assert stream.error is None, stream.error
    outcome = arrival(deployment.kafka, f"source-{topic}", produced, timeout=300)
    record_outcome(
        Outcome(
            "kubernetes: worker pod deleted mid-stream (exactly-once)",
            "every sequence number, read_committed; REST calls through the same port-forward",
            outcome.expected,
            outcome.lost,
            outcome.duplicates,
            round(moved_seconds, 1),
        )
    )
    assert (outcome.lost, outcome.duplicates) == (0, 0), outcome


def test_a_deploy_identity_without_port_forward_gets_an_error_naming_the_rbac(
    deployment: Deployment, tmp_path: Path
) -> None:
    narrow = write_deploy_kubeconfig(
        deployment.cluster,
        NAMESPACE,
        tmp_path / "lister.kubeconfig",
        port_forward=False,
        name="mm2-lister",
        create_namespace=False,
    )
    deployment.project.cli.set_secret(STACK, "mm2-eks:registrationKubeconfig", narrow.read_text())
    (deployment.project.source_folder / "heartbeats.json").unlink()  # something to do
    try:
        result = deployment.project.cli.up(STACK, check=False)
    finally:
        deployment.project.cli.set_secret(STACK, "mm2-eks:registrationKubeconfig", deployment.deployer.read_text())
    assert result.returncode != 0
    assert "may not port-forward to pod" in result.stdout and "create on pods/portforward" in result.stdout, (
        result.stdout
    )
    # (The Python SDK's dynamic-provider host prints any provider error with its traceback; the
    # message above is its last line.)


def test_destroy_removes_the_workers(deployment: Deployment) -> None:
    destroyed = deployment.project.cli.run("destroy", "--stack", STACK, "--yes")
    assert "deleted" in destroyed.stdout
    poll_until(lambda: not deployment.worker_pods(), timeout=180, interval=2, what="the worker pods to go")
