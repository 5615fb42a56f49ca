"""Turn one benchmark run's results into Markdown tables and PNG plots."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from bench import sizing

FAMILY_COLOURS = {"ours": "#2a7", "seed": "#999", "strimzi": "#37c", "aws-samples": "#e83", "mirrormaker1": "#777"}


def _spread(value: dict[str, Any] | None, digits: int = 0) -> str:
    """`median (min-max)` of a measured spread."""
    if not value:
        return ""
    form = f"{{:.{digits}f}}" if digits else "{:,.0f}"
    return f"{form.format(value['median'])} ({form.format(value['min'])}-{form.format(value['max'])})"


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]], right_from: int = 1) -> list[str]:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("| " + " | ".join("---" if i < right_from else "---:" for i in range(len(header))) + " |")
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return [*lines, ""]


def markdown(results: dict[str, Any]) -> str:
    machine = results["machine"]
    lines = [
        f"Benchmark run ({results['mode']}), {machine['cpus']} CPUs, {results.get('total_seconds', '?')} s in all; "
        f"load average at start {tuple(round(x, 1) for x in machine['load_average_at_start'])}, "
        f"at end {tuple(round(x, 1) for x in machine.get('load_average_at_end', ()))}.",
        "",
    ]
    if "throughput" in results:
        lines += throughput_tables(results)
    if "ablation" in results:
        lines += ablation_table(results["ablation"])
    if results.get("latency"):
        lines += latency_table(results["latency"])
    if results.get("evaluation"):
        lines += evaluation_tables(results["evaluation"])
    if "registration" in results:
        lines += registration_tables(results["registration"], results.get("blind_put_loop"))
    if "scale" in results:
        lines += scale_tables(results["scale"])
    return "\n".join(lines) + "\n"


def throughput_tables(results: dict[str, Any]) -> list[str]:
    measured = results["throughput"]
    ceiling, consume = measured["ceiling"], results["ceiling"]["consume"]
    rounds = sum(1 for r in measured["rounds"] if not r["warm_up"])
    warm = len(measured["rounds"]) - rounds
    lines = [f"Throughput: median of {rounds} measured rounds (min-max), after {warm} warm-up round(s).", ""]
    rows = [
        [
            "Raw produce into the destination (ProducerPerformance)",
            "",
            "",
            _spread(ceiling["records_per_second"]),
            _spread(ceiling["mb_per_second"], 1),
            "1.00",
            "",
            "",
        ],
        [
            "Raw consume from the source (ConsumerPerformance)",
            "",
            "",
            f"{consume['records_per_second']:,.0f}",
            f"{consume['mb_per_second']:.1f}",
            "",
            "",
            "",
        ],
    ]
    for row in measured["rows"]:
        profile = row.get("profile") or {}
        name = row["name"]
        label = "MirrorMaker 1 (Kafka 3.9)" if name == "mirrormaker1" else f"MirrorMaker 2, {name}"
        eos = "yes" if profile.get("exactly_once") else "no"
        if "error" in row:
            rows.append([label, eos, profile.get("tasks", ""), f"failed: {row['error'][:60]}", "", "", "", ""])
            continue
        rows.append(
            [
                label,
                eos,
                profile.get("tasks", profile.get("streams", "")),
                _spread(row["records_per_second"]),
                _spread(row["mb_per_second"], 1),
                _spread(row["ratio_to_produce_ceiling"], 2),
                _spread(row.get("mb_per_worker_cpu_second"), 1),
                _spread(row.get("mb_per_cpu_second"), 1),
            ]
        )
    rows.append(
        [
            "External anchor: a public MirrorMaker 2 benchmark, 1 KB records (not measured here)",
            "",
            "",
            "",
            f"{sizing.ANCHOR_MB_PER_SECOND:.0f}",
            "",
            "",
            f"{sizing.ANCHOR_MB_PER_CPU_SECOND} (at ~{sizing.ANCHOR_CORES} cores)",
        ]
    )
    lines += _table(
        [
            "Profile",
            "exactly-once",
            "tasks",
            "records/s",
            "MB/s",
            "x produce ceiling",
            "MB per worker CPU-s",
            "MB per total CPU-s",
        ],
        rows,
        right_from=2,
    )
    lines += _table(
        ["Side by side, per round", "records/s ratio: median (min-max)", "rounds"],
        [[f"{c['ours']} / {c['other']}", _spread(c["ratio"], 2), c["rounds"]] for c in measured["comparisons"]],
    )
    tuned = next((row for row in measured["rows"] if row["name"] == "tuned" and "error" not in row), None)
    if tuned and tuned.get("mb_per_worker_cpu_second"):
        lines += sizing_table(tuned["mb_per_worker_cpu_second"]["median"])
    return lines


def sizing_table(mb_per_worker_cpu_second: float) -> list[str]:
    rows = []
    for row in sizing.sizing_table(mb_per_worker_cpu_second):
        ours, anchor = row["ours"], row["anchor"]
        rows.append(
            [
                row["target_mb_per_second"],
                f"{ours['workers']} x {sizing.VCPU_PER_WORKER} vCPU ({ours['vcpu']} vCPU needed), "
                f"tasks.max {ours['tasks_max']}",
                f"{anchor['workers']} x {sizing.VCPU_PER_WORKER} vCPU ({anchor['vcpu']} vCPU needed), "
                f"tasks.max {anchor['tasks_max']}",
                row["replicator_partitions"],
            ]
        )
    return [
        f"Sizing on paper at {sizing.UTILIZATION:.0%} worker CPU, from {mb_per_worker_cpu_second} MB per worker "
        f"CPU-s (tuned, measured here) and from the public anchor's {sizing.ANCHOR_MB_PER_CPU_SECOND}:",
        "",
        *_table(
            [
                "MB/s",
                "workers from our figure",
                "workers from the public anchor",
                "MSK Replicator: partitions at 0.3 MB/s",
            ],
            rows,
        ),
    ]


def ablation_table(steps: list[dict[str, Any]]) -> list[str]:
    rows = [
        [
            step["step"],
            step["records_per_second"],
            f"{step['ratio_to_produce_ceiling']:.2f}",
            f"{step['cpu_busy']:.2f}",
            step.get("worker_cpu_seconds", ""),
        ]
        for step in steps
    ]
    return _table(
        ["Ablation: settings added one group at a time", "records/s", "x produce ceiling", "busy", "worker CPU s"], rows
    )


def latency_table(latency: list[dict[str, Any]]) -> list[str]:
    rows = [
        [
            row["profile"]["name"],
            "yes" if row["profile"]["exactly_once"] else "no",
            f"{row['rate']}/s",
            row["p50_ms"],
            row["p99_ms"],
            row["max_ms"],
            row["mm2_replication_latency_ms_max"],
            f"{row['arrived']}/{row['produced']}",
        ]
        for row in latency
    ]
    return _table(
        ["Latency", "exactly-once", "rate", "p50 ms", "p99 ms", "max ms", "MM2 replication-latency-ms max", "arrived"],
        rows,
        right_from=2,
    )


def evaluation_tables(evaluation: list[dict[str, Any]]) -> list[str]:
    rows = [
        [
            f"{row['connector_files']} connector files",
            row["evaluate_seconds"],
            row["process_seconds"],
            row["peak_rss_mb"],
            row["resources"],
        ]
        for row in evaluation
    ]
    lines = _table(["Program evaluation (mocks)", "evaluate s", "process s", "peak RSS MB", "resources"], rows)
    profiled = next((row["profile"] for row in evaluation if "profile" in row), None)
    if profiled:
        total = profiled["profiled_seconds"]
        lines += _table(
            [
                f"Where {max(r['connector_files'] for r in evaluation)} files' evaluation goes (cProfile, own time)",
                "seconds",
                "share",
            ],
            [[area, seconds, f"{seconds / total:.0%}"] for area, seconds in profiled["by_area_seconds"].items()],
        )
        lines += _table(
            ["Cumulative (cProfile)", "seconds"],
            [[name, seconds] for name, seconds in profiled["cumulative_seconds"].items()],
        )
    return lines


def registration_tables(registration: dict[str, Any], blind: dict[str, Any] | None) -> list[str]:
    header = ["run", "seconds", "REST calls", "writes", "409s", "rebalances", "connector restarts", "engine summary"]
    rows = []
    for label, run in registration["runs"].items():
        if "seconds" not in run:
            continue
        summary = ", ".join(f"{count} {kind}" for kind, count in run.get("summary", {}).items())
        rows.append(
            [
                label,
                run["seconds"],
                run["rest_calls"],
                run["writes"],
                run["conflicts_409"],
                run["rebalances"],
                run["connector_restarts"],
                summary,
            ]
        )
    lines = [f"Registering {registration['connectors']} connectors with the Pulumi CLI:", "", *_table(header, rows)]
    kinds = sorted({kind for run in registration["runs"].values() for kind in run.get("cpu_seconds_by_process", {})})
    if kinds:
        lines += _table(
            ["CPU seconds of each run's processes", "wall s", *kinds],
            [
                [label, run["seconds"], *(run["cpu_seconds_by_process"].get(kind, 0.0) for kind in kinds)]
                for label, run in registration["runs"].items()
                if "cpu_seconds_by_process" in run
            ],
        )
    heap = registration["runs"].get("heap with every connector running")
    if heap:
        lines += [
            f"Worker with every connector running: heap {heap['heap_used_mb']} MB used of "
            f"{heap['heap_committed_mb']} MB "
            f"committed, {heap['heap_live_after_full_gc_mb']} MB live after a full GC, {heap['threads']} threads, "
            f"RSS {heap['rss_mb']} MB.",
            "",
        ]
    repaired = registration["runs"].get("repaired", {})
    if repaired:
        lines += _table(
            ["Drifted out of band", "what was done", "after the repairing up"],
            [[name, registration["drifted"][name], state] for name, state in repaired.items()],
        )
    if blind:
        lines += _table(
            [f"Blind PUT loop over {blind['connectors']} connectors", "seconds", "REST calls", "writes", "restarts"],
            [
                [run, r["seconds"], r["rest_calls"], r["writes"], r["connector_restarts"]]
                for run, r in blind["runs"].items()
            ],
        )
    return lines


def scale_tables(scale: list[dict[str, Any]]) -> list[str]:
    rows = []
    for row in scale:
        arrivals, worker = row["arrivals"], row["worker"]
        idle = next(iter(row["idle"].values()))  # the first is at the default refresh interval
        idle_worker = sum(v for k, v in idle["cpu_seconds_per_minute"].items() if k.startswith("worker"))
        rows.append(
            [
                f"{row['topics']} x {row['partitions'] // row['topics']}",
                row["records"],
                row["tasks_running_seconds"],
                row["topics_created_seconds"],
                row["mirrored_seconds"],
                row["records_per_second"],
                f"{arrivals['records_counted']}/{arrivals['records_expected']}, "
                f"{arrivals['partitions_short']} short, {arrivals['partitions_with_duplicates']} over",
                f"{worker['heap_used_mb']} / {worker['heap_live_after_full_gc_mb']}",
                worker["threads"],
                row["worker_cpu_seconds"],
                round(idle_worker, 1),
            ]
        )
    lines = _table(
        [
            "Topics x partitions",
            "records",
            "tasks running s",
            "topics created s",
            "all committed s",
            "records/s",
            "arrived (per partition)",
            "heap used / live MB",
            "threads",
            "worker CPU s",
            "idle worker CPU s/min",
        ],
        rows,
    )
    largest = scale[-1]
    if largest.get("new_topic"):
        rows = []
        for interval, delays in largest["new_topic"].items():
            idle = largest["idle"][interval]
            per_minute = idle["cpu_seconds_per_minute"]
            rows.append(
                [
                    interval,
                    ", ".join(str(d) for d in delays["samples_seconds"]),
                    delays["max_seconds"],
                    round(sum(v for k, v in per_minute.items() if k.startswith("worker")), 2),
                    round(per_minute.get("source broker", 0.0), 2),
                    round(per_minute.get("destination broker", 0.0), 2),
                ]
            )
        lines += _table(
            [
                f"New topic at {largest['topics']} topics: refresh.topics.interval.seconds",
                "created to first record, s",
                "max s",
                "idle worker CPU s/min",
                "idle source broker CPU s/min",
                "idle destination broker CPU s/min",
            ],
            rows,
        )
    return lines


# --- Plots ---------------------------------------------------------------------------------


def plots(results: dict[str, Any], folder: Path) -> None:
    if "throughput" in results:
        _throughput_plot(results, folder)
        _efficiency_plot(results, folder)
    if results.get("latency"):
        _latency_plot(results["latency"], folder)
    if results.get("evaluation"):
        _evaluation_plot(results["evaluation"], folder)
    if results.get("scale"):
        _scale_plot(results["scale"], folder)


def _good_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    return [row for row in results["throughput"]["rows"] if "error" not in row]


def _bars(axis: Any, names: list[str], spreads: list[dict[str, float]], colours: list[str]) -> None:
    medians = [s["median"] for s in spreads]
    below = [s["median"] - s["min"] for s in spreads]
    above = [s["max"] - s["median"] for s in spreads]
    axis.bar(names, medians, color=colours, yerr=[below, above], capsize=3)
    axis.tick_params(axis="x", labelrotation=45)
    for label in axis.get_xticklabels():
        label.set_horizontalalignment("right")


def _throughput_plot(results: dict[str, Any], folder: Path) -> None:
    rows = _good_rows(results)
    names = ["raw produce"] + [row["name"] for row in rows]
    spreads = [results["throughput"]["ceiling"]["mb_per_second"]] + [row["mb_per_second"] for row in rows]
    colours = ["#444"] + [FAMILY_COLOURS.get(row["profile"].get("family", ""), "#777") for row in rows]
    figure, axis = plt.subplots(figsize=(9, 4.5))
    _bars(axis, names, spreads, colours)
    axis.set_ylabel("MB/s (median, min-max)")
    sizes = results["sizes"]
    axis.set_title(f"Mirroring a backlog of {sizes['records']:,} x {sizes['record_size']} B")
    figure.tight_layout()
    figure.savefig(folder / "throughput.png", dpi=120)
    plt.close(figure)


def _efficiency_plot(results: dict[str, Any], folder: Path) -> None:
    rows = [row for row in _good_rows(results) if row.get("mb_per_worker_cpu_second")]
    names = [row["name"] for row in rows]
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    for axis, key, title in (
        (axes[0], "mb_per_worker_cpu_second", "MB per worker CPU-second"),
        (axes[1], "mb_per_cpu_second", "MB per CPU-second, every process"),
    ):
        colours = [FAMILY_COLOURS.get(row["profile"].get("family", ""), "#777") for row in rows]
        _bars(axis, names, [row[key] for row in rows], colours)
        axis.axhline(sizing.ANCHOR_MB_PER_CPU_SECOND, color="#c33", linestyle="--", label="public benchmark (external)")
        axis.set_title(title)
        axis.legend()
    figure.tight_layout()
    figure.savefig(folder / "efficiency.png", dpi=120)
    plt.close(figure)


def _latency_plot(latency: list[dict[str, Any]], folder: Path) -> None:
    figure, axis = plt.subplots(figsize=(9, 4))
    labels = [row["profile"]["name"] for row in latency]
    for offset, key in enumerate(("p50_ms", "p99_ms", "max_ms")):
        axis.bar(
            [i + offset * 0.25 for i in range(len(latency))], [row[key] or 0 for row in latency], width=0.25, label=key
        )
    axis.set_xticks([i + 0.25 for i in range(len(latency))], labels, rotation=45, ha="right")
    axis.set_ylabel("ms")
    axis.set_yscale("log")
    axis.set_title(f"End-to-end latency at {latency[0]['rate']} records/s")
    axis.legend()
    figure.tight_layout()
    figure.savefig(folder / "latency.png", dpi=120)
    plt.close(figure)


def _evaluation_plot(evaluation: list[dict[str, Any]], folder: Path) -> None:
    figure, axis = plt.subplots(figsize=(7, 3.5))
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


def _scale_plot(scale: list[dict[str, Any]], folder: Path) -> None:
    topics = [row["topics"] for row in scale]
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.5))
    axes[0].plot(topics, [row["worker"]["heap_used_mb"] for row in scale], marker="o", label="used")
    axes[0].plot(topics, [row["worker"]["heap_live_after_full_gc_mb"] for row in scale], marker="o", label="live")
    axes[0].set_title("worker heap, MB")
    axes[0].legend()
    axes[1].plot(topics, [row["tasks_running_seconds"] for row in scale], marker="o", label="tasks running")
    axes[1].plot(topics, [row["mirrored_seconds"] for row in scale], marker="o", label="all committed")
    axes[1].set_title("seconds from connector creation")
    axes[1].legend()
    axes[2].plot(topics, [row["worker_cpu_seconds"] for row in scale], marker="o")
    axes[2].set_title("worker CPU s while mirroring")
    for axis in axes:
        axis.set_xlabel("topics (one regex connector)")
    figure.tight_layout()
    figure.savefig(folder / "topics.png", dpi=120)
    plt.close(figure)
