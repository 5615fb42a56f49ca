"""One local runtime of its own for the migration tests: they stop connectors, delete records by
retention, throttle the mirror with a quota and fail tasks on purpose, which no other test should see.

Started once per session in `.local/migration-runtime` (or MM2_MIGRATION_RUNTIME_DIR) and removed
at the end; the shared session runtime of tests/conftest.py is left alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from localkafka.paths import REPO_ROOT
from localkafka.runtime import LocalRuntime

MIGRATION_RUNTIME_DIR = Path(os.environ.get("MM2_MIGRATION_RUNTIME_DIR", REPO_ROOT / ".local" / "migration-runtime"))


@pytest.fixture(scope="session")
def migration_runtime() -> Iterator[LocalRuntime]:
    local = LocalRuntime(MIGRATION_RUNTIME_DIR.resolve())
    local.down()  # a runtime left by an interrupted run would hold stale connectors and groups
    local.up(workers=1)
    try:
        yield local
    finally:
        local.down()
