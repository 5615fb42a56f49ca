"""The Connect workers on Kubernetes, their IAM policy, and the connectors registered with them."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from harness.mocked_program import (
    EKS_ACCOUNT,
    IMAGE_DIGEST,
    PROJECT_ROOT,
    SECRETS,
    ProgramRun,
    engine_config,
    integral,
    run_program,
    secret_values,
    staging_values,
)
from stackconfig.load import PROJECT, load_stack
from workload import image_layout
from workload.kubernetes import render_workload
from workload.worker_files import checksum

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SECRET = "kubernetes:core/v1:Secret"
CONNECTOR = "pulumi-python:dynamic:Resource"
WORKER_LABELS = {"app.kubernetes.io/name": "mirrormaker2", "app.kubernetes.io/instance": "mm2-staging"}
BYTE_ARRAY = "org.apache.kafka.connect.converters.ByteArrayConverter"


def pod_spec(run: ProgramRun) -> dict[str, Any]:
    spec: dict[str, Any] = run.one(DEPLOYMENT).inputs["spec"]["template"]["spec"]
    return spec


def worker_container(run: ProgramRun) -> dict[str, Any]:
    (worker,) = pod_spec(run)["containers"]
    assert isinstance(worker, dict)
    return worker


def parse_properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {key: value for key, value in pairs}


def worker_properties(run: ProgramRun) -> dict[str, str]:
    data = run.one(CONFIG_MAP, "connect-config").inputs["data"]
    return parse_properties(data[image_layout.WORKER_PROPERTIES_FILE])


# --- Deployment --------------------------------------------------------------------------------


def test_deployment_runs_the_pushed_image_by_digest(staging: ProgramRun) -> None:
    image = worker_container(staging)["image"]
    assert image == f"111111111111.dkr.ecr.eu-west-1.amazonaws.com/mm2-eks-staging@{IMAGE_DIGEST}"
    assert image == staging.outputs["imageDigest"]
    assert ":latest" not in image


def test_deployment_replicas_spread_and_pinned(staging: ProgramRun, values: dict[str, Any]) -> None:
    deployment = staging.one(DEPLOYMENT).inputs
    assert deployment["metadata"]["namespace"] == "mirrormaker2"
    assert deployment["spec"]["replicas"] == values[f"{PROJECT}:connect"]["replicas"] == 3
    assert deployment["spec"]["selector"] == {"matchLabels": WORKER_LABELS}
    assert deployment["spec"]["template"]["metadata"]["labels"].items() >= WORKER_LABELS.items()
    pod = pod_spec(staging)
    assert pod["affinity"]["podAntiAffinity"] == {
        "requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": WORKER_LABELS}, "topologyKey": "kubernetes.io/hostname"}
        ]
    }
    assert pod["topologySpreadConstraints"] == [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": WORKER_LABELS},
        }
    ]
    assert pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"] == [
        {"matchExpressions": [{"key": "workload", "operator": "In", "values": ["mirrormaker2"]}]}
    ]


def test_probes_ports_env_and_resources(staging: ProgramRun, values: dict[str, Any]) -> None:
    worker = worker_container(staging)
    assert worker["readinessProbe"]["exec"] == {"command": [image_layout.HEALTHCHECK]}
    # docker/healthcheck.sh gives up after 12 s; the kubelet must wait longer to read its reason.
    assert worker["readinessProbe"]["timeoutSeconds"] > 12
    assert worker["livenessProbe"]["tcpSocket"] == {"port": image_layout.REST_PORT}
    assert worker["startupProbe"]["tcpSocket"] == {"port": image_layout.REST_PORT}
    assert {(p["name"], p["containerPort"]) for p in worker["ports"]} == {
        ("rest", image_layout.REST_PORT),
        ("metrics", image_layout.METRICS_PORT),
    }
    assert {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}} in worker["env"]
    connect = values[f"{PROJECT}:connect"]
    assert worker["resources"] == {
        "requests": {"cpu": connect["cpuRequest"], "memory": connect["memoryRequest"]},
        "limits": {"cpu": connect["cpuLimit"], "memory": connect["memoryLimit"]},
    }
    assert worker["args"] == [image_layout.WORKER_PROPERTIES]


def test_workers_run_locked_down(staging: ProgramRun) -> None:
    assert worker_container(staging)["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": image_layout.RUN_AS_USER,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
    pod = pod_spec(staging)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["fsGroup"] == image_layout.RUN_AS_USER
    assert pod["automountServiceAccountToken"] is False
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes["tmp"]
    mounts = {m["name"]: m["mountPath"] for m in worker_container(staging)["volumeMounts"]}
    assert mounts == {
        "worker-config": image_layout.WORKER_CONFIG_DIR,
        "credentials": image_layout.SECRETS_DIR,
        "rest-auth": image_layout.REST_AUTH_DIR,
        "tmp": image_layout.TMP_DIR,
    }


def test_files_are_mounted_where_the_image_reads_them(staging: ProgramRun) -> None:
    volumes = {v["name"]: v for v in pod_spec(staging)["volumes"]}
    assert volumes["worker-config"]["configMap"]["name"] == "mm2-staging-config"
    assert volumes["credentials"]["secret"]["secretName"] == "mm2-staging-credentials"
    sources = volumes["rest-auth"]["projected"]["sources"]
    assert sources[0]["configMap"] == {
        "name": "mm2-staging-config",
        "items": [{"key": image_layout.REST_JAAS_FILE, "path": image_layout.REST_JAAS_FILE}],
    }
    assert sources[1]["secret"]["name"] == "mm2-staging-rest-auth"
    assert {item["path"] for item in sources[1]["secret"]["items"]} == {
        image_layout.REST_USERS_FILE,
        image_layout.PROBE_AUTH_FILE,
    }
    # The file the entrypoint reads by default, and the JAAS file it passes to the JVM.
    assert volumes["worker-config"]["configMap"]["items"] == [
        {"key": image_layout.WORKER_PROPERTIES_FILE, "path": image_layout.WORKER_PROPERTIES_FILE}
    ]


def test_config_changes_roll_the_workers(staging: ProgramRun) -> None:
    data = staging.one(CONFIG_MAP, "connect-config").inputs["data"]
    annotations = staging.one(DEPLOYMENT).inputs["spec"]["template"]["metadata"]["annotations"]
    assert annotations["checksum/config"] == checksum(data)
    assert annotations["checksum/config"] == hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


# --- Worker config -------------------------------------------------------------------------------


def test_worker_properties_copy_bytes_and_use_config_providers(staging: ProgramRun) -> None:
    properties = worker_properties(staging)
    assert properties["key.converter"] == properties["value.converter"] == properties["header.converter"] == BYTE_ARRAY
    assert properties["config.providers"] == "file,dir,env"
    assert properties["config.providers.file.class"] == "org.apache.kafka.common.config.provider.FileConfigProvider"
    assert properties["config.providers.dir.class"] == "org.apache.kafka.common.config.provider.DirectoryConfigProvider"
    assert properties["config.providers.env.class"] == "org.apache.kafka.common.config.provider.EnvVarConfigProvider"
    assert properties["config.providers.file.param.allowed.paths"] == image_layout.SECRETS_DIR


def test_worker_properties_internal_topics_and_rest(staging: ProgramRun, values: dict[str, Any]) -> None:
    properties = worker_properties(staging)
    assert properties["group.id"] == "mm2-staging"
    for kind, topic in (("config", "configs"), ("offset", "offsets"), ("status", "status")):
        assert properties[f"{kind}.storage.topic"] == f"mm2-staging-{topic}"
        assert properties[f"{kind}.storage.replication.factor"] == "3"
    assert properties["rest.advertised.host.name"] == "${env:POD_IP}"
    assert properties["listeners"] == f"http://0.0.0.0:{image_layout.REST_PORT}"
    extensions = properties["rest.extension.classes"].split(",")
    assert extensions[0].endswith("BasicAuthSecurityRestExtension")  # authenticates before ours see a request
    assert "io.github.mm2eks.worker.restarts.TaskRestartSupervisor" in extensions
    # The supervisor restarts through the worker's own REST API with the probe's token; Strimzi's defaults.
    assert properties["mm2.task.restarts.authorization.file"] == (
        f"{image_layout.REST_AUTH_DIR}/{image_layout.PROBE_AUTH_FILE}"
    )
    assert properties["mm2.task.restarts.backoff.unit.ms"] == "60000"
    assert "mm2.task.restarts.max" not in properties  # unlimited
    assert properties["exactly.once.source.support"] == "enabled"
    assert properties["scheduled.rebalance.max.delay.ms"] == str(values[f"{PROJECT}:connect"]["rebalanceDelayMs"])
    destination = values[f"{PROJECT}:destination"]
    for prefix in ("", "producer.", "consumer.", "admin."):
        assert properties[f"{prefix}bootstrap.servers"] == destination["bootstrapServers"]
        assert properties[f"{prefix}sasl.mechanism"] == "AWS_MSK_IAM"
    jaas = staging.one(CONFIG_MAP, "connect-config").inputs["data"][image_layout.REST_JAAS_FILE]
    assert f'file="{image_layout.REST_AUTH_DIR}/{image_layout.REST_USERS_FILE}"' in jaas


def test_secret_files_hold_the_credentials(staging: ProgramRun) -> None:
    credentials = staging.one(SECRET, "connect-credentials").inputs["stringData"]
    assert set(credentials) == {"confluent.properties", "msk-legacy.properties"}
    assert SECRETS["confluent_password"] in credentials["confluent.properties"]
    assert "ScramLoginModule" in credentials["msk-legacy.properties"]
    assert SECRETS["msk_legacy_password"] in credentials["msk-legacy.properties"]
    rest_auth = staging.one(SECRET, "connect-rest-auth").inputs["stringData"]
    assert rest_auth[image_layout.REST_USERS_FILE] == f"mm2-admin: {SECRETS['connect_password']}\n"
    token = base64.b64decode(rest_auth[image_layout.PROBE_AUTH_FILE]).decode()
    assert token == f"mm2-admin:{SECRETS['connect_password']}"


# --- Service, disruption budget, network policy --------------------------------------------------


def test_service_budget_and_network_policy(staging: ProgramRun) -> None:
    service = staging.one("kubernetes:core/v1:Service").inputs
    assert service["metadata"]["name"] == staging.outputs["connectServiceName"] == "mm2-staging-connect"
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["selector"] == WORKER_LABELS
    assert {(p["name"], p["port"], p["targetPort"]) for p in service["spec"]["ports"]} == {
        ("rest", image_layout.REST_PORT, "rest"),
        ("metrics", image_layout.METRICS_PORT, "metrics"),
    }
    budget = staging.one("kubernetes:policy/v1:PodDisruptionBudget").inputs["spec"]
    assert budget == {"maxUnavailable": 1, "selector": {"matchLabels": WORKER_LABELS}}

    policy = staging.one("kubernetes:networking.k8s.io/v1:NetworkPolicy").inputs["spec"]
    assert policy["podSelector"] == {"matchLabels": WORKER_LABELS}
    assert policy["policyTypes"] == ["Ingress"]
    rest, metrics = policy["ingress"]
    assert rest == {
        "from": [{"podSelector": {"matchLabels": WORKER_LABELS}}],
        "ports": [{"protocol": "TCP", "port": image_layout.REST_PORT}],
    }
    assert metrics == {
        "from": [{"namespaceSelector": {}}],
        "ports": [{"protocol": "TCP", "port": image_layout.METRICS_PORT}],
    }


# --- IAM -------------------------------------------------------------------------------------------


def test_worker_policy_grants_exactly_what_mirrormaker_needs(staging: ProgramRun) -> None:
    policy = json.loads(staging.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    destination = "arn:aws:kafka:eu-west-1:111111111111:{}/msk-main/4f1c2a3b-5d6e-7f80-91a2-b3c4d5e6f708-4"
    assert policy == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DestinationCluster",
                "Effect": "Allow",
                "Action": [
                    "kafka-cluster:Connect",
                    "kafka-cluster:DescribeCluster",
                    "kafka-cluster:WriteDataIdempotently",
                ],
                "Resource": destination.format("cluster"),
            },
            {
                "Sid": "DestinationTopics",
                "Effect": "Allow",
                "Action": [
                    "kafka-cluster:DescribeTopic",
                    "kafka-cluster:CreateTopic",
                    "kafka-cluster:AlterTopic",
                    "kafka-cluster:DescribeTopicDynamicConfiguration",
                    "kafka-cluster:AlterTopicDynamicConfiguration",
                    "kafka-cluster:ReadData",
                    "kafka-cluster:WriteData",
                ],
                "Resource": destination.format("topic") + "/*",
            },
            {
                "Sid": "DestinationGroups",
                "Effect": "Allow",
                "Action": ["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"],
                "Resource": destination.format("group") + "/*",
            },
            {
                "Sid": "DestinationTransactions",
                "Effect": "Allow",
                "Action": ["kafka-cluster:DescribeTransactionalId", "kafka-cluster:AlterTransactionalId"],
                "Resource": [
                    destination.format("transactional-id") + "/connect-cluster-mm2-staging",
                    destination.format("transactional-id") + "/mm2-staging-*",
                ],
            },
            # msk-east is read through a role in its own account; confluent uses SASL.
            {
                "Sid": "AssumeClusterRoles",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": ["arn:aws:iam::222222222222:role/mm2-staging-msk-east-reader"],
            },
        ],
    }
    assert staging.one("aws:iam/rolePolicy:RolePolicy").inputs["role"] == "connect-workers-id"


# --- Connectors ------------------------------------------------------------------------------------


def connector_files() -> list[Path]:
    return sorted(
        path
        for path in (PROJECT_ROOT / "connectors" / "staging" / "msk-main").glob("*/*.json")
        if path.name != "_source.json"
    )


def test_one_connector_per_file(staging: ProgramRun) -> None:
    connectors = staging.of_type(CONNECTOR)
    files = connector_files()
    assert len(connectors) == len(files) >= 6
    assert sorted(c.inputs["source_file"] for c in connectors) == sorted(
        str(path.relative_to(PROJECT_ROOT)) for path in files
    )
    assert staging.outputs["connectorNames"] == sorted(c.inputs["connector_name"] for c in connectors)


def test_connectors_wait_for_the_deployment_and_reach_it_by_port_forward(staging: ProgramRun) -> None:
    deployment = staging.one(DEPLOYMENT)
    connector_set = staging.one("mm2:connect:ConnectorSet")
    assert deployment.urn in connector_set.dependencies
    for connector in staging.of_type(CONNECTOR):
        # Each connector depends on the Deployment itself, not only through its component.
        assert deployment.urn in connector.dependencies, connector.name
        assert connector.inputs["connect"]["kubernetes"] == {
            "namespace": "mirrormaker2",
            "selector": "app.kubernetes.io/name=mirrormaker2,app.kubernetes.io/instance=mm2-staging",
            "port": image_layout.REST_PORT,
        }
        assert connector.inputs["connect"]["username"] == "mm2-admin"
        assert connector.inputs["connect"]["state_deadline_seconds"] == 300
    selector_text = staging.of_type(CONNECTOR)[0].inputs["connect"]["kubernetes"]["selector"]
    selector = dict(pair.split("=") for pair in selector_text.split(","))
    assert deployment.inputs["spec"]["template"]["metadata"]["labels"].items() >= selector.items()


def test_connectors_reach_a_configured_url_without_port_forward(values: dict[str, Any]) -> None:
    values[f"{PROJECT}:connect"]["url"] = "http://internal-mm2.staging.example:8083"
    values[f"{PROJECT}:connect"]["registrationCidrs"] = ["10.10.0.0/16"]
    run = run_program(values)
    for connector in run.of_type(CONNECTOR):
        assert connector.inputs["connect"]["url"] == "http://internal-mm2.staging.example:8083"
        assert "kubernetes" not in connector.inputs["connect"]
        assert connector.inputs["kubeconfig"] == ""
        assert run.one(DEPLOYMENT).urn in connector.dependencies
    rest = run.one("kubernetes:networking.k8s.io/v1:NetworkPolicy").inputs["spec"]["ingress"][0]
    assert rest["from"] == [{"podSelector": {"matchLabels": WORKER_LABELS}}, {"ipBlock": {"cidr": "10.10.0.0/16"}}]


def test_connector_configs_come_from_the_stack_and_the_source_folder(staging: ProgramRun) -> None:
    configs = {c.inputs["connector_name"]: c.inputs["config"] for c in staging.of_type(CONNECTOR)}
    orders = configs["orders"]
    assert orders["replication.policy.topic.renames"] == "orders:orders-replica,events:events-staging"
    assert orders["replication.policy.topic.template"] == "${source}.${topic}"
    assert orders["source.cluster.sasl.jaas.config"] == (
        "software.amazon.msk.auth.iam.IAMLoginModule required "
        'awsRoleArn="arn:aws:iam::222222222222:role/mm2-staging-msk-east-reader";'
    )
    assert orders["exactly.once.support"] == "required"
    payments = configs["payments"]
    reference = "${file:/etc/mm2/secrets/confluent.properties:sasl.jaas.config}"
    assert payments["source.cluster.sasl.jaas.config"] == reference
    assert payments["source.cluster.bootstrap.servers"] == "pkc-xxxx.eu-west-1.aws.confluent.cloud:9092"
    for config in configs.values():
        assert config["key.converter"] == config["value.converter"] == config["header.converter"] == BYTE_ARRAY


def test_stack_outputs(staging: ProgramRun) -> None:
    assert set(staging.outputs) == {
        "clusterName",
        "kubeconfig",
        "ecrRepositoryUrl",
        "imageDigest",
        "connectServiceName",
        "connectNamespace",
        "connectorNames",
    }
    assert staging.outputs["connectNamespace"] == "mirrormaker2"
    assert staging.outputs["ecrRepositoryUrl"] == "111111111111.dkr.ecr.eu-west-1.amazonaws.com/mm2-eks-staging"


# --- One renderer -------------------------------------------------------------------------------


def test_the_component_declares_exactly_the_rendered_workload(staging: ProgramRun) -> None:
    """What the Kubernetes tests apply to a real cluster is, field for field, what the program deploys."""
    secrets = secret_values()
    settings, stack_secrets = load_stack(engine_config({**staging_values(), **secrets}), set(secrets))
    workload = render_workload(
        settings,
        stack_secrets,
        image=staging.outputs["imageDigest"],
        node_labels={"workload": "mirrormaker2"},
        role_arn=f"arn:aws:iam::{EKS_ACCOUNT}:role/mm2-staging-connect-workers",
    )
    component = staging.one("mm2:k8s:ConnectCluster").urn
    declared = {
        (r.inputs["kind"], r.inputs["metadata"]["name"]): integral(r.inputs)
        for r in staging.registrations
        if r.parent == component and r.type.startswith("kubernetes:")
    }
    rendered = {(m["kind"], m["metadata"]["name"]): m for m in workload.manifests()}
    assert declared.keys() == rendered.keys()
    for key, manifest in rendered.items():
        assert declared[key] == manifest, f"{key}: the component declares something else than the renderer"
