"""Read the stack's `mm2-eks:*` config once, validate it, and fail with every problem named by key.

Settings and secrets are read separately: settings are plain values the program branches on;
secrets are held as `SecretStr` (their repr is masked) and become `pulumi.Output.secret` at use.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import pulumi.runtime.config as pulumi_config
from pydantic import SecretStr, ValidationError

from stackconfig import pem
from stackconfig.errors import problems_of
from stackconfig.models import (
    ClusterAuth,
    ClusterCredentials,
    MutualTlsAuth,
    Platform,
    SaslAuth,
    StackSecrets,
    StackSettings,
    private_ca,
    uses_tls,
)

PROJECT = "mm2-eks"
# Config keys whose values are secrets: set with `pulumi config set --secret`, held as SecretStr.
SECRET_CONFIG_KEYS = ("credentials", "connectPassword", "kubeconfig", "registrationKubeconfig")
UNKNOWN_STACK_KEY = "check its spelling against README's configuration reference"


class StackConfigError(Exception):
    """The stack config is wrong; the message lists every problem, each naming its key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Invalid stack configuration:\n" + "\n".join(f"  - {problem}" for problem in problems))


def current_config() -> dict[str, Any]:
    """Every config key the engine (or the test mocks) gave this program."""
    return {**pulumi_config.get_config_env(), **pulumi_config.CONFIG.get()}


def load_stack(
    config: Mapping[str, Any] | None = None, secret_keys: set[str] | None = None
) -> tuple[StackSettings, StackSecrets]:
    config = current_config() if config is None else config
    if secret_keys is None:
        secret_keys = {key for key in config if pulumi_config.is_config_secret(key)}
    own = {key.split(":", 1)[1]: value for key, value in config.items() if key.startswith(f"{PROJECT}:")}
    settings_input = {key: _parse(value) for key, value in own.items() if key not in SECRET_CONFIG_KEYS}
    settings = load_settings(settings_input)
    secrets = load_secrets(settings, {key: own[key] for key in SECRET_CONFIG_KEYS if key in own}, secret_keys)
    return settings, secrets


def load_settings(values: Mapping[str, Any]) -> StackSettings:
    try:
        settings = StackSettings.model_validate(dict(values))
    except ValidationError as error:
        found = problems_of(error, unknown_key=UNKNOWN_STACK_KEY)
        raise StackConfigError([_stack_problem(key, message) for key, message in found]) from None
    problems = settings.platform_problems()
    if problems:
        raise StackConfigError([f"{PROJECT}:{problem}" for problem in problems])
    return settings


def load_secrets(settings: StackSettings, raw: Mapping[str, Any], secret_keys: set[str]) -> StackSecrets:
    problems = [
        f"{PROJECT}:{key} must be set with `pulumi config set --secret` (it is stored in plain text)"
        for key in raw
        if f"{PROJECT}:{key}" not in secret_keys
    ]
    if problems:
        raise StackConfigError(problems)
    if settings.platform is Platform.LOCAL:
        if raw:
            raise StackConfigError(
                [
                    f"{PROJECT}:{key} is not used on platform local (the local runtime generates credentials)"
                    for key in raw
                ]
            )
        return StackSecrets()

    credentials = _credentials(settings, _parse(raw.get("credentials", "{}")))
    if "connectPassword" not in raw:
        problems.append(f"{PROJECT}:connectPassword is required: the password of the Connect REST API's basic auth")
    if settings.cluster is not None and settings.cluster.kind == "existing" and "kubeconfig" not in raw:
        problems.append(f"{PROJECT}:kubeconfig is required with cluster.kind existing")
    if settings.platform is Platform.KUBERNETES and "kubeconfig" not in raw:
        problems.append(f"{PROJECT}:kubeconfig is required on platform kubernetes (it names the cluster)")
    if problems:
        raise StackConfigError(problems)
    return StackSecrets(
        connect_password=SecretStr(str(raw["connectPassword"])),
        credentials=credentials,
        kubeconfig=SecretStr(str(raw["kubeconfig"])) if "kubeconfig" in raw else None,
        registration_kubeconfig=(
            SecretStr(str(raw["registrationKubeconfig"])) if "registrationKubeconfig" in raw else None
        ),
    )


def _credentials(settings: StackSettings, value: Any) -> dict[str, ClusterCredentials]:
    key = f"{PROJECT}:credentials"
    if not isinstance(value, dict):
        raise StackConfigError([f"{key}: expected an object of cluster name to its credentials"])
    clusters = {settings.destination.name: ("destination", settings.destination.auth)}
    clusters |= {name: (f"sources.{name}", source.auth) for name, source in settings.sources.items()}
    problems = []
    credentials: dict[str, ClusterCredentials] = {}
    for name in sorted(set(value) | set(clusters)):
        if name not in clusters:
            problems.append(f"{key}.{name}: no cluster named {name!r} (clusters: {', '.join(sorted(clusters))})")
            continue
        cluster_key, auth = clusters[name]
        needed = needed_credentials(auth)
        if name not in value:
            if needed:
                reasons = _and(dict.fromkeys(needed.values()))
                problems.append(f"{key}.{name}: required ({_and(needed)}) because cluster {name!r} uses {reasons}")
            continue
        if not needed:
            problems.append(f"{key}.{name}: cluster {name!r} uses auth.mode {auth.mode}, which takes no credentials")
            continue
        found, found_problems = _cluster_credentials(value[name], cluster_key, auth)
        problems += [f"{key}.{name}.{problem}" for problem in found_problems]
        if found is not None:
            credentials[name] = found
    if problems:
        raise StackConfigError(problems)
    return credentials


def needed_credentials(auth: ClusterAuth) -> dict[str, str]:
    """The keys of `credentials.<cluster>` that `auth` needs, each with what needs it."""
    needed: dict[str, str] = {}
    if isinstance(auth, SaslAuth):
        needed |= dict.fromkeys(("username", "password"), "SASL auth")
    if isinstance(auth, MutualTlsAuth):
        needed |= dict.fromkeys(("certificate", "privateKey"), "auth.mode mtls")
    if private_ca(auth):
        needed["trustedCertificates"] = "a private CA (auth.privateCa)"
    return needed


def _cluster_credentials(raw: Any, cluster_key: str, auth: ClusterAuth) -> tuple[ClusterCredentials | None, list[str]]:
    """One cluster's credentials, checked against its auth; problems are `<key>: <message>`."""
    try:
        # Never echo the input: it holds passwords and keys.
        found = ClusterCredentials.model_validate(raw)
    except ValidationError as error:
        allowed = _and([*needed_credentials(auth), *(["privateKeyPassword"] if auth.mode == "mtls" else [])])
        return None, [
            f"{path}: {message}"
            for path, message in problems_of(error, unknown_key=f"expected {allowed}", show_input=False)
        ]
    needed = needed_credentials(auth)
    present = {
        field.alias or name
        for name, field in ClusterCredentials.model_fields.items()
        if getattr(found, name) is not None
    }
    optional = {"privateKeyPassword"} if auth.mode == "mtls" else set()
    problems = [f"{name}: required because the cluster uses {needed[name]}" for name in needed if name not in present]
    for name in sorted(present - set(needed) - optional):
        problems.append(f"{name}: {_not_used(name, cluster_key, auth)}")
    if problems:
        return None, problems
    if found.trusted_certificates is not None:
        problems += [
            f"{p.key}: {p.message}" for p in pem.certificate_problems("trustedCertificates", found.trusted_certificates)
        ]
    if found.certificate is not None and found.private_key is not None:
        password = found.private_key_password.get_secret_value() if found.private_key_password else None
        key, key_problems = pem.client_key_pair(found.certificate, found.private_key.get_secret_value(), password)
        problems += [f"{p.key}: {p.message}" for p in key_problems]
        # The workers get the key decrypted: its password would sit beside it in the same Secret.
        found = found.model_copy(update={"private_key": SecretStr(key or ""), "private_key_password": None})
    return (None, problems) if problems else (found, [])


def _not_used(name: str, cluster_key: str, auth: ClusterAuth) -> str:
    tls_keys = ("trustedCertificates", "certificate", "privateKey", "privateKeyPassword")
    if name in tls_keys and not uses_tls(auth):
        return f"a TLS setting, but {cluster_key}.auth has no TLS (auth.mode {auth.mode})"
    if name == "trustedCertificates":
        return f"set, but {cluster_key}.auth.privateCa is not true: set it to trust these certificates"
    return f"not used by auth.mode {auth.mode} ({cluster_key}.auth)"


def _and(names: Iterable[str]) -> str:
    listed = list(names)
    return listed[0] if len(listed) == 1 else f"{', '.join(listed[:-1])} and {listed[-1]}"


def _parse(value: Any) -> Any:
    """Structured config values reach the program as JSON text; scalars as plain strings."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _stack_problem(key: str, message: str) -> str:
    return f"{PROJECT}:{key}: {message}" if key else f"{PROJECT}: {message}"
