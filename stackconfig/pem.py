"""Checks of the PEM certificates and private keys in `credentials.<cluster>`, before anything is rendered.

Kafka reads them only when a worker first connects to the cluster: a wrong file found then is a
task that fails minutes after `pulumi up`. Each problem names the key (`privateKeyPassword`, ...)
and never quotes a value.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa

# The key types Kafka's PEM keystore reads (DefaultSslEngineFactory tries RSA, DSA and EC).
KAFKA_KEY_TYPES = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, dsa.DSAPrivateKey)


@dataclass(frozen=True)
class Problem:
    key: str  # the camelCase key under credentials.<cluster>
    message: str


def certificate_problems(key: str, pem: str) -> list[Problem]:
    """A bundle of one or more PEM certificates (a CA bundle, a certificate and its chain)."""
    try:
        x509.load_pem_x509_certificates(pem.encode())
    except ValueError:
        return [Problem(key, "expected one or more PEM certificates (-----BEGIN CERTIFICATE-----)")]
    return []


def client_key_pair(certificate: str, private_key: str, password: str | None) -> tuple[str | None, list[Problem]]:
    """The client's key as unencrypted PKCS#8 PEM (what the workers get), or the problems found.

    Checks that the key decrypts with its password (and has one only when it is encrypted), is a
    type Kafka reads, and belongs to the first certificate, and that the certificate is valid now.
    """
    problems = certificate_problems("certificate", certificate)
    key, key_problems = _load_key(private_key, password)
    problems += key_problems
    if problems or key is None:
        return None, problems
    leaf = x509.load_pem_x509_certificates(certificate.encode())[0]
    now = datetime.datetime.now(datetime.UTC)
    if leaf.not_valid_after_utc < now:
        problems.append(Problem("certificate", f"expired on {leaf.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"))
    elif leaf.not_valid_before_utc > now:
        problems.append(Problem("certificate", f"not valid before {leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"))
    if _public_der(leaf.public_key()) != _public_der(key.public_key()):
        problems.append(Problem("privateKey", "does not belong to the certificate (the first one in certificate)"))
    if problems:
        return None, problems
    unencrypted = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return unencrypted.decode(), []


def _load_key(
    pem: str, password: str | None
) -> tuple[rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | dsa.DSAPrivateKey | None, list[Problem]]:
    # PKCS#8 says "BEGIN ENCRYPTED PRIVATE KEY"; legacy OpenSSL keys say "Proc-Type: 4,ENCRYPTED".
    encrypted = "ENCRYPTED" in pem
    if encrypted and password is None:
        return None, [Problem("privateKeyPassword", "required: privateKey is encrypted")]
    if not encrypted and password is not None:
        return None, [Problem("privateKeyPassword", "set, but privateKey is not encrypted: remove it")]
    try:
        key = serialization.load_pem_private_key(pem.encode(), password.encode() if password is not None else None)
    except ValueError:
        if encrypted:
            return None, [Problem("privateKeyPassword", "does not decrypt privateKey")]
        return None, [Problem("privateKey", "expected a PEM private key (-----BEGIN PRIVATE KEY-----)")]
    except (TypeError, UnsupportedAlgorithm):
        return None, [Problem("privateKey", "expected a PEM private key (-----BEGIN PRIVATE KEY-----)")]
    if not isinstance(key, KAFKA_KEY_TYPES):
        kind = type(key).__name__.removeprefix("_").replace("PrivateKey", "")
        return None, [Problem("privateKey", f"key type {kind}: Kafka's PEM keystores read RSA, EC and DSA keys")]
    return key, []


def _public_der(public_key: object) -> bytes:
    if not hasattr(public_key, "public_bytes"):
        return b""
    der: bytes = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return der
