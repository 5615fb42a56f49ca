"""The Kubernetes objects of the Connect workers, as plain manifests: the one renderer of the workload.

`ConnectCluster` hands these manifests to pulumi-kubernetes unchanged, and the Kubernetes tests
apply the very same manifests to a real cluster, so what a test cluster runs is, field for field,
what `pulumi up` deploys. Values only known at deploy time (the image reference, the IAM role ARN)
are parameters; `pulumi.Output`s may be passed for them, they are placed as they are.

Secret objects carry their files in `stringData` in plain text here; the component wraps them as
Pulumi secrets before they leave the program.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stackconfig.models import StackSecrets, StackSettings
from workload import image_layout
from workload.worker_files import checksum, config_files, credential_files, group_id, rest_auth_files

CONTAINER_NAME = "connect"
SERVICE_ACCOUNT = "mm2-connect"
# Secret files readable by the worker's group (fsGroup) only.
SECRET_FILE_MODE = 0o440
# Java and Kafka write temporary files; the root filesystem is read-only.
TMP_SIZE_LIMIT = "1Gi"
TERMINATION_GRACE_SECONDS = 60

Manifest = dict[str, Any]


@dataclass(frozen=True)
class WorkerNames:
    """The names and labels every object of one Connect cluster uses."""

    namespace: str
    group: str

    @property
    def select_labels(self) -> dict[str, str]:
        return {"app.kubernetes.io/name": "mirrormaker2", "app.kubernetes.io/instance": self.group}

    @property
    def labels(self) -> dict[str, str]:
        return {
            **self.select_labels,
            "app.kubernetes.io/component": "connect-worker",
            "app.kubernetes.io/part-of": "mm2-eks",
        }

    @property
    def selector(self) -> str:
        """The label selector string of the worker pods (the port-forward looks them up with it)."""
        return ",".join(f"{key}={value}" for key, value in self.select_labels.items())

    @property
    def service(self) -> str:
        return f"{self.group}-connect"

    @property
    def config_map(self) -> str:
        return f"{self.group}-config"

    @property
    def credentials_secret(self) -> str:
        return f"{self.group}-credentials"

    @property
    def rest_auth_secret(self) -> str:
        return f"{self.group}-rest-auth"


@dataclass(frozen=True)
class Workload:
    names: WorkerNames
    namespace: Manifest
    service_account: Manifest
    config_map: Manifest
    credentials_secret: Manifest
    rest_auth_secret: Manifest
    deployment: Manifest
    service: Manifest
    disruption_budget: Manifest
    network_policy: Manifest

    def manifests(self) -> list[Manifest]:
        """In the order a cluster should get them: the namespace first, what the pods mount before them."""
        return [
            self.namespace,
            self.service_account,
            self.config_map,
            self.credentials_secret,
            self.rest_auth_secret,
            self.deployment,
            self.service,
            self.disruption_budget,
            self.network_policy,
        ]


def worker_names(settings: StackSettings) -> WorkerNames:
    return WorkerNames(settings.connect.namespace, group_id(settings))


def render_workload(
    settings: StackSettings,
    secrets: StackSecrets,
    *,
    image: Any,
    node_labels: Mapping[str, str],
    role_arn: Any = None,
) -> Workload:
    """Every object of the workers. `role_arn`: the IRSA role the service account becomes, if any."""
    names = worker_names(settings)
    files = config_files(settings)
    service_account_metadata = _metadata(names, SERVICE_ACCOUNT)
    if role_arn is not None:
        service_account_metadata["annotations"] = {"eks.amazonaws.com/role-arn": role_arn}
    return Workload(
        names=names,
        namespace={
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": names.namespace, "labels": names.labels},
        },
        service_account={
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": service_account_metadata,
            # Connect never calls the Kubernetes API; an IRSA token is projected separately.
            "automountServiceAccountToken": False,
        },
        config_map={
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _metadata(names, names.config_map),
            "data": files,
        },
        credentials_secret=_secret(names, names.credentials_secret, credential_files(settings, secrets)),
        rest_auth_secret=_secret(names, names.rest_auth_secret, rest_auth_files(settings, secrets)),
        deployment=_deployment(settings, names, image, node_labels, checksum(files)),
        service=_service(names),
        disruption_budget={
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": _metadata(names, names.service),
            # Node drains take workers one at a time; the others keep the tasks running.
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": names.select_labels}},
        },
        network_policy=_network_policy(settings, names),
    )


def _metadata(names: WorkerNames, name: str) -> dict[str, Any]:
    return {"name": name, "namespace": names.namespace, "labels": names.labels}


def _secret(names: WorkerNames, name: str, files: dict[str, str]) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _metadata(names, name),
        "type": "Opaque",
        "stringData": files,
    }


def _deployment(
    settings: StackSettings, names: WorkerNames, image: Any, node_labels: Mapping[str, str], config_checksum: str
) -> Manifest:
    pod = {
        "serviceAccountName": SERVICE_ACCOUNT,
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
        # fsGroup makes the mounted secret files readable by the worker's group only.
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": image_layout.RUN_AS_USER,
            "runAsGroup": image_layout.RUN_AS_USER,
            "fsGroup": image_layout.RUN_AS_USER,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "affinity": _affinity(settings, names, node_labels),
        # Across zones too, so that a zone outage leaves workers running.
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": names.select_labels},
            }
        ],
        "containers": [_worker_container(settings, image)],
        "volumes": _volumes(names),
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(names, names.service),
        "spec": {
            "replicas": settings.connect.replicas,
            "selector": {"matchLabels": names.select_labels},
            # One worker at a time and no surge pod: with one worker per node, a surge pod may
            # find no node and the rollout would hang.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
            "template": {
                "metadata": {
                    "labels": names.labels,
                    # A changed worker config restarts the workers: they read it only at start.
                    "annotations": {
                        "checksum/config": config_checksum,
                        "kubectl.kubernetes.io/default-container": CONTAINER_NAME,
                    },
                },
                "spec": pod,
            },
        },
    }


def _affinity(settings: StackSettings, names: WorkerNames, node_labels: Mapping[str, str]) -> Manifest:
    one_per_node: Manifest = {
        "labelSelector": {"matchLabels": names.select_labels},
        "topologyKey": "kubernetes.io/hostname",
    }
    anti_affinity: Manifest
    if settings.connect.worker_anti_affinity == "required":
        # One worker per node: a lost node costs one worker.
        anti_affinity = {"requiredDuringSchedulingIgnoredDuringExecution": [one_per_node]}
    else:
        anti_affinity = {
            "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": one_per_node}]
        }
    affinity: Manifest = {"podAntiAffinity": anti_affinity}
    if node_labels:
        # The node group created (or labelled) for MirrorMaker 2, and nothing else.
        expressions = [{"key": key, "operator": "In", "values": [value]} for key, value in sorted(node_labels.items())]
        affinity["nodeAffinity"] = {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": expressions}]}
        }
    return affinity


def _worker_container(settings: StackSettings, image: Any) -> Manifest:
    connect = settings.connect
    container: Manifest = {
        "name": CONTAINER_NAME,
        "image": image,
        "args": [image_layout.WORKER_PROPERTIES],
        "ports": [
            {"name": "rest", "containerPort": image_layout.REST_PORT, "protocol": "TCP"},
            {"name": "metrics", "containerPort": image_layout.METRICS_PORT, "protocol": "TCP"},
        ],
        "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
        "resources": {
            "requests": {"cpu": connect.cpu_request, "memory": connect.memory_request},
            "limits": {"cpu": connect.cpu_limit, "memory": connect.memory_limit},
        },
        # The JVM and Connect's REST server take a while; liveness counts only after this.
        "startupProbe": {"tcpSocket": {"port": image_layout.REST_PORT}, "periodSeconds": 5, "failureThreshold": 60},
        # Ready only when the REST API answers an authenticated /health: the worker has joined
        # its group and read the config topic.
        "readinessProbe": {
            "exec": {"command": [image_layout.HEALTHCHECK]},
            "periodSeconds": 10,
            # Above the script's own 12 s deadline, so that it reports why instead of being killed.
            "timeoutSeconds": 15,
            "failureThreshold": 3,
        },
        # Restart only a worker whose REST port is gone: a slow /health during a rebalance must
        # not kill it.
        "livenessProbe": {
            "tcpSocket": {"port": image_layout.REST_PORT},
            "periodSeconds": 20,
            "timeoutSeconds": 5,
            "failureThreshold": 6,
        },
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": image_layout.RUN_AS_USER,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "worker-config", "mountPath": image_layout.WORKER_CONFIG_DIR, "readOnly": True},
            {"name": "credentials", "mountPath": image_layout.SECRETS_DIR, "readOnly": True},
            {"name": "rest-auth", "mountPath": image_layout.REST_AUTH_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": image_layout.TMP_DIR},
        ],
    }
    if settings.image.pull_policy is not None:
        container["imagePullPolicy"] = settings.image.pull_policy
    return container


def _volumes(names: WorkerNames) -> list[Manifest]:
    worker_file = image_layout.WORKER_PROPERTIES_FILE
    return [
        {
            "name": "worker-config",
            "configMap": {"name": names.config_map, "items": [{"key": worker_file, "path": worker_file}]},
        },
        {"name": "credentials", "secret": {"secretName": names.credentials_secret, "defaultMode": SECRET_FILE_MODE}},
        {
            # One folder for REST auth: the JAAS file from the ConfigMap, the others from the Secret.
            "name": "rest-auth",
            "projected": {
                "defaultMode": SECRET_FILE_MODE,
                "sources": [
                    {
                        "configMap": {
                            "name": names.config_map,
                            "items": [{"key": image_layout.REST_JAAS_FILE, "path": image_layout.REST_JAAS_FILE}],
                        }
                    },
                    {
                        "secret": {
                            "name": names.rest_auth_secret,
                            "items": [
                                {"key": image_layout.REST_USERS_FILE, "path": image_layout.REST_USERS_FILE},
                                {"key": image_layout.PROBE_AUTH_FILE, "path": image_layout.PROBE_AUTH_FILE},
                            ],
                        }
                    },
                ],
            },
        },
        {"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE_LIMIT}},
    ]


def _service(names: WorkerNames) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(names, names.service),
        "spec": {
            "type": "ClusterIP",
            "selector": names.select_labels,
            "ports": [
                {"name": "rest", "port": image_layout.REST_PORT, "targetPort": "rest", "protocol": "TCP"},
                {"name": "metrics", "port": image_layout.METRICS_PORT, "targetPort": "metrics", "protocol": "TCP"},
            ],
        },
    }


def _network_policy(settings: StackSettings, names: WorkerNames) -> Manifest:
    """Who may reach the workers.

    REST: the workers themselves (followers forward writes to the leader) and the configured
    registration networks. `pulumi up`'s default port-forward enters the pod through the kubelet,
    not the pod network, so it needs no rule; the kubelet's probes are always allowed. Metrics:
    any pod in the cluster, because Prometheus usually runs in its own namespace; the exporter
    serves read-only numbers and no address outside the cluster is admitted.
    """
    rest_from: list[Manifest] = [{"podSelector": {"matchLabels": names.select_labels}}]
    rest_from += [{"ipBlock": {"cidr": cidr}} for cidr in settings.connect.registration_cidrs]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _metadata(names, names.service),
        "spec": {
            "podSelector": {"matchLabels": names.select_labels},
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": rest_from, "ports": [{"protocol": "TCP", "port": image_layout.REST_PORT}]},
                {
                    "from": [{"namespaceSelector": {}}],
                    "ports": [{"protocol": "TCP", "port": image_layout.METRICS_PORT}],
                },
            ],
        },
    }
