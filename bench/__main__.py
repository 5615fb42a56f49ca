"""python -m bench [--smoke] [--results-dir DIR]: every benchmark, side by side in one run.

The full run takes about half an hour on 2 cores and writes bench/results/<time>.json, PNG plots
and a Markdown table; `--smoke` runs every part with tiny sizes into a temporary folder, so that
CI proves the harness works without timing anything.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import ablation, kafka_tools, mirroring, program, report
from bench.common import BENCH_WORKER_HEAP, FULL, RESULTS_DIR, SMOKE, Sizes, ceiling_topic, log, machine, settle
from bench.cpu import CpuMeter
from localkafka import clients
from localkafka.paths import REPO_ROOT
from localkafka.runtime import LocalRuntime

BENCH_RUNTIME_DIR = REPO_ROOT / ".local" / "bench-runtime"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check the harness works")
    parser.add_argument("--results-dir", type=Path, help="where to write results (default bench/results)")
    parser.add_argument("--runtime-dir", type=Path, default=BENCH_RUNTIME_DIR, help="the local runtime to use")
    args = parser.parse_args(argv)
    sizes = SMOKE if args.smoke else FULL
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
    runtime = LocalRuntime(args.runtime_dir.resolve())
    log(f"starting the benchmark runtime in {runtime.runtime_dir}")
    runtime.up(workers=1)
    results: dict[str, Any] = {"mode": "smoke" if args.smoke else "full", "machine": machine(), "sizes": sizes.__dict__}
    started = time.monotonic()
    try:
        results |= run_all(runtime, sizes, work)
    finally:
        mirroring.use_profile(runtime, mirroring.TUNED)  # leave the workers as every stack runs them
    results["total_seconds"] = round(time.monotonic() - started)

    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = results_dir / f"{results['mode']}-{stamp}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    (results_dir / f"latest-{results['mode']}.json").write_text(json.dumps(results, indent=2) + "\n")
    table = report.markdown(results)
    (results_dir / f"latest-{results['mode']}.md").write_text(table)
    report.plots(results, results_dir)
    print(table)
    log(f"results in {path}")
    return 0


def run_all(runtime: LocalRuntime, sizes: Sizes, work: Path) -> dict[str, Any]:
    state = mirroring.use_profile(runtime, mirroring.TUNED)
    n, size, partitions = sizes.records, sizes.record_size, sizes.partitions

    log(f"ceiling: ConsumerPerformance, {n} records from the source")
    source_topic = f"ceiling-source-{int(time.time())}"
    clients.create_topics(state, "source", {source_topic: partitions})
    kafka_tools.produce(state, "source", source_topic, n, size, work)
    settle()
    consume = kafka_tools.consume(state, "source", source_topic, n, work)
    clients.delete_topics(state, "source", [source_topic])

    backlog = mirroring.Backlog(n, size, partitions, work, settle)
    produce_runs: list[kafka_tools.ToolRun] = []
    produce_cpu: list[dict[str, Any]] = []
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in ("tuned", "tuned-no-eos", "stock", "mirrormaker1")}
    for attempt in range(sizes.repeats):
        log(f"round {attempt + 1} of {sizes.repeats}: ProducerPerformance, {n} x {size} B into the destination")
        # The workers restart with each profile: the CPU meter reads their pids now.
        with ceiling_topic(state, partitions) as topic, CpuMeter(runtime.state()) as cpu:
            produce_runs.append(kafka_tools.produce(state, "destination", topic, n, size, work))
        produce_cpu.append(cpu.report())
        for profile in (mirroring.TUNED, mirroring.TUNED_NO_EOS, mirroring.STOCK):
            log(f"round {attempt + 1}: mirroring a backlog of {n} records, profile {profile.name}")
            runs[profile.name].append(mirroring.mirror_backlog(runtime, profile, backlog))
            log(f"  {runs[profile.name][-1]['records_per_second']} records/s")
        log(f"round {attempt + 1}: mirroring a backlog of {n} records with MirrorMaker 1 (Kafka 3.9)")
        try:
            runs["mirrormaker1"].append(mirroring.mirror_with_mm1(runtime, backlog))
        except (RuntimeError, TimeoutError) as error:
            runs["mirrormaker1"].append({"profile": {"name": "mirrormaker1"}, "error": str(error)[-500:]})
    produce = mean_run(produce_runs)
    throughput = [summarize(name, rows, produce["records_per_second"]) for name, rows in runs.items()]
    ratios = {
        "tuned_to_stock": round(throughput[0]["records_per_second"] / throughput[2]["records_per_second"], 2),
        "tuned_to_produce_ceiling": throughput[0]["ratio_to_produce_ceiling"],
    }
    ceiling = {"produce": produce | {"cpu": produce_cpu}, "consume": consume.__dict__}

    log("ablation: from stock to tuned, one group of settings at a time")
    steps = ablation.run_ablation(runtime, backlog, log)
    for step in steps:
        step["ratio_to_produce_ceiling"] = round(step["records_per_second"] / produce["records_per_second"], 2)

    latency = []
    for profile in (mirroring.TUNED, mirroring.STOCK):
        log(f"latency at {sizes.latency_rate} records/s for {sizes.latency_seconds} s, profile {profile.name}")
        settle()
        latency.append(
            mirroring.steady_latency(runtime, profile, sizes.latency_rate, sizes.latency_seconds, size, partitions)
        )
    mirroring.use_profile(runtime, mirroring.TUNED)

    evaluation = []
    for files in sizes.program_files:
        log(f"evaluating the program under mocks with {files} connector files")
        evaluation.append(program.evaluate_program(files, work))

    log(f"registering {sizes.registration_connectors} connectors: pulumi up versus a blind PUT loop")
    registration = program.registration(runtime, sizes.registration_connectors, work)
    return {
        "ceiling": ceiling,
        "throughput": throughput,
        "ratios": ratios,
        "ablation": steps,
        "latency": latency,
        "evaluation": evaluation,
        "registration": registration,
    }


def mean_run(runs: list[kafka_tools.ToolRun]) -> dict[str, Any]:
    rates = [run.records_per_second for run in runs]
    return {
        "records": runs[0].records,
        "records_per_second": round(statistics.mean(rates)),
        "mb_per_second": round(statistics.mean(run.mb_per_second for run in runs), 1),
        "runs_records_per_second": [round(rate) for rate in rates],
    }


def summarize(name: str, rows: list[dict[str, Any]], ceiling_rate: float) -> dict[str, Any]:
    """One row per profile: the mean of its rounds, each round's figure kept beside it."""
    good = [row for row in rows if "error" not in row]
    if not good:
        return rows[-1]
    summary = dict(good[-1])
    summary["records_per_second"] = round(statistics.mean(row["records_per_second"] for row in good))
    summary["mb_per_second"] = round(statistics.mean(row["mb_per_second"] for row in good), 1)
    summary["seconds"] = round(statistics.mean(row["seconds"] for row in good), 2)
    if all("records_per_second_from_first_record" in row for row in good):  # MirrorMaker 1 has no such figure
        summary["records_per_second_from_first_record"] = round(
            statistics.mean(row["records_per_second_from_first_record"] for row in good)
        )
    summary["rounds"] = good
    summary["runs_records_per_second"] = [row["records_per_second"] for row in good]
    summary["ratio_to_produce_ceiling"] = round(summary["records_per_second"] / ceiling_rate, 2)
    return summary


if __name__ == "__main__":
    sys.exit(main())
