"""TLS, mutual TLS and SASL settings under mocks: what each mode needs, and bad input refused by key.

Every refusal happens in `load_stack`, before any resource is declared, names the config key and
never quotes a secret. The rendering side: client properties reference PEM files in the secrets
folder, and the Secret holds them (the private key decrypted: its password would sit beside it).
"""

from __future__ import annotations

import datetime
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from harness.mocked_program import PROJECT_ROOT, ProgramRun, last_run, run_program, secret_values, staging_values
from localkafka import certs
from stackconfig.load import PROJECT, StackConfigError
from tests.unit.test_eks_secrets import plaintext_leaks

CA = certs.new_ca("dc1 CA")
CLIENT = certs.issue(CA, "mm2-mirror", server=False)
KEY_PASSWORD = "k3y-Pa55word-for-dc1"
SOURCE = f"{PROJECT}:sources"
CREDENTIALS = f"{PROJECT}:credentials"


def encrypted(private_key: str, password: str) -> str:
    key = serialization.load_pem_private_key(private_key.encode(), password=None)
    encryption = serialization.BestAvailableEncryption(password.encode())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode()


def dc1_values() -> dict[str, Any]:
    """The staging stack plus dc1: a self-managed cluster with mutual TLS and its own CA."""
    values = staging_values()
    values[SOURCE]["dc1"] = {
        "bootstrapServers": "kafka-1.dc1.example:9093",
        "auth": {"mode": "mtls", "privateCa": True},
    }
    return values


def dc1_secrets(**credentials: Any) -> dict[str, Any]:
    secrets = secret_values()
    dc1 = {
        "certificate": CLIENT.certificate,
        "privateKey": encrypted(CLIENT.private_key, KEY_PASSWORD),
        "privateKeyPassword": KEY_PASSWORD,
        "trustedCertificates": CA.certificate,
    }
    dc1.update(credentials)
    secrets[CREDENTIALS] = {**secrets[CREDENTIALS], "dc1": {k: v for k, v in dc1.items() if v is not None}}
    return secrets


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dc1")
    shutil.copytree(PROJECT_ROOT / "connectors", root / "connectors")
    shutil.copytree(PROJECT_ROOT / "monitoring", root / "monitoring")
    folder = root / "connectors" / "staging" / "msk-main" / "dc1"
    folder.mkdir()
    (folder / "ledger.json").write_text('{"config": {"connector.class": "MirrorSourceConnector", "topics": "ledger"}}')
    return root


@pytest.fixture(scope="module")
def dc1(project: Path) -> ProgramRun:
    return run_program(dc1_values(), dc1_secrets(), project_root=project)


def test_mutual_tls_settings_reference_pem_files_in_the_secrets_folder(dc1: ProgramRun) -> None:
    (connector,) = [c for c in dc1.of_type("pulumi-python:dynamic:Resource") if c.inputs["connector_name"] == "ledger"]
    config = connector.inputs["config"]
    assert config["source.cluster.security.protocol"] == "SSL"
    assert config["source.cluster.ssl.keystore.type"] == config["source.cluster.ssl.truststore.type"] == "PEM"
    assert config["source.cluster.ssl.keystore.certificate.chain"] == "${dir:/etc/mm2/secrets:dc1-certificate.pem}"
    assert config["source.cluster.ssl.keystore.key"] == "${dir:/etc/mm2/secrets:dc1-private-key.pem}"
    assert config["source.cluster.ssl.truststore.certificates"] == "${dir:/etc/mm2/secrets:dc1-ca.pem}"
    assert not any("password" in key for key in config if key.startswith("source.cluster.ssl"))


def test_the_secret_holds_the_certificates_and_the_key_decrypted(dc1: ProgramRun) -> None:
    files = dc1.one("kubernetes:core/v1:Secret", "connect-credentials").inputs["stringData"]
    assert files["dc1-ca.pem"] == CA.certificate
    assert files["dc1-certificate.pem"] == CLIENT.certificate
    key = files["dc1-private-key.pem"]
    assert key.startswith("-----BEGIN PRIVATE KEY-----"), "unencrypted PKCS#8, which Kafka reads without a password"
    assert (
        serialization.load_pem_private_key(key.encode(), None).public_key()
        == x509.load_pem_x509_certificate(CLIENT.certificate.encode()).public_key()
    )
    assert KEY_PASSWORD not in "".join(files.values())


def test_private_keys_and_their_password_never_in_plain_text(dc1: ProgramRun) -> None:
    """The secret sweep, for TLS: the key as given (encrypted), as the Secret holds it, and its password."""
    given = encrypted(CLIENT.private_key, KEY_PASSWORD)
    secrets = {"privateKeyPassword": KEY_PASSWORD}
    for form, pem in (("given", given), ("decrypted", CLIENT.private_key)):
        body = [line for line in pem.splitlines() if not line.startswith("-----")]
        secrets |= {f"{form} key line {index}": line for index, line in enumerate(body)}
    everything = json.dumps([registration.raw for registration in dc1.registrations])
    for name, secret in secrets.items():
        assert not plaintext_leaks(dc1, secret), f"{name} in plain text"
    assert all(line in everything for line in CLIENT.private_key.splitlines()[1:-1]), "the Secret holds the key"


# --- Bad input: refused by key, before anything is declared -------------------------------------

Change = Callable[[dict[str, Any], dict[str, Any]], None]


def other_key() -> str:
    return certs.issue(CA, "someone-else", server=False).private_key


def expired_certificate() -> str:
    ca_key = serialization.load_pem_private_key(CA.private_key.encode(), None)
    client_key = serialization.load_pem_private_key(CLIENT.private_key.encode(), None)
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "mm2-mirror")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(x509.load_pem_x509_certificate(CA.certificate.encode()).subject)
        .public_key(client_key.public_key())  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=60))
        .not_valid_after(now - datetime.timedelta(days=30))
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def ed25519_key() -> str:
    key = ed25519.Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def with_dc1(**credentials: Any) -> Change:
    def change(values: dict[str, Any], secrets: dict[str, Any]) -> None:
        values.update(dc1_values())
        secrets.update(dc1_secrets(**credentials))

    return change


def auth_of(source: str, auth: dict[str, Any]) -> Change:
    def change(values: dict[str, Any], _secrets: dict[str, Any]) -> None:
        values[SOURCE][source]["auth"] = auth

    return change


def credentials_of(cluster: str, credentials: dict[str, Any] | None) -> Change:
    def change(_values: dict[str, Any], secrets: dict[str, Any]) -> None:
        if credentials is None:
            del secrets[CREDENTIALS][cluster]
        else:
            secrets[CREDENTIALS][cluster] = credentials

    return change


def both(*changes: Change) -> Change:
    def change(values: dict[str, Any], secrets: dict[str, Any]) -> None:
        for one in changes:
            one(values, secrets)

    return change


PLAIN = {"username": "u", "password": "p"}

BAD_INPUT: dict[str, tuple[Change, str]] = {
    "unknown auth mode": (
        auth_of("confluent", {"mode": "kerberos"}),
        "mm2-eks:sources.confluent.auth: Input tag 'kerberos' found using 'mode' does not match",
    ),
    "mtls without credentials": (
        both(with_dc1(), credentials_of("dc1", None)),
        "mm2-eks:credentials.dc1: required (certificate, privateKey and trustedCertificates) because cluster "
        "'dc1' uses auth.mode mtls and a private CA (auth.privateCa)",
    ),
    "mtls without its certificate": (
        with_dc1(certificate=None),
        "mm2-eks:credentials.dc1.certificate: required because the cluster uses auth.mode mtls",
    ),
    "scram without its password": (
        credentials_of("msk-legacy", {"username": "mm2-scram-mirror"}),
        "mm2-eks:credentials.msk-legacy.password: required because the cluster uses SASL auth",
    ),
    "an encrypted key without its password": (
        with_dc1(privateKeyPassword=None),
        "mm2-eks:credentials.dc1.privateKeyPassword: required: privateKey is encrypted",
    ),
    "a password that does not decrypt the key": (
        with_dc1(privateKeyPassword="not-the-password"),
        "mm2-eks:credentials.dc1.privateKeyPassword: does not decrypt privateKey",
    ),
    "a password for a key that is not encrypted": (
        with_dc1(privateKey=CLIENT.private_key),
        "mm2-eks:credentials.dc1.privateKeyPassword: set, but privateKey is not encrypted: remove it",
    ),
    "a key that is not the certificate's": (
        with_dc1(privateKey=other_key(), privateKeyPassword=None),
        "mm2-eks:credentials.dc1.privateKey: does not belong to the certificate",
    ),
    "a key type Kafka cannot read": (
        with_dc1(privateKey=ed25519_key(), privateKeyPassword=None),
        "mm2-eks:credentials.dc1.privateKey: key type Ed25519",
    ),
    "an expired client certificate": (
        with_dc1(certificate=expired_certificate()),
        "mm2-eks:credentials.dc1.certificate: expired on",
    ),
    "a CA bundle that is not PEM": (
        with_dc1(trustedCertificates="MIIB... pasted without its PEM lines"),
        "mm2-eks:credentials.dc1.trustedCertificates: expected one or more PEM certificates",
    ),
    "a private CA without its certificates": (
        with_dc1(trustedCertificates=None),
        "mm2-eks:credentials.dc1.trustedCertificates: required because the cluster uses a private CA",
    ),
    "CA certificates without privateCa": (
        credentials_of("msk-legacy", {**PLAIN, "trustedCertificates": CA.certificate}),
        "mm2-eks:credentials.msk-legacy.trustedCertificates: set, but sources.msk-legacy.auth.privateCa is not true",
    ),
    "TLS settings on a plaintext mode": (
        both(
            auth_of("msk-legacy", {"mode": "plaintext", "privateCa": True}),
            credentials_of("msk-legacy", None),
        ),
        "mm2-eks:sources.msk-legacy.auth: privateCa is a TLS setting, but auth.mode plaintext has no TLS",
    ),
    "TLS settings on SASL without TLS": (
        auth_of("confluent", {"mode": "plain", "tls": False, "privateCa": True}),
        "mm2-eks:sources.confluent.auth: privateCa is a TLS setting, but it needs TLS, and auth.tls is false",
    ),
    "TLS credentials on SASL without TLS": (
        both(
            auth_of("confluent", {"mode": "plain", "tls": False}),
            credentials_of("confluent", {**PLAIN, "trustedCertificates": CA.certificate}),
        ),
        "mm2-eks:credentials.confluent.trustedCertificates: a TLS setting, but sources.confluent.auth has no TLS",
    ),
    "a client certificate for a mode without one": (
        credentials_of("msk-legacy", {**PLAIN, "certificate": CLIENT.certificate}),
        "mm2-eks:credentials.msk-legacy.certificate: not used by auth.mode scram",
    ),
    "credentials for an IAM cluster": (
        credentials_of("msk-east", PLAIN),
        "mm2-eks:credentials.msk-east: cluster 'msk-east' uses auth.mode iam, which takes no credentials",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_auth_input_names_the_key_and_declares_nothing(project: Path, case: str) -> None:
    change, message = BAD_INPUT[case]
    values, secrets = staging_values(), secret_values()
    change(values, secrets)
    with pytest.raises(StackConfigError) as raised:
        run_program(values, secrets, project_root=project)
    assert message in str(raised.value), str(raised.value)
    assert last_run().registrations == []
    for secret in (KEY_PASSWORD, CLIENT.private_key.splitlines()[1]):
        assert secret not in str(raised.value)
