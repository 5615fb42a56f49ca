"""python -m bench.rounds [--rounds N]: the produce ceiling, tuned and tuned-no-eos, round after round.

The full run (`python -m bench`) measures each profile twice on a runtime it has just started. This
shows how much of the exactly-once gap is warm-up: on a fresh runtime (its own folder, removed at
the end), each round measures the ceiling and then mirrors the same backlog size with `tuned` and
`tuned-no-eos`, with the functions of the full run. About 3 minutes a round on 2 cores.
Writes bench/results/rounds-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import kafka_tools, mirroring
from bench.common import BENCH_WORKER_HEAP, FULL, RESULTS_DIR, ceiling_topic, machine, settle
from localkafka.paths import REPO_ROOT
from localkafka.runtime import LocalRuntime

ROUNDS_RUNTIME_DIR = REPO_ROOT / ".local" / "rounds-runtime"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rounds", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    os.environ.setdefault("MM2_LOCAL_WORKER_HEAP", BENCH_WORKER_HEAP)
    records, size, partitions = FULL.records, FULL.record_size, FULL.partitions
    work = Path(tempfile.mkdtemp(prefix="bench-rounds-"))
    backlog = mirroring.Backlog(records, size, partitions, work, settle)
    runtime = LocalRuntime(ROUNDS_RUNTIME_DIR)
    runtime.up(workers=1)
    rounds: list[dict[str, Any]] = []
    try:
        for number in range(1, args.rounds + 1):
            state = mirroring.use_profile(runtime, mirroring.TUNED)
            with ceiling_topic(state, partitions) as topic:
                ceiling = kafka_tools.produce(state, "destination", topic, records, size, work)
            row: dict[str, Any] = {"round": number, "ceiling_records_per_second": round(ceiling.records_per_second)}
            for profile in (mirroring.TUNED, mirroring.TUNED_NO_EOS):
                run = mirroring.mirror_backlog(runtime, profile, backlog)
                row[profile.name] = {key: run[key] for key in ("records_per_second", "cpu_seconds", "cpu_busy")}
                row[profile.name]["ratio_to_produce_ceiling"] = round(
                    run["records_per_second"] / ceiling.records_per_second, 2
                )
            print(f"bench.rounds: {json.dumps(row)}", file=sys.stderr, flush=True)
            rounds.append(row)
    finally:
        runtime.down()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = RESULTS_DIR / f"rounds-{stamp}.json"
    results = {"machine": machine(), "records": records, "record_size": size, "partitions": partitions}
    path.write_text(json.dumps(results | {"rounds": rounds}, indent=2) + "\n")
    print(f"bench.rounds: results in {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
