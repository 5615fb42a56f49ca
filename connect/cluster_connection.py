"""How a Kafka client reaches one cluster: bootstrap servers plus security settings.

The same properties configure the worker's own clients, the connectors' `source.cluster.*` and
`target.cluster.*` clients, and the local runtime's test clients. Passwords and keys are never
rendered here: SASL settings point at a properties file through Kafka's FileConfigProvider
(`${file:<path>:sasl.jaas.config}`), TLS settings at PEM files through its DirectoryConfigProvider
(`${dir:<folder>:<cluster>-ca.pem}`), and only those files, mounted from a Kubernetes Secret (or
written with mode 0600 by the local runtime), hold the values.

TLS material is PEM (`ssl.keystore.type=PEM`, `ssl.truststore.type=PEM`): text files that a
Kubernetes Secret mounts as they are, with the key unencrypted PKCS#8, so that no keystore
password is needed (one would sit in the same Secret as the key it protects).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stackconfig.models import ClusterAuth, IamAuth, MutualTlsAuth, SaslAuth, private_ca, uses_tls

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
    elif auth.mode in ("tls", "mtls"):
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
    return properties | tls_properties(endpoint, secrets_dir)


def tls_properties(endpoint: ClusterEndpoint, secrets_dir: str) -> dict[str, str]:
    """The truststore (a private CA) and keystore (mutual TLS) settings, as references to PEM files.

    Nothing for the JVM's public CAs: Kafka's default truststore is the JVM's. Hostname
    verification stays at Kafka's default (https): the brokers' certificates must name the
    addresses the clients connect to.
    """
    if not uses_tls(endpoint.auth):
        return {}
    properties = {}
    if private_ca(endpoint.auth):
        properties["ssl.truststore.type"] = "PEM"
        properties["ssl.truststore.certificates"] = _pem_reference(secrets_dir, trust_file_name(endpoint.name))
    if isinstance(endpoint.auth, MutualTlsAuth):
        properties["ssl.keystore.type"] = "PEM"
        properties["ssl.keystore.certificate.chain"] = _pem_reference(secrets_dir, certificate_file_name(endpoint.name))
        properties["ssl.keystore.key"] = _pem_reference(secrets_dir, private_key_file_name(endpoint.name))
    return properties


def trust_file_name(cluster_name: str) -> str:
    """The PEM bundle of the CA certificates that sign a cluster's brokers (auth.privateCa)."""
    return f"{cluster_name}-ca.pem"


def certificate_file_name(cluster_name: str) -> str:
    """The client certificate (then its chain) the workers present to a mutual-TLS cluster."""
    return f"{cluster_name}-certificate.pem"


def private_key_file_name(cluster_name: str) -> str:
    """The client certificate's private key: unencrypted PKCS#8 PEM, in the Secret only."""
    return f"{cluster_name}-private-key.pem"


@dataclass(frozen=True)
class TlsFiles:
    """A cluster's TLS material, PEM text, as the secrets folder holds it."""

    trusted_certificates: str | None = None
    certificate: str | None = None
    private_key: str | None = field(default=None, repr=False)


def tls_file_contents(cluster_name: str, files: TlsFiles) -> dict[str, str]:
    """{file name: content} for the secrets folder, under the names `tls_properties` references."""
    contents = {}
    if files.trusted_certificates is not None:
        contents[trust_file_name(cluster_name)] = files.trusted_certificates
    if files.certificate is not None:
        contents[certificate_file_name(cluster_name)] = files.certificate
    if files.private_key is not None:
        contents[private_key_file_name(cluster_name)] = files.private_key
    return contents


def _pem_reference(secrets_dir: str, file_name: str) -> str:
    # DirectoryConfigProvider: the whole content of <folder>/<file>, read by the worker itself.
    return f"${{dir:{secrets_dir.rstrip('/')}:{file_name}}}"


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
