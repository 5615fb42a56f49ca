"""No secret value reaches the state in plain text: only inside Pulumi secret envelopes.

The search runs over every registered resource's inputs as they go over the wire, so it covers
ConfigMaps, connector configs, Deployments and anything added later.
"""

from __future__ import annotations

import base64
import json

import pytest

from harness.mocked_program import ECR_TOKEN_PASSWORD, SECRETS, ProgramRun, strip_secret_envelopes, walk


def secret_strings() -> dict[str, str]:
    connect = SECRETS["connect_password"]
    return {
        **SECRETS,
        # Derived forms that would give the password away just as well.
        "probe_token": base64.b64encode(f"mm2-admin:{connect}".encode()).decode(),
        "ecr_token": ECR_TOKEN_PASSWORD,
    }


def plaintext_leaks(run: ProgramRun, secret: str) -> list[str]:
    """Where `secret` shows outside a secret envelope (tests/unit/test_auth_config.py sweeps TLS keys too)."""
    return [
        f"{registration.type} {registration.name}: {path}"
        for registration in run.registrations
        for path, value in walk(strip_secret_envelopes(registration.raw))
        if isinstance(value, str) and secret in value
    ]


@pytest.mark.parametrize("name", sorted(secret_strings()))
def test_secret_never_in_plain_text(staging: ProgramRun, name: str) -> None:
    leaks = plaintext_leaks(staging, secret_strings()[name])
    assert not leaks, f"{name} in plain text at {leaks}"


def test_the_search_sees_the_secrets_inside_their_envelopes(staging: ProgramRun) -> None:
    """Guards the test above: the values are registered, but only as secrets."""
    everything = json.dumps([registration.raw for registration in staging.registrations])
    for name in ("confluent_password", "msk_legacy_password", "connect_password", "probe_token"):
        assert secret_strings()[name] in everything, name


def test_no_config_map_holds_a_secret(staging: ProgramRun) -> None:
    config_maps = staging.of_type("kubernetes:core/v1:ConfigMap")
    assert {c.name for c in config_maps} == {"connect-config", "monitoring-dashboard"}
    text = json.dumps([c.raw for c in config_maps])
    assert "4dabf18193072939515e22adb298388d" not in text  # nothing secret was even needed
    for secret in secret_strings().values():
        assert secret not in text


def test_secrets_and_connector_passwords_are_secret_inputs(staging: ProgramRun) -> None:
    for name in ("connect-credentials", "connect-rest-auth"):
        raw = staging.one("kubernetes:core/v1:Secret", name).raw
        assert raw["stringData"]["4dabf18193072939515e22adb298388d"] == "1b47061264138c4ac30d75fd1eb44270"
    for connector in staging.of_type("pulumi-python:dynamic:Resource"):
        assert strip_secret_envelopes(connector.raw)["connect_password"] == "[secret]"
        assert strip_secret_envelopes(connector.raw)["kubeconfig"] == "[secret]"
        # Connector configs reference secret files; they never hold a credential.
        for key, value in connector.inputs["config"].items():
            if key.endswith("jaas.config") and "PlainLoginModule" in value:
                pytest.fail(f"{connector.name}: {key} holds an inline PLAIN login")
