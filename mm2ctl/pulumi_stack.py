"""Secrets of a deployed stack, asked of the Pulumi CLI as `pulumi up` would decrypt them.

The CLI runs with the operator's own environment (backend login, passphrase or KMS): the same
access `pulumi up` uses. Values are read into memory only; they are never printed or written.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from mm2ctl.errors import Unreachable, UsageError
from stackconfig.load import PROJECT

PULUMI_TIMEOUT_SECONDS = 120.0


def _pulumi(project_root: Path, *args: str) -> str:
    binary = shutil.which("pulumi")
    if binary is None:
        raise UsageError(
            'the Pulumi CLI is not on PATH (export PATH="$(tools/pulumi/build.sh):$PATH"), or pass --kubeconfig'
        )
    command = [binary, *args, "--non-interactive"]
    try:
        result = subprocess.run(
            command, cwd=project_root, capture_output=True, text=True, timeout=PULUMI_TIMEOUT_SECONDS
        )
    except subprocess.TimeoutExpired:
        raise Unreachable(f"`pulumi {args[0]} {args[1]}` did not answer within {PULUMI_TIMEOUT_SECONDS:.0f}s") from None
    if result.returncode != 0:
        # stderr names the stack, backend or key; it never holds the secret value.
        raise UsageError(f"`pulumi {' '.join(args[:3])}` failed: {result.stderr.strip()[-1000:]}")
    return result.stdout.rstrip("\n")


def secret_output(project_root: Path, stack: str, name: str) -> str:
    return _pulumi(project_root, "stack", "output", name, "--show-secrets", "--stack", stack)


def secret_config(project_root: Path, stack: str, key: str) -> str:
    return _pulumi(project_root, "config", "get", f"{PROJECT}:{key}", "--stack", stack)
