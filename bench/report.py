"""Turn one benchmark run's results into a Markdown table and PNG plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt


def markdown(results: dict[str, Any]) -> str:
    ceiling = results["ceiling"]
    lines = [
        f"Benchmark run ({results['mode']}), {results['machine']['cpus']} CPUs, {results['total_seconds']} s in all.",
        "",
        "| Throughput | records/s | MB/s | x produce ceiling | records/s from the first mirrored record |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| Raw produce into the destination, ProducerPerformance "
        f"(rounds: {', '.join(str(r) for r in ceiling['produce']['runs_records_per_second'])}) "
        f"| {ceiling['produce']['records_per_second']:.0f} "
        f"| {ceiling['produce']['mb_per_second']:.1f} | 1.00 | |",
        f"| Raw consume from the source (ConsumerPerformance) | {ceiling['consume']['records_per_second']:.0f} "
        f"| {ceiling['consume']['mb_per_second']:.1f} | | |",
    ]
    for row in results["throughput"]:
        if "error" in row:
            lines.append(f"| {row['profile']['name']} | failed: {row['error'][:80]} | | | |")
            continue
        name = row["profile"]["name"]
        label = "MirrorMaker 1 (Kafka 3.9)" if name == "mirrormaker1" else f"MirrorMaker 2, {name}"
        lines.append(
            f"| {label} | {row['records_per_second']} | {row['mb_per_second']} "
            f"| {row['ratio_to_produce_ceiling']:.2f} | {row.get('records_per_second_from_first_record', '')} |"
        )
    lines += [
        "",
        f"Tuned / stock: {results['ratios']['tuned_to_stock']}x.",
        "",
        "| Ablation: settings added one group at a time | records/s | x produce ceiling | busy | worker CPU s |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for step in results["ablation"]:
        worker_seconds = sum(v for k, v in step["cpu_seconds"].items() if k.startswith("worker"))
        lines.append(
            f"| {step['step']} | {step['records_per_second']} | {step['ratio_to_produce_ceiling']:.2f} "
            f"| {step['cpu_busy']:.2f} | {worker_seconds:.1f} |"
        )
    lines += [
        "",
        "| Latency | rate | p50 ms | p99 ms | max ms | MM2 replication-latency-ms max | arrived |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in results["latency"]:
        lines.append(
            f"| {row['profile']['name']} | {row['rate']}/s | {row['p50_ms']} | {row['p99_ms']} | {row['max_ms']} "
            f"| {row['mm2_replication_latency_ms_max']} | {row['arrived']}/{row['produced']} |"
        )
    lines += [
        "",
        "| Program evaluation (mocks) | evaluate s | process s | peak RSS MB | resources |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for row in results["evaluation"]:
        lines.append(
            f"| {row['connector_files']} connector files | {row['evaluate_seconds']} | {row['process_seconds']} "
            f"| {row['peak_rss_mb']} | {row['resources']} |"
        )
    registration = results["registration"]
    lines += [
        "",
        f"| Registering {registration['connectors']} connectors | run | seconds | REST calls | writes | restarts |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for tool, label in (("pulumi_up", "pulumi up (this provider)"), ("blind_put_loop", "blind PUT loop")):
        for run in ("first", "second"):
            row = registration[tool][run]
            lines.append(
                f"| {label} | {run} | {row['seconds']} | {row['rest_calls']} | {row['writes']} "
                f"| {row['connector_restarts']} |"
            )
    return "\n".join(lines) + "\n"


def plots(results: dict[str, Any], folder: Path) -> None:
    rows = [row for row in results["throughput"] if "error" not in row]
    names = ["raw produce"] + [row["profile"]["name"] for row in rows]
    values = [results["ceiling"]["produce"]["mb_per_second"]] + [row["mb_per_second"] for row in rows]
    figure, axis = plt.subplots(figsize=(7, 3.5))
    axis.bar(names, values, color=["#888"] + ["#2a7"] * len(rows))
    axis.set_ylabel("MB/s")
    axis.set_title(f"Mirroring a backlog of {results['sizes']['records']:,} x {results['sizes']['record_size']} B")
    figure.tight_layout()
    figure.savefig(folder / "throughput.png", dpi=120)
    plt.close(figure)

    figure, axis = plt.subplots(figsize=(7, 3.5))
    latency = results["latency"]
    labels = [row["profile"]["name"] for row in latency]
    for offset, key in enumerate(("p50_ms", "p99_ms", "max_ms")):
        axis.bar(
            [i + offset * 0.25 for i in range(len(latency))], [row[key] or 0 for row in latency], width=0.25, label=key
        )
    axis.set_xticks([i + 0.25 for i in range(len(latency))], labels)
    axis.set_ylabel("ms")
    axis.set_title(f"End-to-end latency at {latency[0]['rate']} records/s")
    axis.legend()
    figure.tight_layout()
    figure.savefig(folder / "latency.png", dpi=120)
    plt.close(figure)

    figure, axis = plt.subplots(figsize=(7, 3.5))
    evaluation = results["evaluation"]
    axis.plot(
        [row["connector_files"] for row in evaluation], [row["evaluate_seconds"] for row in evaluation], marker="o"
    )
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("connector files")
    axis.set_ylabel("evaluation seconds")
    axis.set_title("Program evaluation under mocks")
    figure.tight_layout()
    figure.savefig(folder / "scaling.png", dpi=120)
    plt.close(figure)
