"""python -m bench.rounds [--profiles a,b] [--rounds N]: the produce ceiling and chosen profiles, round after round.

A quicker look than the full run, for trying settings: on a runtime of its own (its folder, removed
at the end unless --keep), the throughput part of the full run (bench/throughput.py: warm-up
round, then each round the produce ceiling and every chosen profile of bench/profiles.py on the
same backlog) without MirrorMaker 1. Writes bench/results/rounds-<time>.json (or --results-dir).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench import frozen_jars, mirroring, profiles, throughput
from bench.common import BENCH_WORKER_HEAP, FULL, RESULTS_DIR, log, machine, settle
from localkafka.paths import REPO_ROOT
from localkafka.runtime import LocalRuntime

ROUNDS_RUNTIME_DIR = REPO_ROOT / ".local" / "rounds-runtime"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rounds", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds, after one warm-up round")
    parser.add_argument("--warmup-rounds", type=int, default=1)
    parser.add_argument(
        "--profiles", default="tuned,tuned-no-eos", help=f"comma-separated, of {sorted(profiles.PROFILES)}"
    )
    parser.add_argument("--records", type=int, default=FULL.records)
    parser.add_argument("--runtime-dir", type=Path, default=ROUNDS_RUNTIME_DIR)
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--keep", action="store_true", help="leave the runtime running afterwards")
    args = parser.parse_args(argv)
    names = tuple(args.profiles.split(","))
    unknown = sorted(set(names) - set(profiles.PROFILES))
    if unknown:
        parser.error(f"--profiles: unknown {unknown}; known: {sorted(profiles.PROFILES)}")
    sizes = replace(
        FULL, records=args.records, throughput_profiles=names, warmup_rounds=args.warmup_rounds, repeats=args.rounds
    )
    os.environ.setdefault("MM2_LOCAL_WORKER_HEAP", BENCH_WORKER_HEAP)
    frozen_jars.freeze()
    work = Path(tempfile.mkdtemp(prefix="bench-rounds-"))
    backlog = mirroring.Backlog(sizes.records, sizes.record_size, sizes.partitions, work, settle)
    runtime = LocalRuntime(args.runtime_dir.resolve())
    runtime.up(workers=1)
    started = machine()
    try:
        measured = throughput.run_rounds(runtime, sizes, backlog, with_mm1=False)
    finally:
        if not args.keep:
            runtime.down()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"rounds-{stamp}.json"
    results = {"machine": started | {"load_average_at_end": os.getloadavg()}, "sizes": sizes.__dict__}
    path.write_text(json.dumps(results | {"throughput": measured}, indent=2) + "\n")
    for row in measured["rows"]:
        log(f"{row['name']}: {row.get('records_per_second', row.get('error'))}")
    for comparison in measured["comparisons"]:
        log(f"{comparison['ours']} / {comparison['other']}: {comparison['ratio']}")
    log(f"results in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
