"""python -m bench [--smoke] [--results-dir DIR]: every benchmark, side by side in one run.

The full run takes about half an hour on 2 cores and writes bench/results/<time>.json, PNG plots
and a Markdown table; `--smoke` runs every part with tiny sizes into a temporary folder, so that
CI proves the harness works without timing anything.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import kafka_tools, mirroring, program, report
from localkafka import clients
from localkafka.paths import REPO_ROOT
from localkafka.runtime import LocalRuntime

RESULTS_DIR = REPO_ROOT / "bench" / "results"
BENCH_RUNTIME_DIR = REPO_ROOT / ".local" / "bench-runtime"
# Room for 200 connectors with their clients, and for a backlog in flight.
BENCH_WORKER_HEAP = "-Xms512m -Xmx1536m"


@dataclass(frozen=True)
class Sizes:
    records: int
    record_size: int
    partitions: int
    latency_rate: int
    latency_seconds: int
    program_files: tuple[int, ...]
    registration_connectors: int


FULL = Sizes(2_000_000, 1024, 8, 5000, 30, (10, 100, 1000), 200)
SMOKE = Sizes(20_000, 1024, 4, 500, 5, (10, 20), 5)


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


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

    log(f"ceiling: ProducerPerformance, {n} x {size} B into the destination")
    ceiling_topic = f"ceiling-{int(time.time())}"
    clients.create_topics(state, "destination", {ceiling_topic: partitions})
    produce = kafka_tools.produce(state, "destination", ceiling_topic, n, size, work)
    log(f"ceiling: ConsumerPerformance, {n} records from the source")
    source_topic = f"ceiling-source-{int(time.time())}"
    clients.create_topics(state, "source", {source_topic: partitions})
    kafka_tools.produce(state, "source", source_topic, n, size, work)
    consume = kafka_tools.consume(state, "source", source_topic, n, work)
    ceiling = {"produce": produce.__dict__, "consume": consume.__dict__}

    throughput = []
    for profile in (mirroring.TUNED, mirroring.TUNED_NO_EOS, mirroring.STOCK):
        log(f"mirroring a backlog of {n} records, profile {profile.name}")
        row = mirroring.mirror_backlog(runtime, profile, n, size, partitions, work)
        row["ratio_to_produce_ceiling"] = round(row["records_per_second"] / produce.records_per_second, 2)
        throughput.append(row)
        log(f"  {row['records_per_second']} records/s, {row['mb_per_second']} MB/s")
    log(f"mirroring a backlog of {n} records with MirrorMaker 1 (Kafka 3.9)")
    try:
        row = mirroring.mirror_with_mm1(runtime, n, size, partitions, work)
        row["ratio_to_produce_ceiling"] = round(row["records_per_second"] / produce.records_per_second, 2)
        throughput.append(row)
    except (RuntimeError, TimeoutError) as error:
        throughput.append({"profile": {"name": "mirrormaker1"}, "error": str(error)[-500:]})
    tuned = throughput[0]["records_per_second"]
    stock = throughput[2]["records_per_second"]
    ratios = {
        "tuned_to_stock": round(tuned / stock, 2),
        "tuned_to_produce_ceiling": throughput[0]["ratio_to_produce_ceiling"],
    }

    latency = []
    for profile in (mirroring.TUNED, mirroring.STOCK):
        log(f"latency at {sizes.latency_rate} records/s for {sizes.latency_seconds} s, profile {profile.name}")
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
        "latency": latency,
        "evaluation": evaluation,
        "registration": registration,
    }


def machine() -> dict[str, Any]:
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "java": java,
        "load_average_at_start": os.getloadavg(),
    }


if __name__ == "__main__":
    sys.exit(main())
