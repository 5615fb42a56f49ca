"""python -m bench [--smoke] [--results-dir DIR]: every benchmark, side by side in one run.

The parts, in order: the produce and consume ceilings and every settings profile round after round
(bench/throughput.py, the profiles and their sources in bench/profiles.py); the ablation from stock
to tuned; latency at a steady rate per profile; the program under mocks as connector files grow;
1,000 connectors through the Pulumi CLI and the seed design's blind PUT loop (bench/program.py);
one regex connector over hundreds of topics (bench/topic_scale.py). The full run takes about two
and a half hours on 2 cores and writes bench/results/full-<time>.json, PNG plots and a Markdown
table; `--smoke` runs every part with tiny sizes into a temporary folder, so that CI proves the
harness works without timing anything. `--parts throughput,registration` runs only those parts (in
their usual order) and `--records N` sets the backlog of the throughput parts, for a shorter run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import ablation, frozen_jars, kafka_tools, mirroring, program, report, throughput, topic_scale
from bench.common import BENCH_WORKER_HEAP, FULL, RESULTS_DIR, SMOKE, Sizes, log, machine, settle
from bench.profiles import PROFILES, TUNED, worker_order
from localkafka import clients
from localkafka.paths import REPO_ROOT
from localkafka.runtime import LocalRuntime

BENCH_RUNTIME_DIR = REPO_ROOT / ".local" / "bench-runtime"
PARTS = ("throughput", "ablation", "latency", "evaluation", "registration", "blind", "scale")


def _parts(text: str) -> frozenset[str]:
    parts = frozenset(part.strip() for part in text.split(",") if part.strip())
    unknown = sorted(parts - set(PARTS))
    if unknown or not parts:
        raise argparse.ArgumentTypeError(f"unknown part(s) {unknown or [text]}; the parts are {', '.join(PARTS)}")
    return parts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check the harness works")
    parser.add_argument("--results-dir", type=Path, help="where to write results (default bench/results)")
    parser.add_argument(
        "--runtime-dir", type=Path, default=BENCH_RUNTIME_DIR, help="its runtime (wiped first unless --smoke)"
    )
    parser.add_argument("--parts", type=_parts, default=frozenset(PARTS), help=f"comma-separated: {','.join(PARTS)}")
    parser.add_argument("--records", type=int, help="records in the throughput parts' backlog")
    args = parser.parse_args(argv)
    sizes = SMOKE if args.smoke else FULL
    if args.records is not None:
        sizes = replace(sizes, records=args.records)
    results_dir = args.results_dir or (Path(tempfile.mkdtemp(prefix="bench-smoke-")) if args.smoke else RESULTS_DIR)
    results_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-work-"))

    needed = 3 * sizes.records * sizes.record_size  # a backlog, its mirror, and room for the logs
    free = shutil.disk_usage(REPO_ROOT).free
    if free < needed:
        log(f"needs {needed / 2**30:.1f} GiB free on {REPO_ROOT}'s disk, has {free / 2**30:.1f} GiB")
        return 2
    if not args.smoke:  # a smoke run may share the test session's runtime: leave its workers as they are
        os.environ.setdefault("MM2_LOCAL_WORKER_HEAP", BENCH_WORKER_HEAP)
        log(f"using one copy of the runtime's jars for the whole run: {frozen_jars.freeze().libs_dir}")
    runtime = LocalRuntime(args.runtime_dir.resolve())
    if not args.smoke:
        # From nothing: connectors an interrupted run left behind would start again with the worker
        # (a thousand of them exhausted its heap and failed every later part, 2026-12-02).
        runtime.down()
    log(f"starting the benchmark runtime in {runtime.runtime_dir}")
    runtime.up(workers=1)
    mode = "smoke" if args.smoke else "full" if args.parts == set(PARTS) and args.records is None else "partial"
    results: dict[str, Any] = {"mode": mode, "machine": machine(), "sizes": sizes.__dict__, "parts": sorted(args.parts)}
    results["machine"]["worker_heap"] = os.environ.get("MM2_LOCAL_WORKER_HEAP", "the local runtime's default")
    started = time.monotonic()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = results_dir / f"{results['mode']}-{stamp}.json"
    try:
        run_all(runtime, sizes, work, results, args.parts)
    finally:
        mirroring.use_profile(runtime, TUNED)  # leave the workers as every stack runs them
        results["total_seconds"] = round(time.monotonic() - started)
        results["machine"]["load_average_at_end"] = os.getloadavg()
        # Written even when a part failed: the parts before it are kept ("complete": false).
        path.write_text(json.dumps(results, indent=2) + "\n")
        log(f"results in {path}")
    (results_dir / f"latest-{results['mode']}.json").write_text(json.dumps(results, indent=2) + "\n")
    table = report.markdown(results)
    (results_dir / f"latest-{results['mode']}.md").write_text(table)
    report.plots(results, results_dir)
    print(table)
    log(f"results in {path}")
    return 0


def run_all(
    runtime: LocalRuntime, sizes: Sizes, work: Path, results: dict[str, Any], parts: frozenset[str] = frozenset(PARTS)
) -> None:
    """The parts in turn, each one's figures added to `results` as soon as it is done."""
    results["complete"] = False
    mirroring.use_profile(runtime, TUNED)
    n, size, partitions = sizes.records, sizes.record_size, sizes.partitions
    backlog = mirroring.Backlog(n, size, partitions, work, settle)
    produce_ceiling: float | None = None
    if "throughput" in parts:
        produce_ceiling = _throughput(runtime, sizes, work, backlog, results)
    if "ablation" in parts:
        log("ablation: from stock to tuned, one group of settings at a time")
        steps = ablation.run_ablation(runtime, backlog, log)
        for step in steps:
            if produce_ceiling:
                step["ratio_to_produce_ceiling"] = round(step["records_per_second"] / produce_ceiling, 2)
        results["ablation"] = steps
    if "latency" in parts:
        _latency(runtime, sizes, results)
    if "evaluation" in parts:
        evaluation: list[dict[str, Any]] = []
        results["evaluation"] = evaluation
        for files in sizes.program_files:
            log(f"evaluating the program under mocks with {files} connector files")
            evaluation.append(program.evaluate_program(files, work, profile=files == max(sizes.program_files)))
    if "registration" in parts:
        log(f"registering {sizes.registration_connectors} connectors through the Pulumi CLI")
        results["registration"] = program.registration(runtime, sizes.registration_connectors, work)
    if "blind" in parts:
        log(f"the seed design's blind PUT loop over {sizes.blind_connectors} connectors")
        results["blind_put_loop"] = program.blind_put_loop(runtime, sizes.blind_connectors, work)
    if "scale" in parts:
        results["scale"] = topic_scale.run_scale(
            runtime,
            sizes.scale_topics,
            sizes.scale_partitions,
            sizes.scale_records_per_partition,
            size,
            sizes.scale_idle_seconds,
            sizes.scale_refresh_intervals,
            sizes.scale_new_topic_samples,
        )
    results["complete"] = True


def _throughput(
    runtime: LocalRuntime, sizes: Sizes, work: Path, backlog: mirroring.Backlog, results: dict[str, Any]
) -> float:
    """The consume ceiling, then the produce ceiling and every profile round after round; the produce ceiling."""
    state = runtime.state()
    n, size, partitions = sizes.records, sizes.record_size, sizes.partitions
    log(f"ceiling: ConsumerPerformance, {n} records from the source")
    source_topic = f"ceiling-source-{int(time.time())}"
    clients.create_topics(state, "source", {source_topic: partitions})
    kafka_tools.produce(state, "source", source_topic, n, size, work)
    settle()
    consume = kafka_tools.consume(state, "source", source_topic, n, work)
    clients.delete_topics(state, "source", [source_topic])

    measured = throughput.run_rounds(runtime, sizes, backlog)
    results["ceiling"] = {"produce": measured["ceiling"], "consume": consume.__dict__}
    results["throughput"] = measured
    return float(measured["ceiling"]["records_per_second"]["median"])


def _latency(runtime: LocalRuntime, sizes: Sizes, results: dict[str, Any]) -> None:
    latency: list[dict[str, Any]] = []
    results["latency"] = latency
    for profile in worker_order(tuple(PROFILES[name] for name in sizes.latency_profiles)):
        log(f"latency at {sizes.latency_rate} records/s for {sizes.latency_seconds} s, profile {profile.name}")
        settle()
        latency.append(
            mirroring.steady_latency(
                runtime, profile, sizes.latency_rate, sizes.latency_seconds, sizes.record_size, sizes.partitions
            )
        )
    mirroring.use_profile(runtime, TUNED)


if __name__ == "__main__":
    sys.exit(main())
