"""What the workers' metrics endpoints say (the JMX exporter, docker/config/jmx-exporter.yaml).

Read once per command from every worker: record age and replication latency per mirrored
partition, the replication consumers' records-lag, and the restart supervisor's counters when
the workers export them. A worker whose endpoint does not answer is reported, not fatal: the
offsets that decide the verdict come from Connect and the clusters.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

SCRAPE_TIMEOUT_SECONDS = 30.0
RECORD_AGE = "kafka_connect_mirror_source_connector_record_age_ms_max"
REPLICATION_LATENCY = "kafka_connect_mirror_source_connector_replication_latency_ms_max"
RECORDS_LAG = "kafka_consumer_fetch_manager_records_lag"
RESTARTS = "mm2_task_restarts_total"
RESTARTS_EXHAUSTED = "mm2_task_restarts_exhausted"
WANTED = (RECORD_AGE, REPLICATION_LATENCY, RECORDS_LAG, RESTARTS, RESTARTS_EXHAUSTED)

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Sample:
    name: str
    labels: Mapping[str, str]
    value: float


@dataclass
class WorkerMetrics:
    """Every worker's samples of the metrics above, and the workers that could not be read."""

    samples: list[Sample] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)
    _indexed: dict[tuple[str, ...], dict[tuple[str, ...], float]] = field(default_factory=dict, repr=False)

    def by(self, name: str, *keys: str) -> dict[tuple[str, ...], float]:
        """name's values keyed by the given labels; the largest where several workers report one key."""
        if (name, *keys) not in self._indexed:  # asked once per partition: index once
            values: dict[tuple[str, ...], float] = {}
            for sample in self.samples:
                if sample.name == name and not math.isnan(sample.value):
                    key = tuple(sample.labels.get(k, "") for k in keys)
                    values[key] = max(values.get(key, -math.inf), sample.value)
            self._indexed[(name, *keys)] = values
        return self._indexed[(name, *keys)]


def parse(text: str, wanted: Iterable[str] = WANTED) -> list[Sample]:
    names = set(wanted)
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if match is None or match.group("name") not in names:
            continue
        labels = {key: _unescape(value) for key, value in _LABEL.findall(match.group("labels") or "")}
        try:
            value = float(match.group("value"))
        except ValueError:
            continue
        samples.append(Sample(match.group("name"), labels, value))
    return samples


def scrape(urls: Iterable[str]) -> WorkerMetrics:
    """Every worker at once: one scrape of a wide connector takes seconds (docs/migration.md)."""
    metrics = WorkerMetrics()
    listed = list(urls)
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(listed)))) as pool:
        for url, answer in zip(listed, pool.map(_scrape_one, listed), strict=True):
            if isinstance(answer, str):
                metrics.unreachable[url] = answer
            else:
                metrics.samples += answer
    return metrics


def _scrape_one(url: str) -> list[Sample] | str:
    try:
        response = httpx.get(url, timeout=SCRAPE_TIMEOUT_SECONDS)
        response.raise_for_status()
    except httpx.HTTPError as error:
        return f"{type(error).__name__}: {error}"
    return parse(response.text)


def _unescape(value: str) -> str:
    return value.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
