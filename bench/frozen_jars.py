"""One build of the runtime's jars for a whole benchmark run, however the tree changes meanwhile.

`localkafka.jars.ensure_jars` rebuilds the shared jar cache whenever a pom or a source under
docker/ changes, and empties it first. On a shared tree, someone editing docker/ during a two-hour
run would make a worker restart or a ProducerPerformance run wait for Maven, fail on a half-edited
source, or find no jars. A full run therefore copies the jars once, at its start, into a folder
named after their content, and the runtime and the tools it starts use that copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from bench import kafka_tools
from localkafka import jars, runtime
from localkafka.paths import JAR_CACHE

FROZEN_ROOT = JAR_CACHE.parent / "bench-jars"


def freeze() -> jars.RuntimeJars:
    """Build (or find) the jars now, copy them, and make this process use the copy from here on."""
    built = jars.ensure_jars()
    digest = (JAR_CACHE / "inputs.sha256").read_text().strip()[:16]
    folder = FROZEN_ROOT / digest
    if not (folder / "complete").exists():
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(built.libs_dir, folder / "libs")
        (folder / "agent").mkdir(parents=True)
        shutil.copy(built.jmx_agent, folder / "agent" / built.jmx_agent.name)
        (folder / "complete").write_text(digest)
    frozen = jars.RuntimeJars(folder / "libs", folder / "agent" / built.jmx_agent.name)

    def frozen_jars(cache: Path = JAR_CACHE) -> jars.RuntimeJars:
        return frozen

    # The two modules that look the jars up at each start (they import the function by name).
    runtime.ensure_jars = frozen_jars  # type: ignore[attr-defined]
    kafka_tools.ensure_jars = frozen_jars  # type: ignore[attr-defined]
    return frozen
