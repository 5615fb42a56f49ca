"""Where things are: the repository, the jar cache and a runtime's working folder."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCKER_DIR = REPO_ROOT / "docker"
WORKER_CONFIG_DIR = DOCKER_DIR / "config"
ENTRYPOINT = DOCKER_DIR / "entrypoint.sh"
JAR_CACHE = REPO_ROOT / ".cache" / "runtime"
