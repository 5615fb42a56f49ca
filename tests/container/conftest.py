"""Session fixture: two worker containers from the built image, run exactly as the Deployment runs them.

Everything comes from the program's own renderers: the stack settings are the program's models
(platform kubernetes, pointing at a local Kafka), `render_workload` renders the Deployment,
ConfigMap and Secrets as `pulumi up` deploys them, tests/container/podman.py turns the pod spec
into `podman run`, and the connectors are the tree the program loads for the pods
(`stacks.workers.check_files`).

The pods sit on a podman network of their own (tests/container/network.py); the local Kafka of
this session listens on that network's gateway address, its controllers on 127.0.0.1. The image
is the one `make image` built (localhost/mm2-eks:dev; `make test` builds it first). Figures
(start to Ready, memory, stop time, the session's length) go to .local/container-measurements.json
for docs/verified.md.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from components.connectors import ConnectAccess
from connect.connector_tree import ConnectorSpec
from connect.local_runtime import DESTINATION_AUTH, SOURCE_AUTH, RuntimeState
from connect.rest import ConnectClient, ConnectEndpoint
from localkafka.connect_log import ConnectLog
from localkafka.paths import REPO_ROOT
from localkafka.runtime import LocalRuntime
from stackconfig.models import (
    ClusterCredentials,
    ConnectSettings,
    DestinationCluster,
    ImageSettings,
    Platform,
    SourceCluster,
    StackSecrets,
    StackSettings,
)
from stacks.workers import check_files
from tests.container.network import PodNetwork, create_network, remove_network
from tests.container.podman import TEST_LABEL, PodPlacement, podman
from tests.container.pods import WorkerPod
from workload import image_layout
from workload.kubernetes import Workload, render_workload

TEST_DIR = Path(os.environ.get("MM2_CONTAINER_TEST_DIR", REPO_ROOT / ".local" / "container-test")).resolve()
# A private /24 that no route of the host uses; the host takes .1, the pods .10 and up.
SUBNET = os.environ.get("MM2_CONTAINER_TEST_SUBNET", "10.89.47.0/24")
NETWORK = "mm2-container-test"
IMAGE = os.environ.get("MM2_IMAGE", "localhost/mm2-eks:dev")
MEASUREMENTS_FILE = REPO_ROOT / ".local" / "container-measurements.json"
ENV = "container"
# Two workers in one Connect group: one can fail while the other keeps the tasks.
REPLICAS = 2
# Small enough for a shared 2-core machine; the entrypoint sizes the heap from it (70 %).
MEMORY_LIMIT = "1536Mi"
# A cold image build takes 30-90 s here; a warm one under a second.
IMAGE_BUILD_SECONDS = 900


@dataclass
class Workers:
    settings: StackSettings
    secrets: StackSecrets
    workload: Workload
    runtime: LocalRuntime
    pods: list[WorkerPod]
    network: PodNetwork
    measured: dict[str, Any] = field(default_factory=dict)

    @property
    def state(self) -> RuntimeState:
        return self.runtime.state()

    @property
    def rest_username(self) -> str:
        return self.settings.connect.rest_username

    @property
    def rest_password(self) -> str:
        assert self.secrets.connect_password is not None
        return self.secrets.connect_password.get_secret_value()

    def endpoint(self, pod: int = 0) -> ConnectEndpoint:
        return self.pods[pod].endpoint(self.rest_username, self.rest_password)

    def connect_log(self) -> ConnectLog:
        """The containers' own logs, where Connect logs every REST request it serves."""
        return ConnectLog(files=[pod.placement.log_file for pod in self.pods])

    def connector_specs(self, project: Path, files: Mapping[str, Any]) -> list[ConnectorSpec]:
        """Write connector files into a project's tree for this stack, and load them as the program does."""
        [source] = self.settings.sources
        folder = project / "connectors" / self.settings.env / self.settings.destination.name / source
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            (folder / name).write_text(json.dumps(content, indent=2))
        return check_files(self.settings, project).tree.connectors

    def provider_props(self, spec: ConnectorSpec) -> dict[str, Any]:
        """The inputs `ConnectorSet` gives the provider for this stack: the REST URL of the settings."""
        connect = self.settings.connect
        access = ConnectAccess(
            username=connect.rest_username,
            url=connect.url,
            timeout_seconds=connect.rest_timeout_seconds,
            deadline_seconds=connect.rest_deadline_seconds,
            state_deadline_seconds=connect.connector_deadline_seconds,
        )
        return {
            "connector_name": spec.name,
            "config": spec.config,
            "state": spec.state,
            "source_file": spec.source_file,
            "connect": access.provider_input(),
            "connect_password": self.rest_password,
            "kubeconfig": "",
        }

    def restore(self) -> None:
        """Every pod running and Ready again, as the kubelet restarts a container that stopped."""
        for pod in self.pods:
            if not pod.running():
                pod.wait_until_ready(pod.start())


def stack_settings(state: RuntimeState, pod_ips: list[str]) -> StackSettings:
    """Platform kubernetes, with the local runtime's clusters as destination and source."""
    settings = StackSettings(
        platform=Platform.KUBERNETES,
        env=ENV,
        image=ImageSettings(reference=IMAGE, pull_policy="Never"),
        destination=DestinationCluster(
            name="destination",
            bootstrap_servers=state.brokers["destination"].bootstrap_servers,
            auth=DESTINATION_AUTH,
            replication_factor=1,
        ),
        sources={
            "source": SourceCluster(bootstrap_servers=state.brokers["source"].bootstrap_servers, auth=SOURCE_AUTH)
        },
        connect=ConnectSettings(
            replicas=len(pod_ips),
            memory_request=MEMORY_LIMIT,
            memory_limit=MEMORY_LIMIT,
            # One node: the workers share it.
            worker_anti_affinity="preferred",
            # connect.url: the provider reaches the REST API of the first pod directly.
            url=f"http://{pod_ips[0]}:{image_layout.REST_PORT}",
        ),
    )
    problems = settings.platform_problems()
    assert not problems, f"the container tests' stack settings are invalid: {problems}"
    return settings


def stack_secrets(runtime: LocalRuntime) -> StackSecrets:
    source = runtime.credentials().source
    return StackSecrets(
        connect_password=SecretStr(secrets.token_urlsafe(18)),
        credentials={"source": ClusterCredentials(username=source.username, password=SecretStr(source.password))},
    )


def build_image() -> None:
    """`make image`: nothing to do (under a second) unless docker/ changed since the last build, so
    that the containers always run what the tree builds."""
    build = REPO_ROOT / "tools" / "image" / "build.sh"
    result = subprocess.run([str(build)], capture_output=True, text=True, timeout=IMAGE_BUILD_SECONDS, cwd=REPO_ROOT)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
        raise RuntimeError(f"{build.relative_to(REPO_ROOT)} failed (exit {result.returncode}):\n{tail}")


def remove_leftovers() -> None:
    """Containers and the network an interrupted run left behind."""
    listed = podman("ps", "--all", "--filter", f"label={TEST_LABEL}", "--format", "{{.Names}}").stdout.split()
    for name in listed:
        podman("rm", "--force", "--time", "0", name)
    remove_network(NETWORK)


@pytest.fixture(scope="session")
def workers() -> Iterator[Workers]:
    began = time.monotonic()
    build_image()
    remove_leftovers()
    shutil.rmtree(TEST_DIR, ignore_errors=True)
    TEST_DIR.mkdir(parents=True, mode=0o700)
    network = create_network(NETWORK, SUBNET)
    runtime = LocalRuntime(TEST_DIR / "runtime", broker_host=network.gateway)
    pods: list[WorkerPod] = []
    try:
        state = runtime.up(workers=0)
        settings = stack_settings(state, [network.pod_ip(index) for index in range(REPLICAS)])
        stack = stack_secrets(runtime)
        workload = render_workload(settings, stack, image=settings.image.reference, node_labels={})
        names = workload.names
        replicas = workload.deployment["spec"]["replicas"]
        for index in range(replicas):
            name = f"{names.service}-{index}"
            placement = PodPlacement(name, network.name, network.pod_ip(index), TEST_DIR / "pods" / name)
            pods.append(WorkerPod(workload, placement))
        session = Workers(settings, stack, workload, runtime, pods, network)
        # Both at once, as a Deployment's rollout creates its pods.
        started = [pod.start() for pod in pods]
        session.measured["start_to_ready_seconds"] = [
            round(pod.wait_until_ready(at), 1) for pod, at in zip(pods, started, strict=True)
        ]
        yield session
        session.measured["memory_at_end"] = {pod.name: pod.memory() for pod in pods if pod.running()}
        session.measured["session_seconds"] = round(time.monotonic() - began, 1)
        record_measurements(session.measured)
    finally:
        for pod in pods:
            pod.remove()
        runtime.down()
        remove_network(network.name)
        # The volume files hold the secrets; the container logs stay for a look after a failure.
        for volumes in (TEST_DIR / "pods").glob("*/volumes"):
            shutil.rmtree(volumes, ignore_errors=True)


def record_measurements(measured: Mapping[str, Any]) -> None:
    MEASUREMENTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    stamped = {**measured, "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    MEASUREMENTS_FILE.write_text(json.dumps(stamped, indent=2) + "\n")


@pytest.fixture(autouse=True)
def workers_restored(workers: Workers) -> Iterator[None]:
    """Every test leaves two Ready workers and no connector of its own, even when it fails halfway."""
    with ConnectClient(workers.endpoint()) as client:
        before = set(client.connectors())
    yield
    workers.restore()
    with ConnectClient(workers.endpoint()) as client:
        for name in set(client.connectors()) - before:
            client.delete_connector(name)
