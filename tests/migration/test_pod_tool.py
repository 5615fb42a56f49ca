"""The Kubernetes transport of the offsets tool: the command a worker pod runs and what it gets on stdin.

The real exec goes through a Kubernetes API (tests against a real cluster come with tests/kubernetes);
here the command line is checked against the image's layout and the stack's clusters, and the very
same command, with the image's paths swapped for the local runtime's, answers real requests.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from connect.cluster_connection import client_properties
from connect.local_runtime import RuntimeState, cluster_endpoints
from localkafka import clients
from localkafka.paths import JAR_CACHE, REPO_ROOT, WORKER_CONFIG_DIR
from localkafka.runtime import LocalRuntime
from localkafka.worker import worker_dir
from mm2ctl.access import pod_kafka_tool
from mm2ctl.kafka_tool import POD_JARS, TOOL_MAIN, PodKafkaTool, provider_properties
from mm2ctl.stacks import stack_settings
from tests.support import unique
from workload import image_layout


@dataclass
class RecordedPods:
    """Stands in for the Kubernetes API only to record what would be executed."""

    calls: list[tuple[str, list[str], str]] = field(default_factory=list)

    def pod_name(self) -> str:
        return "mm2-staging-connect-0"

    def exec(self, pod: str, command: Sequence[str], stdin: str, timeout_seconds: float) -> tuple[str, str, int | None]:
        self.calls.append((pod, list(command), stdin))
        return '{"results": [{"topics": [], "missing": ["x"]}]}\n', "", 0


def test_the_pod_command_runs_the_images_java_with_the_workers_own_properties() -> None:
    settings = stack_settings(REPO_ROOT, "staging")
    command = pod_kafka_tool(settings, RecordedPods()).command()
    assert command[0] == "java"
    assert command[command.index("-cp") + 1] == f"{image_layout.MM2_HOME}/libs/*"
    assert f"-Dlog4j2.configurationFile={image_layout.MM2_HOME}/config/log4j2.properties" in command
    # The root filesystem is read-only; the JVM writes to the pod's /tmp volume, with a heap that fits
    # beside the worker's own in the container's memory limit.
    assert f"-Djava.io.tmpdir={image_layout.TMP_DIR}" in command
    assert "-Xmx192m" in command
    main = command.index(TOOL_MAIN)
    assert command[main + 1 :] == [f"{settings.destination.name}={image_layout.WORKER_PROPERTIES}"]


def test_sources_travel_in_the_request_as_references_to_the_pods_secret_files() -> None:
    settings = stack_settings(REPO_ROOT, "staging")
    pods = RecordedPods()
    results = pod_kafka_tool(settings, pods).run([{"op": "topics", "cluster": "confluent", "names": ["x"]}], 20)
    assert results == [{"topics": [], "missing": ["x"]}]
    ((pod, _, stdin),) = pods.calls
    assert pod == "mm2-staging-connect-0"
    assert stdin.endswith("\n") and stdin.count("\n") == 1, "one line: an exec stream has no end-of-file"
    request = json.loads(stdin)
    assert request["timeoutMs"] == 20_000
    assert set(request["clusters"]) == set(settings.sources)
    confluent = request["clusters"]["confluent"]
    secret_file = f"{image_layout.SECRETS_DIR}/confluent.properties"
    assert confluent["sasl.jaas.config"] == f"${{file:{secret_file}:sasl.jaas.config}}"
    assert confluent["config.providers.file.param.allowed.paths"] == image_layout.SECRETS_DIR
    assert request["clusters"]["msk-east"]["sasl.mechanism"] == "AWS_MSK_IAM"
    assert "password=" not in stdin, "a SASL password in the request"


@pytest.mark.runtime
def test_the_pod_command_answers_with_a_workers_own_properties_file(migration_runtime: LocalRuntime) -> None:
    """The command exactly as a pod runs it, the image's paths swapped for the local runtime's: the destination
    through the running worker's own connect-distributed.properties, the source through inline properties whose
    password stays in the runtime's secret file."""
    state = migration_runtime.state()
    topic = unique("pod-tool")
    clients.create_topics(state, "source", {topic: 2})
    producer = clients.producer(state, "source")
    for index in range(10):
        producer.produce(topic, value=b"x", partition=index % 2)
    assert producer.flush(30) == 0

    worker_properties = worker_dir(state, state.workers[0]) / "connect-distributed.properties"
    tool = _local_pod_tool(state, worker_properties)
    topics, groups = tool.run(
        [
            {"op": "topics", "cluster": "source", "names": [topic]},
            {"op": "groups", "cluster": "destination", "include": [".*"], "exclude": []},
        ],
        30,
    )
    assert topics["topics"] == [
        {"name": topic, "partitions": [{"partition": n, "logStart": 0, "end": 5, "stable": 5} for n in (0, 1)]}
    ]
    # The worker's file names its Connect group (group.id); the tool keeps only connection settings, so it
    # never joins or commits to it.
    assert state.group_id not in {g["group"] for g in groups["groups"]}


@dataclass
class LocalPod:
    """Runs the pod's command on this machine with the image's paths swapped for the local runtime's."""

    state: RuntimeState

    def pod_name(self) -> str:
        return "local"

    def exec(self, pod: str, command: Sequence[str], stdin: str, timeout_seconds: float) -> tuple[str, str, int | None]:
        swapped = [
            _local_tmp(
                part.replace(POD_JARS.libs_dir, str(JAR_CACHE / "libs")).replace(
                    POD_JARS.log4j_config or "", str(WORKER_CONFIG_DIR / "log4j2.properties")
                ),
                str(self.state.runtime_dir),
            )
            for part in command
        ]
        result = subprocess.run(swapped, input=stdin, capture_output=True, text=True, timeout=timeout_seconds)
        return result.stdout, result.stderr, result.returncode


def _local_tmp(part: str, runtime_dir: str) -> str:
    """An option whose value is the pod's /tmp (`-Djava.io.tmpdir=/tmp`) points at the runtime's folder
    instead; other paths are left alone (this checkout may itself live under /tmp)."""
    suffix = f"={image_layout.TMP_DIR}"
    return part[: -len(image_layout.TMP_DIR)] + runtime_dir if part.endswith(suffix) else part


def _local_pod_tool(state: RuntimeState, worker_properties: Path) -> PodKafkaTool:
    secrets = str(state.secrets_dir)
    source = cluster_endpoints(state)["source"]
    inline = {"source": {**client_properties(source, secrets), **provider_properties(secrets)}}
    return PodKafkaTool(LocalPod(state), {"destination": str(worker_properties)}, inline)
