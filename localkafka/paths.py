"""Where things are: the repository, the jar cache and a runtime's working folder."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCKER_DIR = REPO_ROOT / "docker"
WORKER_CONFIG_DIR = DOCKER_DIR / "config"
ENTRYPOINT = DOCKER_DIR / "entrypoint.sh"
JAR_CACHE = REPO_ROOT / ".cache" / "runtime"
DEFAULT_RUNTIME_DIR = REPO_ROOT / ".local" / "runtime"


def runtime_dir_from_env() -> Path:
    """`MM2_LOCAL_RUNTIME_DIR` lets tests and benchmarks run a runtime of their own."""
    return Path(os.environ.get("MM2_LOCAL_RUNTIME_DIR", DEFAULT_RUNTIME_DIR)).resolve()
