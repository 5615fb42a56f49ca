"""`mm2:k8s:ConnectCluster`: the Kafka Connect workers that run the MirrorMaker 2 connectors on EKS.

Everything the workers need in their namespace: an IRSA identity for MSK, the worker config, the
credential files, the Deployment, its Service, disruption budget and network policy.

Secrets: SASL credentials and the REST password reach the pods only as files from Kubernetes
Secrets (their `stringData` is a Pulumi secret, so the state holds it encrypted); the ConfigMap and
the connector configs hold `${file:...}` references to those files, never a value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as kubernetes

from stackconfig.models import StackSecrets, StackSettings
from workload import image_layout
from workload.msk_iam import worker_policy
from workload.worker_files import checksum, config_files, credential_files, group_id, rest_auth_files

CONTAINER_NAME = "connect"
SERVICE_ACCOUNT = "mm2-connect"
# Secret files readable by the worker's group (fsGroup) only.
SECRET_FILE_MODE = 0o440


@dataclass(frozen=True)
class WorkloadIdentity:
    """The cluster's OIDC provider, which IAM trusts to vouch for service accounts (IRSA)."""

    oidc_provider_arn: pulumi.Input[str]
    # Without https://, as IAM condition keys spell it.
    oidc_provider_host: pulumi.Input[str]


def name_of(metadata: pulumi.Output[kubernetes.meta.v1.outputs.ObjectMeta]) -> pulumi.Output[str]:
    """An object's name as an output, so that whatever refers to it is created after it."""
    return metadata.apply(lambda value: str(value.name))


class ConnectCluster(pulumi.ComponentResource):
    namespace: str
    # The same name as an output of the Namespace resource: objects placed in the namespace by
    # others use it, so that they are created after the namespace.
    namespace_ref: pulumi.Output[str]
    service_name: str
    # Label selector string of the worker pods (for the connector provider's port-forward).
    selector: str
    role_arn: pulumi.Output[str]
    deployment: kubernetes.apps.v1.Deployment

    def __init__(
        self,
        name: str,
        settings: StackSettings,
        secrets: StackSecrets,
        image: pulumi.Input[str],
        identity: WorkloadIdentity,
        node_labels: Mapping[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mm2:k8s:ConnectCluster", name, None, opts)
        self._name = name
        self._settings = settings
        self._here = pulumi.ResourceOptions(parent=self)
        group = group_id(settings)
        self.select_labels = {"app.kubernetes.io/name": "mirrormaker2", "app.kubernetes.io/instance": group}
        self.labels = {
            **self.select_labels,
            "app.kubernetes.io/component": "connect-worker",
            "app.kubernetes.io/part-of": "mm2-eks",
        }
        self.selector = ",".join(f"{key}={value}" for key, value in self.select_labels.items())
        self.service_name = f"{group}-connect"
        self.namespace = settings.connect.namespace

        namespace = kubernetes.core.v1.Namespace(
            f"{name}-namespace", metadata={"name": self.namespace, "labels": self.labels}, opts=self._here
        )
        self.namespace_ref = name_of(namespace.metadata)

        service_account, self.role_arn = self._service_account(identity)
        files = config_files(settings)
        config_map = kubernetes.core.v1.ConfigMap(
            f"{name}-config", metadata=self._metadata(f"{group}-config"), data=files, opts=self._here
        )
        credentials = self._secret("credentials", credential_files(settings, secrets))
        rest_auth = self._secret("rest-auth", rest_auth_files(settings, secrets))
        pod: kubernetes.core.v1.PodSpecArgsDict = {
            "service_account_name": name_of(service_account.metadata),
            "automount_service_account_token": False,
            "termination_grace_period_seconds": 60,
            # fsGroup makes the mounted secret files readable by the worker's group only.
            "security_context": {
                "run_as_non_root": True,
                "run_as_user": image_layout.RUN_AS_USER,
                "run_as_group": image_layout.RUN_AS_USER,
                "fs_group": image_layout.RUN_AS_USER,
                "seccomp_profile": {"type": "RuntimeDefault"},
            },
            "affinity": self._affinity(node_labels),
            # Across zones too, so that a zone outage leaves workers running.
            "topology_spread_constraints": [
                {
                    "max_skew": 1,
                    "topology_key": "topology.kubernetes.io/zone",
                    "when_unsatisfiable": "DoNotSchedule",
                    "label_selector": {"match_labels": self.select_labels},
                }
            ],
            "containers": [self._worker_container(image)],
            "volumes": self._volumes(
                config_map=name_of(config_map.metadata),
                credentials=name_of(credentials.metadata),
                rest_auth=name_of(rest_auth.metadata),
            ),
        }
        self.deployment = self._deployment(pod, config_checksum=checksum(files))
        self._service()
        self._disruption_budget()
        self._network_policy()
        self.register_outputs(
            {
                "namespace": self.namespace,
                "service_name": self.service_name,
                "selector": self.selector,
                "role_arn": self.role_arn,
            }
        )

    def _metadata(self, name: str) -> kubernetes.meta.v1.ObjectMetaArgsDict:
        return {"name": name, "namespace": self.namespace_ref, "labels": self.labels}

    # --- Identity: the service account and the IAM role it becomes --------------------------

    def _service_account(
        self, identity: WorkloadIdentity
    ) -> tuple[kubernetes.core.v1.ServiceAccount, pulumi.Output[str]]:
        subject = f"system:serviceaccount:{self.namespace}:{SERVICE_ACCOUNT}"
        trust = pulumi.Output.all(identity.oidc_provider_arn, identity.oidc_provider_host).apply(
            lambda values: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Federated": values[0]},
                            "Action": "sts:AssumeRoleWithWebIdentity",
                            # Only this service account, and only tokens minted for STS.
                            "Condition": {
                                "StringEquals": {f"{values[1]}:sub": subject, f"{values[1]}:aud": "sts.amazonaws.com"}
                            },
                        }
                    ],
                }
            )
        )
        # A fixed name, so that roles in the sources' accounts can trust it before it exists.
        role = aws.iam.Role(
            f"{self._name}-workers",
            name=f"{group_id(self._settings)}-connect-workers",
            assume_role_policy=trust,
            opts=self._here,
        )
        aws.iam.RolePolicy(
            f"{self._name}-msk",
            role=role.id,
            policy=json.dumps(worker_policy(self._settings, group_id(self._settings))),
            opts=self._here,
        )
        metadata = self._metadata(SERVICE_ACCOUNT)
        metadata["annotations"] = {"eks.amazonaws.com/role-arn": role.arn}
        service_account = kubernetes.core.v1.ServiceAccount(
            f"{self._name}-service-account",
            metadata=metadata,
            # Connect never calls the Kubernetes API; the IRSA token is projected separately.
            automount_service_account_token=False,
            opts=self._here,
        )
        return service_account, role.arn

    def _secret(self, suffix: str, files: dict[str, str]) -> kubernetes.core.v1.Secret:
        # Wrapped before it leaves Python: the state keeps stringData encrypted, previews mask it.
        data: pulumi.Output[dict[str, str]] = pulumi.Output.secret(files)
        return kubernetes.core.v1.Secret(
            f"{self._name}-{suffix}",
            metadata=self._metadata(f"{group_id(self._settings)}-{suffix}"),
            type="Opaque",
            string_data=data,
            opts=self._here,
        )

    # --- The workers --------------------------------------------------------------------------

    def _affinity(self, node_labels: Mapping[str, str]) -> kubernetes.core.v1.AffinityArgsDict:
        return {
            # The node group created (or labelled) for MirrorMaker 2, and nothing else.
            "node_affinity": {
                "required_during_scheduling_ignored_during_execution": {
                    "node_selector_terms": [
                        {
                            "match_expressions": [
                                {"key": key, "operator": "In", "values": [value]}
                                for key, value in sorted(node_labels.items())
                            ]
                        }
                    ]
                }
            },
            # One worker per node: a lost node costs one worker.
            "pod_anti_affinity": {
                "required_during_scheduling_ignored_during_execution": [
                    {
                        "label_selector": {"match_labels": self.select_labels},
                        "topology_key": "kubernetes.io/hostname",
                    }
                ]
            },
        }

    def _worker_container(self, image: pulumi.Input[str]) -> kubernetes.core.v1.ContainerArgsDict:
        connect = self._settings.connect
        return {
            "name": CONTAINER_NAME,
            "image": image,
            "args": [image_layout.WORKER_PROPERTIES],
            "ports": [
                {"name": "rest", "container_port": image_layout.REST_PORT, "protocol": "TCP"},
                {"name": "metrics", "container_port": image_layout.METRICS_PORT, "protocol": "TCP"},
            ],
            "env": [{"name": "POD_IP", "value_from": {"field_ref": {"field_path": "status.podIP"}}}],
            "resources": {
                "requests": {"cpu": connect.cpu_request, "memory": connect.memory_request},
                "limits": {"cpu": connect.cpu_limit, "memory": connect.memory_limit},
            },
            # The JVM and Connect's REST server take a while; liveness counts only after this.
            "startup_probe": {
                "tcp_socket": {"port": image_layout.REST_PORT},
                "period_seconds": 5,
                "failure_threshold": 60,
            },
            # Ready only when the REST API answers an authenticated /health: the worker has joined
            # its group and read the config topic.
            "readiness_probe": {
                "exec_": {"command": [image_layout.HEALTHCHECK]},
                "period_seconds": 10,
                # Above the script's own 5 s deadline, so that it reports why instead of being killed.
                "timeout_seconds": 10,
                "failure_threshold": 3,
            },
            # Restart only a worker whose REST port is gone: a slow /health during a rebalance
            # must not kill it.
            "liveness_probe": {
                "tcp_socket": {"port": image_layout.REST_PORT},
                "period_seconds": 20,
                "timeout_seconds": 5,
                "failure_threshold": 6,
            },
            "security_context": {
                "run_as_non_root": True,
                "run_as_user": image_layout.RUN_AS_USER,
                "read_only_root_filesystem": True,
                "allow_privilege_escalation": False,
                "capabilities": {"drop": ["ALL"]},
            },
            "volume_mounts": [
                {"name": "worker-config", "mount_path": image_layout.WORKER_CONFIG_DIR, "read_only": True},
                {"name": "credentials", "mount_path": image_layout.SECRETS_DIR, "read_only": True},
                {"name": "rest-auth", "mount_path": image_layout.REST_AUTH_DIR, "read_only": True},
                {"name": "tmp", "mount_path": image_layout.TMP_DIR},
            ],
        }

    @staticmethod
    def _volumes(
        *, config_map: pulumi.Input[str], credentials: pulumi.Input[str], rest_auth: pulumi.Input[str]
    ) -> list[kubernetes.core.v1.VolumeArgsDict]:
        return [
            {
                "name": "worker-config",
                "config_map": {
                    "name": config_map,
                    "items": [
                        {"key": image_layout.WORKER_PROPERTIES_FILE, "path": image_layout.WORKER_PROPERTIES_FILE}
                    ],
                },
            },
            {"name": "credentials", "secret": {"secret_name": credentials, "default_mode": SECRET_FILE_MODE}},
            {
                # One folder for REST auth: the JAAS file from the ConfigMap, the others from the Secret.
                "name": "rest-auth",
                "projected": {
                    "default_mode": SECRET_FILE_MODE,
                    "sources": [
                        {
                            "config_map": {
                                "name": config_map,
                                "items": [{"key": image_layout.REST_JAAS_FILE, "path": image_layout.REST_JAAS_FILE}],
                            }
                        },
                        {
                            "secret": {
                                "name": rest_auth,
                                "items": [
                                    {"key": image_layout.REST_USERS_FILE, "path": image_layout.REST_USERS_FILE},
                                    {"key": image_layout.PROBE_AUTH_FILE, "path": image_layout.PROBE_AUTH_FILE},
                                ],
                            }
                        },
                    ],
                },
            },
            # The root filesystem is read-only; Java and Kafka write temporary files here.
            {"name": "tmp", "empty_dir": {"size_limit": "1Gi"}},
        ]

    def _deployment(
        self, pod: kubernetes.core.v1.PodSpecArgsDict, config_checksum: str
    ) -> kubernetes.apps.v1.Deployment:
        spec: kubernetes.apps.v1.DeploymentSpecArgsDict = {
            "replicas": self._settings.connect.replicas,
            "selector": {"match_labels": self.select_labels},
            # One worker at a time and no surge pod: with one worker per node, a surge pod may
            # find no node and the rollout would hang.
            "strategy": {"type": "RollingUpdate", "rolling_update": {"max_surge": 0, "max_unavailable": 1}},
            "template": {
                "metadata": {
                    "labels": self.labels,
                    # A changed worker config restarts the workers: they read it only at start.
                    "annotations": {
                        "checksum/config": config_checksum,
                        "kubectl.kubernetes.io/default-container": CONTAINER_NAME,
                    },
                },
                "spec": pod,
            },
        }
        return kubernetes.apps.v1.Deployment(
            f"{self._name}-workers", metadata=self._metadata(self.service_name), spec=spec, opts=self._here
        )

    def _service(self) -> None:
        spec: kubernetes.core.v1.ServiceSpecArgsDict = {
            "type": "ClusterIP",
            "selector": self.select_labels,
            "ports": [
                {"name": "rest", "port": image_layout.REST_PORT, "target_port": "rest", "protocol": "TCP"},
                {"name": "metrics", "port": image_layout.METRICS_PORT, "target_port": "metrics", "protocol": "TCP"},
            ],
        }
        kubernetes.core.v1.Service(
            f"{self._name}-service", metadata=self._metadata(self.service_name), spec=spec, opts=self._here
        )

    def _disruption_budget(self) -> None:
        # Node drains take workers one at a time; the others keep the tasks running.
        spec: kubernetes.policy.v1.PodDisruptionBudgetSpecArgsDict = {
            "max_unavailable": 1,
            "selector": {"match_labels": self.select_labels},
        }
        kubernetes.policy.v1.PodDisruptionBudget(
            f"{self._name}-disruption-budget", metadata=self._metadata(self.service_name), spec=spec, opts=self._here
        )

    def _network_policy(self) -> None:
        """Who may reach the workers.

        REST: the workers themselves (followers forward writes to the leader) and the configured
        registration networks. `pulumi up`'s default port-forward enters the pod through the
        kubelet, not the pod network, so it needs no rule; the kubelet's probes are always allowed.
        Metrics: any pod in the cluster, because Prometheus usually runs in its own namespace;
        the exporter serves read-only numbers and no address outside the cluster is admitted.
        """
        rest_from: list[kubernetes.networking.v1.NetworkPolicyPeerArgsDict] = [
            {"pod_selector": {"match_labels": self.select_labels}}
        ]
        rest_from += [{"ip_block": {"cidr": cidr}} for cidr in self._settings.connect.registration_cidrs]
        spec: kubernetes.networking.v1.NetworkPolicySpecArgsDict = {
            "pod_selector": {"match_labels": self.select_labels},
            "policy_types": ["Ingress"],
            "ingress": [
                {"from_": rest_from, "ports": [{"protocol": "TCP", "port": image_layout.REST_PORT}]},
                {
                    "from_": [{"namespace_selector": {}}],
                    "ports": [{"protocol": "TCP", "port": image_layout.METRICS_PORT}],
                },
            ],
        }
        kubernetes.networking.v1.NetworkPolicy(
            f"{self._name}-network-policy", metadata=self._metadata(self.service_name), spec=spec, opts=self._here
        )
