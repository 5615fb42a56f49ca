"""Session fixtures: one real local runtime (two Kafka clusters, two Connect workers) per test run.

Started on first use and stopped at the end, in its own folder so that a developer's runtime
(.local/runtime) is left alone. Tests isolate themselves with unique topic and connector names.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from connect.local_runtime import RuntimeState
from localkafka.paths import REPO_ROOT
from localkafka.runtime import LocalRuntime

TEST_RUNTIME_DIR = Path(os.environ.get("MM2_TEST_RUNTIME_DIR", REPO_ROOT / ".local" / "test-runtime"))


@pytest.fixture(scope="session")
def runtime() -> Iterator[LocalRuntime]:
    local = LocalRuntime(TEST_RUNTIME_DIR.resolve())
    local.down()  # a runtime left by an interrupted run would hold stale connectors
    local.up(workers=2)
    try:
        yield local
    finally:
        local.down()


@pytest.fixture
def state(runtime: LocalRuntime) -> RuntimeState:
    return runtime.state()
