"""How a Kafka client reaches one cluster: bootstrap servers plus security settings.

The same properties configure the worker's own clients, the connectors' `source.cluster.*` and
`target.cluster.*` clients, and the local runtime's test clients. Passwords are never rendered
here: SASL settings point at a properties file through Kafka's FileConfigProvider
(`${file:<path>:sasl.jaas.config}`), and only that file, mounted from a Kubernetes Secret (or
written with mode 0600 by the local runtime), holds the value.
"""

from __future__ import annotations

from dataclasses import dataclass

from stackconfig.models import ClusterAuth, IamAuth, SaslAuth

SASL_MECHANISMS = {"scram": "SCRAM-SHA-512", "plain": "PLAIN"}
SASL_LOGIN_MODULES = {
    "scram": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "plain": "org.apache.kafka.common.security.plain.PlainLoginModule",
}
IAM_LOGIN_MODULE = "software.amazon.msk.auth.iam.IAMLoginModule"
IAM_CALLBACK_HANDLER = "software.amazon.msk.auth.iam.IAMClientCallbackHandler"
JAAS_KEY = "sasl.jaas.config"


@dataclass(frozen=True)
class ClusterEndpoint:
    """One Kafka cluster as clients reach it; `name` is the cluster's alias in MirrorMaker 2."""

    name: str
    bootstrap_servers: str
    auth: ClusterAuth


def credentials_file_name(cluster_name: str) -> str:
    """A cluster's SASL credentials file, one per cluster in the secrets folder."""
    return f"{cluster_name}.properties"


def credentials_file(secrets_dir: str, cluster_name: str) -> str:
    """Where a cluster's SASL credentials file is mounted."""
    return f"{secrets_dir.rstrip('/')}/{credentials_file_name(cluster_name)}"


def client_properties(endpoint: ClusterEndpoint, secrets_dir: str) -> dict[str, str]:
    """Kafka client properties (unprefixed) that connect to `endpoint`."""
    auth = endpoint.auth
    properties = {"bootstrap.servers": endpoint.bootstrap_servers}
    if auth.mode == "plaintext":
        properties["security.protocol"] = "PLAINTEXT"
    elif auth.mode == "tls":
        properties["security.protocol"] = "SSL"
    elif isinstance(auth, SaslAuth):
        properties["security.protocol"] = "SASL_SSL" if auth.tls else "SASL_PLAINTEXT"
        properties["sasl.mechanism"] = SASL_MECHANISMS[auth.mode]
        properties[JAAS_KEY] = f"${{file:{credentials_file(secrets_dir, endpoint.name)}:{JAAS_KEY}}}"
    elif isinstance(auth, IamAuth):
        properties["security.protocol"] = "SASL_SSL"
        properties["sasl.mechanism"] = "AWS_MSK_IAM"
        properties[JAAS_KEY] = iam_jaas_config(auth)
        properties["sasl.client.callback.handler.class"] = IAM_CALLBACK_HANDLER
    return properties


def iam_jaas_config(auth: IamAuth) -> str:
    # No secret here: the workers' IRSA role signs the requests; a role ARN is not a secret.
    options = ""
    if auth.role_arn:
        options += f' awsRoleArn="{auth.role_arn}"'
    if auth.sts_region:
        options += f' awsStsRegion="{auth.sts_region}"'
    return f"{IAM_LOGIN_MODULE} required{options};"


def credentials_file_content(auth: SaslAuth, username: str, password: str) -> str:
    """The secret properties file that `client_properties` points at."""
    jaas = (
        f'{SASL_LOGIN_MODULES[auth.mode]} required username="{_jaas_quote(username)}" '
        f'password="{_jaas_quote(password)}";'
    )
    return f"{JAAS_KEY}={properties_escape(jaas)}\n"


def properties_escape(value: str) -> str:
    """Escape a value for a java.util.Properties file (backslashes, line breaks, leading spaces)."""
    escaped = value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    return "\\" + escaped if escaped.startswith(" ") else escaped


def _jaas_quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
