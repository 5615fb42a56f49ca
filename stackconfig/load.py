"""Read the stack's `mm2-eks:*` config once, validate it, and fail with every problem named by key.

Settings and secrets are read separately: settings are plain values the program branches on;
secrets are held as `SecretStr` (their repr is masked) and become `pulumi.Output.secret` at use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pulumi.runtime.config as pulumi_config
from pydantic import SecretStr, ValidationError

from stackconfig.errors import problems_of
from stackconfig.models import Platform, SaslAuth, SaslCredentials, StackSecrets, StackSettings

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


def _credentials(settings: StackSettings, value: Any) -> dict[str, SaslCredentials]:
    key = f"{PROJECT}:credentials"
    if not isinstance(value, dict):
        raise StackConfigError([f"{key}: expected an object of cluster name to {{username, password}}"])
    sasl_clusters = {
        name
        for name, cluster in {settings.destination.name: settings.destination, **settings.sources}.items()
        if isinstance(cluster.auth, SaslAuth)
    }
    problems = [
        f"{key}.{name}: no cluster named {name!r} uses SASL auth" for name in sorted(set(value) - sasl_clusters)
    ]
    problems += [
        f"{key}.{name}: required (username and password) because cluster {name!r} uses SASL auth"
        for name in sorted(sasl_clusters - set(value))
    ]
    credentials: dict[str, SaslCredentials] = {}
    for name in sorted(sasl_clusters & set(value)):
        try:
            credentials[name] = SaslCredentials.model_validate(value[name])
        except ValidationError as error:
            # Never echo the input: it holds the password.
            problems += [
                f"{key}.{name}.{path}: {message}"
                for path, message in problems_of(error, unknown_key="expected username and password", show_input=False)
            ]
    if problems:
        raise StackConfigError(problems)
    return credentials


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
