"""Fixtures of the mock-based unit tests: the staging stack's program, run once under Pulumi mocks, and a
scripted Connect REST API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from harness.mocked_program import ProgramRun
    from tests.unit.test_rest_client import ScriptedConnect


def pytest_configure(config: pytest.Config) -> None:
    # The provider SDKs warn about their own deprecated resources when their modules load (the
    # harness is imported lazily below so that this filter is in place first).
    config.addinivalue_line("filterwarnings", r"ignore::DeprecationWarning:pulumi_(aws|eks)\..*")


@pytest.fixture(scope="session")
def staging() -> ProgramRun:
    """Pulumi.staging.yaml plus the injected secrets, every resource recorded."""
    from harness.mocked_program import run_program

    return run_program()


@pytest.fixture
def values() -> dict[str, Any]:
    """A fresh copy of the staging config for a test to change."""
    from harness.mocked_program import staging_values

    return staging_values()


@pytest.fixture
def connect() -> Iterator[ScriptedConnect]:
    """A scripted Connect REST API on loopback, for the REST client's and the provider's unit tests."""
    from tests.unit.test_rest_client import ScriptedConnect

    server = ScriptedConnect()
    yield server
    server.httpd.shutdown()
