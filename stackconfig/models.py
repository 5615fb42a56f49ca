"""Typed stack settings: every `mm2-eks:*` config key, validated once before any resource is declared.

YAML keys are camelCase (Pulumi's convention); Python attributes are snake_case.
Secret values are never settings: `stackconfig.load` reads them apart into `StackSecrets`, whose
values are `SecretStr` (masked in every repr and log).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic.alias_generators import to_camel

# Names that become folder names, Kubernetes names and Kafka topic prefixes.
NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$"
ACCOUNT_PATTERN = r"^\d{12}$"
ROLE_ARN_PATTERN = r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$"
MSK_ARN_PATTERN = r"^arn:aws[a-z-]*:kafka:[a-z0-9-]+:\d{12}:cluster/[^/]+/[^/]+$"
REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-\d$"
BOOTSTRAP_PATTERN = re.compile(r"^[A-Za-z0-9.-]+:\d{1,5}$")


class Settings(BaseModel):
    """Base for every settings model: camelCase keys, unknown keys rejected, immutable."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class Platform(StrEnum):
    EKS = "eks"
    # Any Kubernetes cluster reached by a kubeconfig, an image from any registry: no AWS resource.
    KUBERNETES = "kubernetes"
    LOCAL = "local"


# --- How a client authenticates to a Kafka cluster -------------------------------------------
# MSK listens on a different port per auth mode; the network component opens exactly that port.


# Every TLS mode verifies the brokers' certificates against the JVM's public CAs (MSK, Confluent
# Cloud) or, with `privateCa: true`, against the PEM bundle in the secret
# `credentials.<cluster>.trustedCertificates` (a self-managed cluster's own CA). Hostname
# verification is always on. Certificates, keys and passwords are secrets (`stackconfig.load`);
# settings only say which of them a cluster needs, so that the renderers know without secrets.
TLS_SETTINGS = ("privateCa",)


class PlaintextAuth(Settings):
    mode: Literal["plaintext"]

    @model_validator(mode="before")
    @classmethod
    def _no_tls_settings(cls, data: Any) -> Any:
        return _refuse_tls_settings(data, "auth.mode plaintext has no TLS")


class TlsAuth(Settings):
    """TLS without a client certificate: the brokers prove who they are, the workers do not."""

    mode: Literal["tls"]
    private_ca: bool = False


class MutualTlsAuth(Settings):
    """Mutual TLS: the workers present the client certificate `credentials.<cluster>.certificate`."""

    mode: Literal["mtls"]
    private_ca: bool = False


class SaslAuth(Settings):
    """SASL/SCRAM (MSK, self-managed) or SASL/PLAIN (Confluent Cloud).

    Username and password come from the secret `credentials` config key, never from here.
    """

    mode: Literal["scram", "plain"]
    # False only for a SASL_PLAINTEXT listener, such as the local runtime's source cluster.
    tls: bool = True
    private_ca: bool = False

    @model_validator(mode="before")
    @classmethod
    def _tls_settings_need_tls(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("tls") is False:
            return _refuse_tls_settings(data, "it needs TLS, and auth.tls is false (SASL_PLAINTEXT)")
        return data


class IamAuth(Settings):
    mode: Literal["iam"]
    # A role in the cluster's account, assumed by the workers for a cross-account MSK cluster.
    role_arn: Annotated[str | None, Field(pattern=ROLE_ARN_PATTERN)] = None
    sts_region: Annotated[str | None, Field(pattern=REGION_PATTERN)] = None


ClusterAuth = Annotated[PlaintextAuth | TlsAuth | MutualTlsAuth | SaslAuth | IamAuth, Field(discriminator="mode")]

MSK_PORT_BY_AUTH_MODE = {"plaintext": 9092, "tls": 9094, "mtls": 9094, "scram": 9096, "iam": 9098}


def uses_tls(auth: ClusterAuth) -> bool:
    return not isinstance(auth, PlaintextAuth) and not (isinstance(auth, SaslAuth) and not auth.tls)


def private_ca(auth: ClusterAuth) -> bool:
    """Whether the brokers' certificates are checked against the cluster's own CA bundle."""
    return isinstance(auth, TlsAuth | MutualTlsAuth | SaslAuth) and auth.private_ca


def _refuse_tls_settings(data: Any, why: str) -> Any:
    if isinstance(data, Mapping):
        present = [key for key in (*TLS_SETTINGS, "private_ca") if key in data]
        if present:
            raise ValueError(f"{present[0]} is a TLS setting, but {why}")
    return data


# --- Clusters --------------------------------------------------------------------------------


class PeeringNetwork(Settings):
    """The source cluster's VPC, peered with the EKS VPC."""

    vpc_id: Annotated[str, Field(pattern=r"^vpc-[0-9a-f]+$")]
    cidr_block: str
    route_table_ids: Annotated[list[Annotated[str, Field(pattern=r"^rtb-[0-9a-f]+$")]], Field(min_length=1)]
    broker_security_group_id: Annotated[str, Field(pattern=r"^sg-[0-9a-f]+$")]
    # Set both when the source VPC is in another account or region than the EKS cluster.
    account_id: Annotated[str | None, Field(pattern=ACCOUNT_PATTERN)] = None
    region: Annotated[str | None, Field(pattern=REGION_PATTERN)] = None
    # Role in the peer account that the accepter side assumes (required across accounts).
    accepter_role_arn: Annotated[str | None, Field(pattern=ROLE_ARN_PATTERN)] = None

    @field_validator("cidr_block")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            ipaddress.IPv4Network(value)
        except ValueError as error:
            raise ValueError(f"expected an IPv4 CIDR block such as 10.1.0.0/16 ({error})") from None
        return value


class KafkaCluster(Settings):
    # Empty on the local platform: the local runtime's state file supplies it.
    bootstrap_servers: str | None = None
    auth: ClusterAuth
    # Scopes the workers' IAM policy; required for `iam` auth on EKS.
    msk_cluster_arn: Annotated[str | None, Field(pattern=MSK_ARN_PATTERN)] = None

    @field_validator("bootstrap_servers")
    @classmethod
    def _bootstrap(cls, value: str | None) -> str | None:
        if value is None:
            return None
        servers = [server.strip() for server in value.split(",")]
        bad = [server for server in servers if not BOOTSTRAP_PATTERN.match(server)]
        if bad or not servers:
            raise ValueError(f"expected host:port[,host:port...], got {bad or value!r}")
        return ",".join(servers)

    def bootstrap_ports(self) -> set[int]:
        return {int(server.rsplit(":", 1)[1]) for server in (self.bootstrap_servers or "").split(",") if server}


class SourceCluster(KafkaCluster):
    # None when the brokers are reachable without peering (a public Confluent Cloud cluster, say).
    network: PeeringNetwork | None = None


class DestinationCluster(KafkaCluster):
    # The folder name under connectors/<env>/.
    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    # MSK clusters have three brokers; the local runtime has one.
    replication_factor: Annotated[int, Field(ge=1, le=5)] = 3


# --- EKS --------------------------------------------------------------------------------------


class AwsSettings(Settings):
    region: Annotated[str, Field(pattern=REGION_PATTERN)]
    account_id: Annotated[str, Field(pattern=ACCOUNT_PATTERN)]


class NodeGroupSettings(Settings):
    instance_type: str = "m6i.large"
    desired_size: Annotated[int, Field(ge=1)] = 3
    min_size: Annotated[int, Field(ge=1)] = 2
    max_size: Annotated[int, Field(ge=1)] = 6
    # The Connect Deployment's node affinity selects exactly these labels.
    labels: dict[str, str] = {"workload": "mirrormaker2"}

    @model_validator(mode="after")
    def _sizes(self) -> Self:
        if not self.min_size <= self.desired_size <= self.max_size:
            raise ValueError("expected minSize <= desiredSize <= maxSize")
        return self


class NewCluster(Settings):
    """A new EKS cluster in an existing VPC."""

    kind: Literal["new"]
    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    version: Annotated[str, Field(pattern=r"^1\.\d{2}$")] = "1.33"
    vpc_id: Annotated[str, Field(pattern=r"^vpc-[0-9a-f]+$")]
    vpc_cidr: str
    private_subnet_ids: Annotated[list[str], Field(min_length=2)]
    # Route tables of the EKS VPC that get a route to each peered source VPC.
    route_table_ids: Annotated[list[Annotated[str, Field(pattern=r"^rtb-[0-9a-f]+$")]], Field(min_length=1)]
    node_group: NodeGroupSettings = NodeGroupSettings()


class ExistingCluster(Settings):
    """An EKS cluster managed elsewhere; its kubeconfig comes from the secret `kubeconfig` key."""

    kind: Literal["existing"]
    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    vpc_id: Annotated[str, Field(pattern=r"^vpc-[0-9a-f]+$")]
    vpc_cidr: str
    route_table_ids: Annotated[list[Annotated[str, Field(pattern=r"^rtb-[0-9a-f]+$")]], Field(min_length=1)]
    node_security_group_id: Annotated[str, Field(pattern=r"^sg-[0-9a-f]+$")]
    oidc_provider_arn: str
    oidc_provider_url: str
    node_labels: dict[str, str] = {"workload": "mirrormaker2"}


EksCluster = Annotated[NewCluster | ExistingCluster, Field(discriminator="kind")]


class ImageSettings(Settings):
    # eks: the ECR repository the program builds and pushes the image to.
    repository_name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._/-]*$")] = "mm2-eks"
    platform: Literal["linux/amd64", "linux/arm64"] = "linux/amd64"
    keep_last: Annotated[int, Field(ge=1, le=1000)] = 10
    # kubernetes: an image built elsewhere (`make image`, a CI pipeline), best by digest.
    reference: Annotated[str | None, Field(pattern=r"^[a-z0-9][a-z0-9._:/@-]*$")] = None
    # None leaves Kubernetes' default; Never for an image loaded into the nodes without a registry.
    pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = None


class KubernetesSettings(Settings):
    """Platform kubernetes: an existing cluster, given by the secret `kubeconfig` key."""

    # The node labels the workers' node affinity requires (none: any node).
    node_labels: dict[str, str] = {}


class TaskRestartSettings(Settings):
    """The workers restart their failed connectors and tasks themselves, with Strimzi's back-off."""

    # Restarts of one connector or task before it is left FAILED; unset: unlimited, as Strimzi.
    max_restarts: Annotated[int | None, Field(ge=0)] = None
    # The back-off's unit: restart n waits n*(n+1) units (at most 60) after the failure is seen.
    backoff_unit_seconds: Annotated[int, Field(ge=1, le=3600)] = 60


class ConnectSettings(Settings):
    """The Kafka Connect workers that run the MirrorMaker 2 connectors."""

    namespace: Annotated[str, Field(pattern=NAME_PATTERN)] = "mirrormaker2"
    replicas: Annotated[int, Field(ge=1, le=50)] = 2
    cpu_request: str = "1"
    cpu_limit: str = "2"
    memory_request: str = "3Gi"
    memory_limit: str = "3Gi"
    rest_username: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]+$")] = "mm2-admin"
    # Where `pulumi up` reaches the REST API. Empty: a port-forward through the Kubernetes API.
    url: Annotated[str | None, Field(pattern=r"^https?://.+")] = None
    # Networks allowed to reach the REST port besides the workers themselves (an internal LB, a VPN).
    registration_cidrs: list[str] = []
    exactly_once: bool = True
    # One worker per node (required: a lost node costs one worker), or only preferably (a cluster
    # with fewer nodes than workers, such as a one-node test cluster).
    worker_anti_affinity: Literal["required", "preferred"] = "required"
    # False: the namespace exists already (made by whoever runs the cluster), and is left alone.
    create_namespace: bool = True
    # How long a lost worker's tasks wait before moving (Connect's default is 5 minutes).
    rebalance_delay_ms: Annotated[int, Field(ge=0)] = 60_000
    # How long `pulumi up` waits for a connector and its tasks to reach their declared state.
    connector_deadline_seconds: Annotated[int, Field(ge=5, le=3600)] = 300
    # Each REST call's timeout, and how long one call is retried while Connect is unavailable or
    # rebalancing before `pulumi up` fails with Connect's last answer.
    rest_timeout_seconds: Annotated[int, Field(ge=1, le=300)] = 10
    rest_deadline_seconds: Annotated[int, Field(ge=1, le=3600)] = 60
    task_restarts: TaskRestartSettings = TaskRestartSettings()

    @field_validator("registration_cidrs")
    @classmethod
    def _cidrs(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                ipaddress.IPv4Network(value)
            except ValueError:
                raise ValueError(f"expected IPv4 CIDR blocks, got {value!r}") from None
        return values


class MonitoringSettings(Settings):
    enabled: bool = False
    # Create a PodMonitor and PrometheusRule only when the Prometheus operator's CRDs exist.
    prometheus_operator: bool = False
    no_records_minutes: Annotated[int, Field(ge=1)] = 10


class LocalSettings(Settings):
    """Where the local runtime (`python -m localkafka up`) keeps its state file."""

    # Unset: MM2_LOCAL_RUNTIME_DIR, else .local/runtime (connect/local_runtime.py, the one rule).
    runtime_dir: str | None = None
    # Which of the runtime's Connect workers the program talks to.
    connect_worker: Annotated[int, Field(ge=0)] = 0


class StackSettings(Settings):
    platform: Platform
    # The folder under connectors/ holding this stack's connector files.
    env: Annotated[str, Field(pattern=NAME_PATTERN)]
    destination: DestinationCluster
    sources: Annotated[dict[str, SourceCluster], Field(min_length=1)]
    connect: ConnectSettings = ConnectSettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    aws: AwsSettings | None = None
    cluster: EksCluster | None = None
    image: ImageSettings = ImageSettings()
    kubernetes: KubernetesSettings = KubernetesSettings()
    local: LocalSettings = LocalSettings()
    # A configured source without connector files loses all its connectors on `pulumi up`: refused
    # unless this is true (connect/connector_tree.py).
    allow_empty_connector_folders: bool = False

    @field_validator("sources")
    @classmethod
    def _source_names(cls, sources: dict[str, SourceCluster]) -> dict[str, SourceCluster]:
        for name in sources:
            if not re.match(NAME_PATTERN, name):
                raise ValueError(f"source name {name!r} must match {NAME_PATTERN} (it is a folder name)")
        return sources

    def platform_problems(self) -> list[str]:
        """Rules that span several keys; each problem names the keys it is about."""
        if self.platform is Platform.EKS:
            return self.eks_problems()
        if self.platform is Platform.KUBERNETES:
            return self.kubernetes_problems()
        return self.local_problems()

    def clusters_by_key(self) -> dict[str, KafkaCluster]:
        """Every cluster under the config key that defines it."""
        return {"destination": self.destination, **{f"sources.{name}": s for name, s in self.sources.items()}}

    def eks_problems(self) -> list[str]:
        problems = []
        if self.aws is None:
            problems.append("aws: required on platform eks (region, accountId)")
        if self.cluster is None:
            problems.append("cluster: required on platform eks (kind: new or existing)")
        if self.connect.replicas < 2:
            problems.append("connect.replicas: must be at least 2 on eks, so that a worker can fail")
        one_per_node = self.connect.worker_anti_affinity == "required"
        if (
            one_per_node
            and isinstance(self.cluster, NewCluster)
            and self.connect.replicas > self.cluster.node_group.desired_size
        ):
            # The workers' required pod anti-affinity puts one per node: the rest would stay
            # Pending and `pulumi up` would wait for the Deployment until it times out.
            problems.append(
                f"connect.replicas: {self.connect.replicas} workers need as many nodes (one worker per node), "
                f"but cluster.nodeGroup.desiredSize is {self.cluster.node_group.desired_size}"
            )
        if self.destination.name in self.sources:
            problems.append(f"destination.name: {self.destination.name!r} is also a source name")
        for key, cluster in self.clusters_by_key().items():
            if not cluster.bootstrap_servers:
                problems.append(f"{key}.bootstrapServers: required on platform eks")
            if cluster.auth.mode == "iam" and not cluster.msk_cluster_arn:
                problems.append(f"{key}.mskClusterArn: required with auth.mode iam (it scopes the IAM policy)")
            if cluster.msk_cluster_arn and cluster.auth.mode in MSK_PORT_BY_AUTH_MODE:
                expected = MSK_PORT_BY_AUTH_MODE[cluster.auth.mode]
                wrong = sorted(cluster.bootstrap_ports() - {expected})
                if wrong:
                    problems.append(
                        f"{key}.bootstrapServers: uses port {wrong[0]} but MSK serves auth.mode "
                        f"{cluster.auth.mode} on port {expected}"
                    )
        for name, source in self.sources.items():
            network = source.network
            other_account = network and self.aws and network.account_id and network.account_id != self.aws.account_id
            if network and self.aws and other_account and not network.accepter_role_arn:
                problems.append(
                    f"sources.{name}.network.accepterRoleArn: required because the peer VPC is in account "
                    f"{network.account_id}, not {self.aws.account_id}"
                )
        return problems

    def kubernetes_problems(self) -> list[str]:
        problems = []
        if self.image.reference is None:
            problems.append("image.reference: required on platform kubernetes (an image built elsewhere)")
        for key in ("aws", "cluster"):
            if getattr(self, key) is not None:
                problems.append(f"{key}: not used on platform kubernetes (no AWS resource is created)")
        for key, cluster in self.clusters_by_key().items():
            if not cluster.bootstrap_servers:
                problems.append(f"{key}.bootstrapServers: required on platform kubernetes")
            if cluster.auth.mode == "iam":
                problems.append(f"{key}.auth.mode: iam needs an EKS service account role; use platform eks")
        for name, source in self.sources.items():
            if source.network is not None:
                problems.append(f"sources.{name}.network: VPC peering is only managed on platform eks")
        return problems

    def local_problems(self) -> list[str]:
        problems = []
        for key, cluster in self.clusters_by_key().items():
            if cluster.bootstrap_servers:
                problems.append(
                    f"{key}.bootstrapServers: must be empty on platform local (the local runtime chooses ports)"
                )
        return problems


# --- Secrets: read by stackconfig.load apart from the settings, never printed ---------------


class ClusterCredentials(BaseModel):
    """`credentials.<cluster>`: what the cluster's auth needs, checked by `stackconfig.load`.

    SASL: `username` and `password`. Mutual TLS: `certificate` (PEM, the client's certificate,
    then its chain) and `privateKey` (PEM; `privateKeyPassword` when it is encrypted). A private
    CA (`auth.privateCa`): `trustedCertificates` (PEM bundle). After loading, `private_key` holds
    the key as unencrypted PKCS#8, the one form Kafka's PEM keystore reads without a password;
    the password is not kept.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    username: str | None = None
    password: SecretStr | None = None
    trusted_certificates: str | None = None
    certificate: str | None = None
    private_key: SecretStr | None = None
    private_key_password: SecretStr | None = None


@dataclass(frozen=True)
class StackSecrets:
    """Secret config values; on the local platform they come from the local runtime instead."""

    connect_password: SecretStr | None = None
    credentials: Mapping[str, ClusterCredentials] = field(default_factory=dict)
    kubeconfig: SecretStr | None = None
    # The identity `pulumi up` registers connectors with, through a port-forward: it needs only
    # pods list/get and pods/portforward in the workers' namespace. Unset: the kubeconfig above.
    registration_kubeconfig: SecretStr | None = None
