"""Run the Pulumi CLI non-interactively against a file backend in the repository.

The CLI comes from tools/pulumi/build.sh (built from Go modules, or a suitable `pulumi` already on
PATH). State lives in `.pulumi-state/`; the passphrase that encrypts its secrets comes from
PULUMI_CONFIG_PASSPHRASE or a file generated once per clone, readable by its owner only.

A passphrase's encryption salt is per clone too, so it must not land in the tracked
`Pulumi.<stack>.yaml`: commands run with `--config-file` on a fresh copy of that file (Pulumi
writes the salt there), and a new stack is created from a scratch folder. Without a salt in the
config file, Pulumi takes the secrets settings from the stack's state.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connect.secret_file import write_secret
from localkafka.paths import REPO_ROOT

BUILD_SCRIPT = REPO_ROOT / "tools" / "pulumi" / "build.sh"
KUBERNETES_BUILD_SCRIPT = REPO_ROOT / "tools" / "pulumi-kubernetes" / "build.sh"
DEFAULT_STATE_DIR = REPO_ROOT / ".pulumi-state"
PASSPHRASE_FILE = REPO_ROOT / ".local" / "pulumi-passphrase"


class PulumiError(Exception):
    def __init__(self, command: list[str], returncode: int, output: str) -> None:
        self.returncode, self.output = returncode, output
        super().__init__(f"`{' '.join(command)}` exited with {returncode}:\n{output[-6000:]}")


def cli_bin_dir() -> Path:
    """Build (or find) the CLI; the script prints its bin folder as the last line."""
    result = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"building the Pulumi CLI failed:\n{result.stderr[-4000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


def kubernetes_plugin_dir() -> Path:
    """Build (or find) pulumi-resource-kubernetes; the script prints its bin folder as the last line."""
    result = subprocess.run(["bash", str(KUBERNETES_BUILD_SCRIPT)], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"building pulumi-resource-kubernetes failed:\n{result.stderr[-4000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


def local_passphrase() -> str:
    if os.environ.get("PULUMI_CONFIG_PASSPHRASE"):
        return os.environ["PULUMI_CONFIG_PASSPHRASE"]
    if not PASSPHRASE_FILE.exists():
        write_secret(PASSPHRASE_FILE, secrets.token_urlsafe(24))
    return PASSPHRASE_FILE.read_text().strip()


@dataclass
class PulumiCli:
    project_dir: Path
    bin_dir: Path
    state_dir: Path = DEFAULT_STATE_DIR
    passphrase: str = field(default_factory=local_passphrase, repr=False)

    def env(self) -> dict[str, str]:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        return {
            **os.environ,
            "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "PULUMI_BACKEND_URL": f"file://{self.state_dir}",
            "PULUMI_CONFIG_PASSPHRASE": self.passphrase,
            "PULUMI_HOME": str(self.state_dir / ".pulumi-home"),
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
        }

    def run(
        self, *args: str, check: bool = True, stream: bool = False, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run `pulumi <args>`; with `stream`, its output goes to the terminal as it comes."""
        command = [str(self.bin_dir / "pulumi"), *args, "--non-interactive"]
        if args[0] in ("up", "preview", "refresh", "destroy") and "--stack" in args:
            command.append(f"--config-file={self.config_copy(args[args.index('--stack') + 1])}")
        if stream:
            process = subprocess.Popen(
                command,
                cwd=cwd or self.project_dir,
                env=self.env(),
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            lines = []
            assert process.stdout is not None
            for line in process.stdout:
                sys.stdout.write(line)
                sys.stdout.flush()
                lines.append(line)
            result = subprocess.CompletedProcess(command, process.wait(), "".join(lines), "")
        else:
            result = subprocess.run(
                command, cwd=cwd or self.project_dir, env=self.env(), text=True, capture_output=True
            )
            result = subprocess.CompletedProcess(command, result.returncode, result.stdout + result.stderr, "")
        if check and result.returncode != 0:
            raise PulumiError(command, result.returncode, result.stdout)
        return result

    def ensure_stack(self, stack: str) -> None:
        """Create the stack in the backend unless it exists, leaving the tracked stack file alone."""
        listed = json.loads(self.run("stack", "ls", "--json").stdout or "[]")
        if any(entry["name"] == stack for entry in listed):
            return
        with tempfile.TemporaryDirectory() as scratch:
            shutil.copy(self.project_dir / "Pulumi.yaml", scratch)
            self.run("stack", "init", stack, cwd=Path(scratch))

    def set_secret(self, stack: str, key: str, value: str) -> None:
        """`pulumi config set --secret`, the value on stdin: never on a command line (process list)."""
        command = [
            str(self.bin_dir / "pulumi"),
            "config",
            "set",
            "--secret",
            "--stack",
            stack,
            key,
            "--non-interactive",
        ]
        result = subprocess.run(
            command, cwd=self.project_dir, env=self.env(), input=value, text=True, capture_output=True
        )
        if result.returncode != 0:
            raise PulumiError(command, result.returncode, result.stdout + result.stderr)

    def install_kubernetes_plugin(self) -> None:
        """Our build of the Kubernetes provider, installed into this PULUMI_HOME under its version.

        The Python SDK (pinned to the same version in requirements.txt) asks for exactly that
        version; installing it from a file needs no download.
        """
        bin_dir = kubernetes_plugin_dir()
        version = bin_dir.parent.name.removeprefix("v")  # .cache/pulumi-kubernetes/v4.25.0/bin
        listed = json.loads(self.run("plugin", "ls", "--json").stdout or "[]")
        if any(p["kind"] == "resource" and p["name"] == "kubernetes" and p["version"] == version for p in listed):
            return
        plugin = str(bin_dir / "pulumi-resource-kubernetes")
        self.run("plugin", "install", "resource", "kubernetes", version, "--file", plugin)

    def config_copy(self, stack: str) -> Path:
        """A fresh copy of Pulumi.<stack>.yaml for --config-file (see the module docstring)."""
        copy = self.state_dir / "config" / f"Pulumi.{stack}.yaml"
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.project_dir / f"Pulumi.{stack}.yaml", copy)
        return copy

    def up(self, stack: str, *extra: str, stream: bool = False, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("up", "--stack", stack, "--yes", "--skip-preview", *extra, stream=stream, check=check)

    def outputs(self, stack: str) -> dict[str, Any]:
        return dict(json.loads(self.run("stack", "output", "--stack", stack, "--json").stdout))

    def state_file(self, stack: str) -> Path:
        """Where the file backend keeps the stack's checkpoint (its secrets are encrypted)."""
        matches = sorted(self.state_dir.glob(f".pulumi/stacks/**/{stack}.json"))
        if not matches:
            raise FileNotFoundError(f"no state file for stack {stack!r} under {self.state_dir}")
        return matches[0]
