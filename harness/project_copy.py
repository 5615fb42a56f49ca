"""A copy of the Pulumi program in a temporary project, with a stack bound to the test runtime.

Copied so that tests can edit connector files and stack settings freely; the copy's `.venv` is
a link to the repository's, and its state (file backend) lives inside it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from connect.local_runtime import RuntimeState, connect_endpoint
from connect.rest import ConnectClient
from localkafka import clients
from localkafka.connect_log import ConnectLog
from localkafka.paths import REPO_ROOT
from localkafka.runtime import LocalRuntime
from localrun.pulumi_cli import PulumiCli, cli_bin_dir

PROGRAM = ["__main__.py", "Pulumi.yaml", "components", "connect", "providers", "stackconfig", "stacks", "workload"]


@dataclass
class Project:
    directory: Path
    cli: PulumiCli
    state: RuntimeState
    log: ConnectLog

    @property
    def source_folder(self) -> Path:
        return self.directory / "connectors" / "local" / "destination" / "source"

    def up(self, stack: str, *extra: str) -> str:
        return self.cli.up(stack, *extra).stdout

    def live_connectors(self) -> set[str]:
        with ConnectClient(connect_endpoint(self.state)) as client:
            return set(client.connectors())

    def set_config(self, stack: str, key: str, value: Any) -> None:
        """Change one `mm2-eks:` key of the copy's stack file."""
        path = self.directory / f"Pulumi.{stack}.yaml"
        document = yaml.safe_load(path.read_text())
        document["config"][f"mm2-eks:{key}"] = value
        path.write_text(yaml.safe_dump(document))


def copy_project(runtime: LocalRuntime, directory: Path, stack: str, config: dict[str, Any] | None = None) -> Project:
    """The program and connectors/local in `directory`, with a stack bound to `runtime`.

    `config` replaces Pulumi.local.yaml's settings (for a stack on another platform that uses the
    runtime's clusters); its secrets are set afterwards with `PulumiCli.set_secret`.
    """
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    directory.mkdir(parents=True, exist_ok=True)
    for name in PROGRAM:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, directory / name, ignore=ignore)
        else:
            shutil.copy(source, directory / name)
    shutil.copytree(REPO_ROOT / "connectors" / "local", directory / "connectors" / "local")
    (directory / ".venv").symlink_to(REPO_ROOT / ".venv")
    stack_config = yaml.safe_load((REPO_ROOT / "Pulumi.local.yaml").read_text())
    stack_config["config"]["mm2-eks:local"] = {"runtimeDir": str(runtime.runtime_dir)}
    if config is not None:
        stack_config["config"] = dict(config)
    (directory / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(stack_config))

    state = runtime.state()
    clients.create_topics(state, "source", {"orders": 3, "events": 2})
    cli = PulumiCli(directory, cli_bin_dir(), state_dir=directory / ".state", passphrase="test-passphrase")
    cli.ensure_stack(stack)
    return Project(directory, cli, state, ConnectLog(state))
