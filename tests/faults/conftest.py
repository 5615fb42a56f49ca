"""Every fault test leaves the shared runtime whole, even when it fails halfway through a fault.

A test that kills a worker and then fails an assertion would otherwise leave that worker dead
(and its connector mirroring in the background), and every later test in the session would fail
with "connection refused" instead of reporting its own result.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connect.rest import ConnectClient
from localkafka.runtime import LocalRuntime


@pytest.fixture(autouse=True)
def runtime_restored(request: pytest.FixtureRequest) -> Iterator[None]:
    if "runtime" not in request.fixturenames:  # the bad-input tests need no runtime
        yield
        return
    runtime: LocalRuntime = request.getfixturevalue("runtime")
    workers = len(runtime.state().workers)
    with ConnectClient(runtime.connect_endpoint()) as client:
        before = set(client.connectors())
    yield
    # Idempotent: starts only the brokers and workers that are not running, then waits for them.
    runtime.up(workers=workers)
    state = runtime.state()
    if not state.exactly_once or not state.producer_tuning:
        runtime.restart_workers(exactly_once=True, producer_tuning=True)
    with ConnectClient(runtime.connect_endpoint()) as client:
        for name in set(client.connectors()) - before:
            client.delete_connector(name)
