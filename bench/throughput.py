"""The throughput part: the produce ceiling and every profile on the same backlog, round after round.

Each round measures the produce ceiling (ProducerPerformance into the destination), then mirrors
a fresh backlog with every profile, grouped by worker settings, and with MirrorMaker 1. The
workers restart when a group needs other settings; each restart is followed by one unmeasured
run of a small backlog, so that no profile is measured on a cold worker JVM. Warm-up rounds run
the same way and are kept in the JSON, marked, but left out of every figure.

Each row reports the median of the measured rounds with their min and max; ratios between
profiles are taken within each round (side by side) and their median reported.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from bench import kafka_tools, mirroring
from bench.common import Sizes, ceiling_topic, log
from bench.cpu import CpuMeter
from bench.profiles import PROFILES, TUNED, Profile, worker_order
from localkafka.runtime import LocalRuntime

MM1 = "mirrormaker1"
# The unmeasured backlog after a worker restart, as a share of the measured one.
WORKER_WARMUP_SHARE = 10


def run_rounds(
    runtime: LocalRuntime, sizes: Sizes, backlog: mirroring.Backlog, with_mm1: bool = True
) -> dict[str, Any]:
    profiles = worker_order(tuple(PROFILES[name] for name in sizes.throughput_profiles))
    # Without warm-up rounds (the smoke run), no warm-up after restarts either.
    warm_records = backlog.records // WORKER_WARMUP_SHARE if sizes.warmup_rounds else 0
    warm_backlog = replace(backlog, records=warm_records)
    rounds = []
    total = sizes.warmup_rounds + sizes.repeats
    for number in range(total):
        warm_up = number < sizes.warmup_rounds
        label = f"round {number + 1} of {total}" + (" (warm-up)" if warm_up else "")
        one = _one_round(runtime, profiles, backlog, warm_backlog, label, with_mm1)
        rounds.append({"round": number + 1, "warm_up": warm_up} | one)
    mirroring.use_profile(runtime, TUNED)
    return summarize(rounds, [profile.name for profile in profiles] + ([MM1] if with_mm1 else []))


def _one_round(
    runtime: LocalRuntime,
    profiles: list[Profile],
    backlog: mirroring.Backlog,
    warm_backlog: mirroring.Backlog,
    label: str,
    with_mm1: bool,
) -> dict[str, Any]:
    state = runtime.state()
    log(f"{label}: ProducerPerformance, {backlog.records} x {backlog.record_size} B into the destination")
    with ceiling_topic(state, backlog.partitions) as topic, CpuMeter(state) as cpu:
        produced = kafka_tools.produce(
            state, "destination", topic, backlog.records, backlog.record_size, backlog.folder
        )
    report = cpu.report()
    ceiling = {
        "records_per_second": round(produced.records_per_second),
        "mb_per_second": round(produced.mb_per_second, 1),
        **report,
    }
    runs: dict[str, Any] = {}
    for profile in profiles:
        state = runtime.state()
        restart = (state.exactly_once, state.producer_tuning) != (profile.exactly_once, profile.worker_producer_tuning)
        if restart and warm_backlog.records:
            log(f"{label}: workers restart for {profile.name}; one unmeasured run of {warm_backlog.records} records")
            _guarded(partial(mirroring.mirror_backlog, runtime, profile, warm_backlog), profile.name)
        log(f"{label}: mirroring {backlog.records} records, profile {profile.name}")
        runs[profile.name] = _guarded(partial(mirroring.mirror_backlog, runtime, profile, backlog), profile.name)
        log(f"  {runs[profile.name].get('records_per_second', runs[profile.name].get('error'))} records/s")
    if with_mm1:
        log(f"{label}: mirroring {backlog.records} records with MirrorMaker 1 (Kafka 3.9)")
        runs[MM1] = _guarded(partial(mirroring.mirror_with_mm1, runtime, backlog), MM1)
    return {"ceiling": ceiling, "runs": runs}


def _guarded(run: Callable[[], dict[str, Any]], name: str) -> dict[str, Any]:
    """One failed run is recorded as such; an hour of measurements is not lost to it."""
    try:
        return run()
    except (RuntimeError, TimeoutError, OSError) as error:
        log(f"  {name} failed: {str(error)[-300:]}")
        return {"profile": {"name": name}, "error": str(error)[-500:]}


def _spread(values: list[float], digits: int = 0) -> dict[str, float]:
    def rounded(value: float) -> float:
        return round(value, digits) if digits else round(value)

    return {"median": rounded(statistics.median(values)), "min": rounded(min(values)), "max": rounded(max(values))}


def summarize(rounds: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    """Per profile: median, min and max over the measured rounds; per round: ratios side by side."""
    measured = [r for r in rounds if not r["warm_up"]]
    ceilings = [r["ceiling"]["records_per_second"] for r in measured]
    rows = []
    for name in names:
        good = [(r, r["runs"][name]) for r in measured if name in r["runs"] and "error" not in r["runs"][name]]
        if not good:
            failed = next((r["runs"][name] for r in measured if name in r["runs"]), {"profile": {"name": name}})
            rows.append({"name": name, "error": failed.get("error", "not run"), "profile": failed.get("profile")})
            continue
        runs = [run for _, run in good]
        row: dict[str, Any] = {"name": name, "profile": runs[0]["profile"], "rounds_measured": len(runs)}
        row["records_per_second"] = _spread([run["records_per_second"] for run in runs])
        row["mb_per_second"] = _spread([run["mb_per_second"] for run in runs], 1)
        row["ratio_to_produce_ceiling"] = _spread(
            [run["records_per_second"] / r["ceiling"]["records_per_second"] for r, run in good], 2
        )
        for key in ("mb_per_worker_cpu_second", "mb_per_cpu_second", "worker_cpu_seconds", "total_cpu_seconds"):
            values = [run[key] for run in runs if run.get(key) is not None]
            if values:
                row[key] = _spread(values, 1)
        if all("records_per_second_from_first_record" in run for run in runs):
            row["records_per_second_from_first_record"] = _spread(
                [run["records_per_second_from_first_record"] for run in runs]
            )
        rows.append(row)
    return {
        "ceiling": {
            "records_per_second": _spread(ceilings),
            "mb_per_second": _spread([r["ceiling"]["mb_per_second"] for r in measured], 1),
        },
        "rows": rows,
        "comparisons": _comparisons(measured),
        "rounds": rounds,
    }


# Ours against each peer at the same exactly-once setting; "best:" is the faster peer of that round.
BEST_EOS_PEER = "best: strimzi-eos, aws-samples-eos"
BEST_PEER = "best: strimzi, aws-samples"
COMPARISONS = (
    ("tuned", BEST_EOS_PEER),
    ("tuned-no-eos", BEST_PEER),
    ("tuned", "strimzi-eos"),
    ("tuned", "aws-samples-eos"),
    ("tuned-no-eos", "strimzi"),
    ("tuned-no-eos", "aws-samples"),
    ("tuned", "stock"),
    ("tuned", "tuned-no-eos"),
    ("tuned-eos-poll16k", "tuned"),
    ("tuned-eos-interval1s", "tuned"),
)


def _comparisons(measured: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for ours, other in COMPARISONS:
        ratios = []
        for r in measured:
            ours_rate, other_rate = _rate(r, ours), _rate(r, other)
            if ours_rate and other_rate:
                ratios.append(ours_rate / other_rate)
        if ratios:
            found.append({"ours": ours, "other": other, "ratio": _spread(ratios, 2), "rounds": len(ratios)})
    return found


def _rate(measured_round: dict[str, Any], name: str) -> float | None:
    """A profile's records/s in one round; for "best: a, b" the faster of those that ran."""
    names = name.removeprefix("best: ").split(", ")
    runs = measured_round["runs"]
    rates = [runs[n]["records_per_second"] for n in names if n in runs and "error" not in runs[n]]
    if not rates or (not name.startswith("best: ") and len(rates) != 1):
        return None
    return float(max(rates))
