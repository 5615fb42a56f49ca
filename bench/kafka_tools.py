"""Kafka's own tools, run from the same jars as the runtime: ProducerPerformance, ConsumerPerformance,
and MirrorMaker 1 (Kafka 3.9 jars, built from bench/mm1/pom.xml)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from connect.cluster_connection import client_properties
from connect.java_command import JavaClasspath, java_command
from connect.local_runtime import RuntimeState, cluster_endpoints
from connect.secret_file import write_secret
from connect.worker_properties import CONFIG_PROVIDERS, PRODUCER_TUNING
from localkafka.jars import build_with_maven, ensure_jars
from localkafka.paths import JAR_CACHE, REPO_ROOT

MM1_POM = REPO_ROOT / "bench" / "mm1" / "pom.xml"
MM1_CACHE = JAR_CACHE.parent / "mm1"
TOOL_HEAP = ("-Xms256m", "-Xmx1g")
# The producer settings the tuned worker gives MirrorMaker 2 (connect/worker_properties.py), so
# that the ceiling is what the same producer could do with no mirroring in the way.
CEILING_PRODUCER = {"acks": "all"} | {key.removeprefix("producer."): value for key, value in PRODUCER_TUNING.items()}


@dataclass(frozen=True)
class ToolRun:
    records: int
    seconds: float
    records_per_second: float
    mb_per_second: float


def client_config_file(
    state: RuntimeState, cluster: str, folder: Path, name: str = "client", extra: dict[str, str] | None = None
) -> Path:
    """A Java client properties file for `cluster`; SASL secrets stay behind ${file:...} references."""
    endpoint = cluster_endpoints(state)[cluster]
    lines = {**client_properties(endpoint, str(state.secrets_dir)), "config.providers": "file", **(extra or {})}
    lines["config.providers.file.class"] = CONFIG_PROVIDERS["file"]
    path = folder / f"{cluster}-{name}.properties"
    write_secret(path, "".join(f"{key}={value}\n" for key, value in lines.items()))
    return path


def java(jars: JavaClasspath, main_class: str, *args: str, timeout: float = 3600) -> str:
    command = java_command(jars, main_class, *args, heap=TOOL_HEAP)
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(
            f"{main_class} failed ({result.returncode}):\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    return result.stdout


def produce(
    state: RuntimeState,
    cluster: str,
    topic: str,
    records: int,
    record_size: int,
    folder: Path,
    producer: dict[str, str] | None = None,
) -> ToolRun:
    """ProducerPerformance at full speed; its last line: `N records sent, R records/sec (M MB/sec), ...`."""
    config = client_config_file(state, cluster, folder)
    props = [f"{key}={value}" for key, value in (producer or CEILING_PRODUCER).items()]
    output = java(
        ensure_jars().java,
        "org.apache.kafka.tools.ProducerPerformance",
        "--topic",
        topic,
        "--num-records",
        str(records),
        "--record-size",
        str(record_size),
        "--throughput",
        "-1",
        "--producer.config",
        str(config),
        "--producer-props",
        *props,
    )
    match = re.search(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\)", output.strip().splitlines()[-1])
    if not match:
        raise RuntimeError(f"unexpected ProducerPerformance output:\n{output[-2000:]}")
    rate = float(match[2])
    return ToolRun(int(match[1]), int(match[1]) / rate, rate, float(match[3]))


def consume(state: RuntimeState, cluster: str, topic: str, records: int, folder: Path) -> ToolRun:
    """ConsumerPerformance; its data line: start, end, MB, MB/sec, nMsg, nMsg/sec, ..."""
    config = client_config_file(state, cluster, folder)
    output = java(
        ensure_jars().java,
        "org.apache.kafka.tools.ConsumerPerformance",
        "--bootstrap-server",
        state.brokers[cluster].bootstrap_servers,
        "--topic",
        topic,
        "--messages",
        str(records),
        "--consumer.config",
        str(config),
        "--timeout",
        "60000",
    )
    rows = [line.split(", ") for line in output.strip().splitlines() if line[:1].isdigit()]
    if not rows:
        raise RuntimeError(f"unexpected ConsumerPerformance output:\n{output[-2000:]}")
    fields = rows[-1]
    consumed, rate = int(fields[4]), float(fields[5])
    return ToolRun(consumed, consumed / rate, rate, float(fields[3]))


def mm1_jars() -> JavaClasspath:
    """MirrorMaker 1's jars (Kafka 3.9), built from bench/mm1/pom.xml."""
    build_with_maven(MM1_POM, "mm1.output", MM1_CACHE, "package", [MM1_POM, REPO_ROOT / "docker" / "pom.xml"])
    return JavaClasspath(str(MM1_CACHE / "libs"))


def start_mm1(state: RuntimeState, topic: str, streams: int, folder: Path) -> subprocess.Popen[bytes]:
    """MirrorMaker 1 with its defaults, as the seed design ran it: source consumer -> destination producer."""
    consumer = client_config_file(
        state, "source", folder, "mm1-consumer", {"group.id": f"mm1-{topic}", "auto.offset.reset": "earliest"}
    )
    producer = client_config_file(state, "destination", folder, "mm1-producer")
    command = java_command(
        mm1_jars(),
        "kafka.tools.MirrorMaker",
        "--consumer.config",
        str(consumer),
        "--producer.config",
        str(producer),
        "--include",
        topic,
        "--num.streams",
        str(streams),
        heap=TOOL_HEAP,
    )
    log = open(folder / "mm1.log", "wb")  # noqa: SIM115 - closed with the process by the caller's kill
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
