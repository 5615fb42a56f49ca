"""python -m localrun: the local default, end to end.

1. start the local runtime (two Kafka clusters and a Connect worker on 127.0.0.1),
2. build or find the Pulumi CLI,
3. create the sample topics on the source,
4. `pulumi up --stack local`: register every connector of connectors/local/,
5. produce traced sample records and find each one on the destination,
then print what runs and what arrived where. A second run changes nothing and is quick.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import uuid

from connect.local_runtime import connect_endpoint, runtime_dir
from connect.rest import ConnectClient
from localkafka import clients
from localkafka.paths import REPO_ROOT
from localkafka.runtime import LocalRuntime
from localrun import samples
from localrun.pulumi_cli import PulumiCli, PulumiError, cli_bin_dir

STACK = "local"
# The source topics the local connector files mirror, with their partition counts.
SAMPLE_TOPICS = {"orders": 3, "events": 2}


def step(number: int, text: str) -> None:
    print(f"\n==> [{number}/5] {text}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m localrun", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=500, help="sample records per topic (default 500)")
    args = parser.parse_args(argv)
    started = time.monotonic()

    step(1, "Starting the local Kafka runtime (reused when already running)")
    # The folder the program finds too: MM2_LOCAL_RUNTIME_DIR or .local/runtime.
    runtime = LocalRuntime(runtime_dir(REPO_ROOT))
    state = runtime.up(workers=1)

    step(2, "Preparing the Pulumi CLI (built from Go modules on first use)")
    cli = PulumiCli(REPO_ROOT, cli_bin_dir())

    step(3, f"Creating the sample topics on the source: {', '.join(SAMPLE_TOPICS)}")
    clients.create_topics(state, "source", SAMPLE_TOPICS)

    step(4, f"pulumi up --stack {STACK}")
    cli.ensure_stack(STACK)
    try:
        cli.up(STACK, stream=True)
    except PulumiError as error:
        print(f"\npulumi up failed (exit {error.returncode}); the output above says why.", file=sys.stderr)
        return 1

    step(5, f"Producing {args.records} traced records per topic and finding them on the destination")
    run_id = uuid.uuid4().hex
    start = samples.end_offsets(state, samples.data_topics(clients.topic_names(state, "destination")))
    reports = {topic: samples.TopicReport(topic, args.records) for topic in SAMPLE_TOPICS}
    # Read while producing, so that the latency measured is MirrorMaker's, not our reader's.
    reading = threading.Event()
    tracer = threading.Thread(target=samples.trace, args=(state, start, reports, run_id, 120, reading))
    tracer.start()
    reading.wait(30)
    samples.produce(state, SAMPLE_TOPICS, args.records, run_id)
    tracer.join()

    print_summary(state, cli, reports, time.monotonic() - started)
    complete = all(report.arrived == report.produced for report in reports.values())
    return 0 if complete else 1


def print_summary(state, cli: PulumiCli, reports: dict[str, samples.TopicReport], seconds: float) -> None:  # type: ignore[no-untyped-def]
    print("\nSummary")
    with ConnectClient(connect_endpoint(state)) as client:
        for name in cli.outputs(STACK).get("connectorNames", []):
            status = client.connector_status(name) or {"connector": {"state": "MISSING"}, "tasks": []}
            tasks = ", ".join(task["state"] for task in status["tasks"]) or "no tasks"
            print(f"  connector {name:<14} {status['connector']['state']:<9} tasks: {tasks}")
    for report in reports.values():
        where = ", ".join(f"{topic} ({count})" for topic, count in report.destinations.items()) or "nowhere"
        print(f"  {report.source_topic:<8} -> {where:<28} produced {report.produced}, arrived {report.arrived}")
    print(f"  end-to-end latency: {samples.latency_summary(reports.values())}")
    print(
        f"  done in {seconds:.0f} s; Connect REST {state.connect_url}; stop with: .venv/bin/python -m localkafka down"
    )


if __name__ == "__main__":
    sys.exit(main())
