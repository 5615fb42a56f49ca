"""The stacks an operator can name: `Pulumi.<stack>.yaml` files of the project, read as `pulumi up` reads them.

Only settings are read here (platform, clusters, namespace); secrets stay encrypted in the file
and are asked of the Pulumi CLI when a command needs them (mm2ctl/pulumi_stack.py).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from mm2ctl.errors import UsageError, unknown
from stackconfig.load import PROJECT, SECRET_CONFIG_KEYS, StackConfigError, load_settings
from stackconfig.models import StackSettings


def known_stacks(project_root: Path) -> list[str]:
    return sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in project_root.glob("Pulumi.*.yaml"))


def stack_settings(project_root: Path, stack: str) -> StackSettings:
    path = project_root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise unknown("stack", stack, known_stacks(project_root))
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise UsageError(f"{path.name} is not valid YAML: {error}") from None
    config = document.get("config") or {}
    values = {
        key.split(":", 1)[1]: value
        for key, value in config.items()
        if key.startswith(f"{PROJECT}:") and key.split(":", 1)[1] not in SECRET_CONFIG_KEYS
    }
    try:
        return load_settings(values)
    except StackConfigError as error:
        raise UsageError(f"{path.name}: {error}") from None


def check_source(settings: StackSettings, source: str | None) -> None:
    """An unknown `--source` is named, with the stack's sources."""
    if source is not None and source not in settings.sources:
        raise unknown("source", source, settings.sources)
