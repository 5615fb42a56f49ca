"""What the migration tests share: running `python -m mm2ctl` for real, and records that say who they are."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localkafka.paths import REPO_ROOT
from localkafka.runtime import LocalRuntime

MM2CTL_SECONDS = 300


@dataclass(frozen=True)
class Run:
    command: list[str]
    status: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.stdout))

    @property
    def last_line(self) -> str:
        lines = self.stdout.strip().splitlines() or self.stderr.strip().splitlines()
        return lines[-1] if lines else ""

    def shown(self) -> str:
        """The command and its output, as an operator sees them (for docs/migration.md)."""
        return f"$ {' '.join(self.command)}\n{self.stdout}{self.stderr}(exit status {self.status})\n"


def mm2ctl(runtime: LocalRuntime, *args: str, timeout: float = MM2CTL_SECONDS) -> Run:
    """`python -m mm2ctl ARGS` against the runtime, as a separate process (exit status, output and all)."""
    env = {**os.environ, "MM2_LOCAL_RUNTIME_DIR": str(runtime.runtime_dir)}
    command = [sys.executable, "-m", "mm2ctl", *args]
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    return Run(["python", "-m", "mm2ctl", *args], result.returncode, result.stdout, result.stderr)


def tree_argument(root: Path) -> list[str]:
    return ["--tree", str(root)]
