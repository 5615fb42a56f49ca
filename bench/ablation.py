"""What each tuned setting changed: stock settings, then one group of settings added per step.

Every step mirrors the same backlog with the worker's producer left at Connect's defaults, so the
settings under test are the connector's own (`producer.override.*` carries the worker's
PRODUCER_TUNING). The last two steps have the throughput settings of the `tuned-no-eos` and
`tuned` profiles; those profiles also carry settings that move no data (ACL sync off, the topic
refresh interval) and our renaming policy in identity mode instead of Kafka's identity policy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.mirroring import Backlog, time_connector
from bench.profiles import stock_config
from connect.connector_defaults import SOURCE
from connect.local_runtime import RuntimeState
from connect.worker_properties import PRODUCER_TUNING
from localkafka.runtime import LocalRuntime


def _as_override(keys: tuple[str, ...]) -> dict[str, str]:
    return {f"producer.override.{key}": PRODUCER_TUNING[f"producer.{key}"] for key in keys}


@dataclass(frozen=True)
class Step:
    label: str
    adds: dict[str, str]


STEPS = (
    Step("stock: 1 task, gzip, Connect's producer defaults", {}),
    Step("+ tasks.max 4", {"tasks.max": SOURCE["tasks.max"]}),
    Step("+ lz4 instead of gzip", _as_override(("compression.type",))),
    Step("+ batch 512 KiB, linger 20 ms, 64 MiB buffer", _as_override(("batch.size", "linger.ms", "buffer.memory"))),
    Step(
        "+ idempotent, 5 requests in flight",
        _as_override(("enable.idempotence", "max.in.flight.requests.per.connection")),
    ),
    Step(
        "+ larger consumer fetches, read_committed (tuned-no-eos's throughput settings)",
        {key: value for key, value in SOURCE.items() if key.startswith("consumer.")},
    ),
    Step("+ exactly-once (tuned's throughput settings)", {"exactly.once.support": "required"}),
)


def _stock_plus(state: RuntimeState, settings: dict[str, str]) -> Callable[[str], dict[str, str]]:
    return lambda topic: stock_config(state, topic) | settings


def run_ablation(runtime: LocalRuntime, backlog: Backlog, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """One backlog per step, settings accumulating; the workers restart only when exactly-once flips."""
    rows = []
    settings: dict[str, str] = {}
    for number, step in enumerate(STEPS, start=1):
        settings |= step.adds
        exactly_once = settings.get("exactly.once.support") == "required"
        state = runtime.state()
        if (state.exactly_once, state.producer_tuning) != (exactly_once, False):
            runtime.restart_workers(exactly_once=exactly_once, producer_tuning=False)
            state = runtime.state()
        log(f"ablation step {number} of {len(STEPS)}: {step.label}")
        timed = time_connector(state, backlog, f"ablation{number}", _stock_plus(state, dict(settings)))
        log(f"  {timed['records_per_second']} records/s")
        rows.append({"step": step.label, "adds": step.adds, **timed})
    return rows
