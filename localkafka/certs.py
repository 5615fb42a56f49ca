"""Certificates for the local runtime's TLS listeners: one CA per runtime, broker and client certificates.

PEM throughout, because it is the one format that every party here reads without conversion:
Kafka 4.x brokers and Java clients (`ssl.keystore.type=PEM`, `ssl.truststore.type=PEM`), librdkafka
(the test clients), `cryptography` (the stack's validation) and a Kubernetes Secret's text files.
PKCS12 would need keytool or a binary Secret entry and a keystore password that protects nothing
(it would sit in the same Secret). Private keys are unencrypted PKCS#8, the form Kafka's PEM
keystores read without `ssl.key.password`; they are written to owner-only files.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Long enough for any test run or benchmark; a runtime is recreated far more often than this.
VALIDITY = datetime.timedelta(days=30)
# Clock skew between this process and the JVMs is nil, but a certificate must not start "now".
BACKDATE = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key, both PEM."""

    certificate: str
    private_key: str = field(repr=False)

    @property
    def keystore(self) -> str:
        """Key and certificate in one PEM file, as a file-based PEM keystore holds them."""
        return self.private_key + self.certificate


def new_ca(name: str) -> Issued:
    """A self-signed CA that signs every certificate of one runtime."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = _now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(_certificate_pem(certificate), key_pem(key))


def issue(
    ca: Issued, common_name: str, hosts: tuple[str, ...] = (), *, server: bool, organization: str | None = None
) -> Issued:
    """A certificate signed by `ca`: for a server (`server`, SANs = `hosts`) or for a client.

    A broker's SANs are what clients verify against the address they connect to (hostname
    verification is on, as Kafka's default `ssl.endpoint.identification.algorithm=https`).
    `organization` becomes the subject's O (Kubernetes reads a client certificate's O as its
    groups; localkube/pki.py).
    """
    ca_key = serialization.load_pem_private_key(ca.private_key.encode(), password=None)
    ca_certificate = x509.load_pem_x509_certificate(ca.certificate.encode())
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError("the runtime's CA key is an EC key")
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    subject = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        subject.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(subject))
        .issuer_name(ca_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=False,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    if hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName([_san(host) for host in hosts]), critical=False)
    certificate = builder.sign(ca_key, hashes.SHA256())
    return Issued(_certificate_pem(certificate), key_pem(key))


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _certificate_pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
