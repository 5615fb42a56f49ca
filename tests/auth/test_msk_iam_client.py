"""MSK IAM cannot run here (it needs AWS's brokers), but the image's IAM client settings must load.

A real Kafka client (the worker's own check, `ClusterCheckCommand`, from the runtime's jars) gets
the IAM settings `client_properties` renders and connects to a stand-in listener on loopback
(tests/auth/msk_iam_stand_in.py) that accepts the AWS_MSK_IAM handshake. With the login module
and callback handler loaded, the client then needs AWS credentials for its first SASL token, and
there are none: it must fail with a credentials error, not a configuration error. It runs in a
network namespace with only `lo` up, traced: every address it connects or sends to is loopback,
so neither STS nor the instance metadata service (169.254.169.254) was even tried. Needs root
(`ip netns`).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connect.cluster_connection import ClusterEndpoint, client_properties, properties_escape
from connect.java_command import JavaClasspath, java_command
from localkafka import certs
from localkafka.jars import ensure_jars
from localkafka.paths import REPO_ROOT
from stackconfig.models import IamAuth

CHECK_COMMAND = "io.github.mm2eks.worker.preflight.ClusterCheckCommand"
PORT = 9098  # MSK's IAM port; free in a namespace of its own
STAGING_ROLE = "arn:aws:iam::222222222222:role/mm2-staging-msk-east-reader"
# No credentials anywhere the AWS SDK looks, and no lookup that would leave the machine.
AWS_ENVIRONMENT = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_REGION": "us-east-1",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
    "AWS_CONFIG_FILE": "/nonexistent/config",
}
ADDRESS = re.compile(r'inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"')


@pytest.fixture(scope="module")
def java() -> JavaClasspath:
    return ensure_jars().java


@pytest.fixture(scope="module")
def namespace() -> Iterator[str]:
    name = f"mm2-iam-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True, timeout=30)
    try:
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True, timeout=30)
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False, capture_output=True, timeout=30)


def run_client(
    java: JavaClasspath, namespace: str, folder: Path, auth: IamAuth, overrides: dict[str, str] | None = None
) -> dict[str, Any]:
    """The IAM client against the stand-in, in the namespace: its result, what the stand-in saw, what it reached."""
    ca = certs.new_ca("MSK stand-in CA")
    broker = certs.issue(ca, "msk-stand-in", ("127.0.0.1",), server=True)
    for name, content in {
        "ca.pem": ca.certificate,
        "broker.pem": broker.certificate,
        "broker-key.pem": broker.private_key,
    }.items():
        (folder / name).write_text(content)
    endpoint = ClusterEndpoint("msk-east", f"127.0.0.1:{PORT}", auth)
    properties = client_properties(endpoint, str(folder))
    # Only the stand-in's CA is added: its certificate is not Amazon's. The IAM settings are as rendered.
    properties |= {"ssl.truststore.type": "PEM", "ssl.truststore.location": str(folder / "ca.pem"), **(overrides or {})}
    client_file = folder / "client.properties"
    client_file.write_text("".join(f"{key}={properties_escape(value)}\n" for key, value in properties.items()))
    command = java_command(java, CHECK_COMMAND, str(client_file), "15000")
    record, trace = folder / "stand-in.json", folder / "network.trace"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    environment |= {**AWS_ENVIRONMENT, "HOME": str(folder)}
    traced = ["strace", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-o", str(trace)]
    stand_in = [sys.executable, "-m", "tests.auth.msk_iam_stand_in", "--port", str(PORT), "--record", str(record)]
    stand_in += ["--certificate", str(folder / "broker.pem"), "--key", str(folder / "broker-key.pem"), "--", *command]
    subprocess.run(
        ["ip", "netns", "exec", namespace, *traced, *stand_in], env=environment, cwd=REPO_ROOT, timeout=180, check=True
    )
    seen = json.loads(record.read_text())
    printed = [line for line in seen["stdout"].splitlines() if line.startswith("{")]
    assert printed, f"the check printed no result: {seen['stdout'][-2000:]} {seen['stderr']}"
    addresses = {v4 or v6 for v4, v6 in ADDRESS.findall(trace.read_text())}
    return {"result": json.loads(printed[-1]), "mechanisms": seen["mechanisms"], "addresses": addresses}


def loopback(address: str) -> bool:
    parsed = ipaddress.ip_address(address)
    mapped = parsed.ipv4_mapped if isinstance(parsed, ipaddress.IPv6Address) else None
    return (mapped or parsed).is_loopback


@pytest.mark.parametrize(
    "auth",
    [
        IamAuth(mode="iam"),  # the staging destination: the workers' own role
        IamAuth(mode="iam", role_arn=STAGING_ROLE),  # the staging msk-east source: a role in its account
        IamAuth(mode="iam", role_arn=STAGING_ROLE, sts_region="us-east-1"),
    ],
    ids=["own-role", "cross-account-role", "cross-account-role-sts-region"],
)
def test_the_iam_settings_load_and_fail_for_want_of_credentials(
    java: JavaClasspath, namespace: str, tmp_path: Path, auth: IamAuth
) -> None:
    seen = run_client(java, namespace, tmp_path, auth)
    cause = seen["result"].get("cause", "")
    assert seen["result"]["reachable"] is False
    # The SASL exchange began: the login module and the callback handler resolved and were configured.
    assert seen["mechanisms"] and set(seen["mechanisms"]) == {"AWS_MSK_IAM"}, seen
    assert cause.startswith("authentication failed: "), cause
    assert "credentials" in cause.lower(), cause
    assert "cannot be created" not in cause, cause
    assert seen["addresses"] and all(loopback(address) for address in seen["addresses"]), seen["addresses"]


def test_a_class_that_does_not_load_is_a_configuration_error(
    java: JavaClasspath, namespace: str, tmp_path: Path
) -> None:
    """The control: the same client with a misspelt callback handler fails before it connects."""
    handler = {"sasl.client.callback.handler.class": "software.amazon.msk.auth.iam.IAMClientCallbackHandlr"}
    seen = run_client(java, namespace, tmp_path, IamAuth(mode="iam"), handler)
    cause = seen["result"]["cause"]
    assert cause.startswith("the client cannot be created with these settings: "), cause
    assert "IAMClientCallbackHandlr" in cause, cause
    assert seen["mechanisms"] == []
