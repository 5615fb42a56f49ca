"""How the commands reach a stack's Connect, workers' metrics and Kafka clusters.

The computations are the same everywhere; only this differs:
- `local`: the local runtime's folder (its state file and secrets, connect/local_runtime.py); the
  offsets tool runs on this machine with properties files written for it;
- `eks` and `kubernetes`: the stack's kubeconfig (the secret stack output `kubeconfig`, or
  `--kubeconfig`), a port-forward through the Kubernetes API to the REST port of a Ready worker
  and to each worker's metrics port, and the offsets tool executed inside a Ready worker pod
  with the worker's own properties, secrets, network and IAM role (mm2ctl/kubernetes_exec.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from connect.cluster_connection import client_properties
from connect.java_command import JavaClasspath
from connect.local_runtime import RuntimeState, cluster_endpoints, connect_endpoint, runtime_dir
from connect.port_forward import PodTarget, PortForwardError, core_api, forwarded_url
from connect.rest import ConnectEndpoint
from mm2ctl import pulumi_stack
from mm2ctl.errors import Unreachable
from mm2ctl.kafka_tool import KafkaTool, LocalKafkaTool, PodExec, PodKafkaTool, provider_properties
from mm2ctl.kubernetes_exec import KubernetesPods
from stackconfig.models import Platform, StackSettings
from workload import image_layout
from workload.kubernetes import worker_names
from workload.worker_files import endpoint_of

# The local runtime's jar cache and log configuration (python -m localkafka build).
LOCAL_LIBS = Path(".cache") / "runtime" / "libs"
LOCAL_LOG4J = Path("docker") / "config" / "log4j2.properties"


@dataclass(frozen=True)
class StackAccess:
    stack: str
    settings: StackSettings
    connect: ConnectEndpoint
    metrics_urls: list[str]
    kafka: KafkaTool
    # Where the connector files of this stack are (cutover prints their edits).
    connectors_root: Path


def open_access(
    project_root: Path, stack: str, settings: StackSettings, timeout_seconds: float, kubeconfig: str | None = None
) -> StackAccess:
    if settings.platform is Platform.LOCAL:
        return local_access(project_root, stack, settings, timeout_seconds)
    return kubernetes_access(project_root, stack, settings, timeout_seconds, kubeconfig)


def local_access(project_root: Path, stack: str, settings: StackSettings, timeout_seconds: float) -> StackAccess:
    folder = runtime_dir(project_root, settings.local.runtime_dir)
    try:
        state = RuntimeState.load(folder)
    except FileNotFoundError as error:
        raise Unreachable(f"{error} (config key mm2-eks:local.runtimeDir)") from None
    if settings.local.connect_worker >= len(state.workers):
        raise Unreachable(f"the local runtime in {folder} has {len(state.workers)} Connect worker(s) and none running")
    secrets = str(state.secrets_dir)
    clusters = {
        name: {**client_properties(endpoint, secrets), **provider_properties(secrets)}
        for name, endpoint in cluster_endpoints(state).items()
    }
    jars = JavaClasspath(str(project_root / LOCAL_LIBS), str(project_root / LOCAL_LOG4J))
    return StackAccess(
        stack=stack,
        settings=settings,
        connect=connect_endpoint(state, settings.local.connect_worker, deadline_seconds=timeout_seconds),
        metrics_urls=[worker.metrics_url for worker in state.workers],
        kafka=LocalKafkaTool(jars, clusters),
        connectors_root=project_root / "connectors",
    )


def kubernetes_access(
    project_root: Path, stack: str, settings: StackSettings, timeout_seconds: float, kubeconfig: str | None
) -> StackAccess:
    if kubeconfig is None:
        kubeconfig = pulumi_stack.secret_output(project_root, stack, "kubeconfig")
    password = pulumi_stack.secret_config(project_root, stack, "connectPassword")
    names = worker_names(settings)
    try:
        api = core_api(kubeconfig)
        pods = PodTarget(api, names.namespace, names.selector, image_layout.METRICS_PORT).ready_pods()
        url = settings.connect.url or forwarded_url(kubeconfig, names.namespace, names.selector, image_layout.REST_PORT)
        metrics = [
            forwarded_url(kubeconfig, names.namespace, names.selector, image_layout.METRICS_PORT, pod) + "/metrics"
            for pod in pods
        ]
    except PortForwardError as error:
        raise Unreachable(f"the Kubernetes API of stack {stack!r}: {error}") from None
    return StackAccess(
        stack=stack,
        settings=settings,
        connect=ConnectEndpoint(
            url, settings.connect.rest_username, password, timeout_seconds=10, deadline_seconds=timeout_seconds
        ),
        metrics_urls=metrics,
        kafka=pod_kafka_tool(settings, KubernetesPods(api, names.namespace, names.selector)),
        connectors_root=project_root / "connectors",
    )


def pod_kafka_tool(settings: StackSettings, pods: PodExec) -> PodKafkaTool:
    """The destination through the worker's own properties file; each source through the connection settings
    that its connectors get, whose secrets are the pod's mounted credential files."""
    secrets = image_layout.SECRETS_DIR
    inline = {
        name: {**client_properties(endpoint_of(name, source), secrets), **provider_properties(secrets)}
        for name, source in settings.sources.items()
    }
    return PodKafkaTool(pods, {settings.destination.name: image_layout.WORKER_PROPERTIES}, inline)
