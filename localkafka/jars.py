"""The runtime's jars, built by Maven from docker/pom.xml (the pom the image uses) and cached."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from localkafka.paths import DOCKER_DIR, JAR_CACHE


@dataclass(frozen=True)
class RuntimeJars:
    libs_dir: Path
    jmx_agent: Path

    @property
    def classpath(self) -> str:
        return f"{self.libs_dir}/*"


def ensure_jars(cache: Path = JAR_CACHE) -> RuntimeJars:
    """Build the jars unless the cache already holds the ones the current poms and sources give."""
    jars = RuntimeJars(cache / "libs", cache / "agent" / "jmx_prometheus_javaagent.jar")
    stamp = cache / "inputs.sha256"
    digest = _inputs_digest()
    if stamp.exists() and stamp.read_text() == digest and jars.jmx_agent.exists():
        return jars
    print(f"localkafka: building jars with Maven into {cache} (first run takes a minute)", file=sys.stderr)
    # A version bump must not leave the old jar beside the new one on the classpath.
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    command = [
        "mvn",
        "--batch-mode",
        "--quiet",
        "--strict-checksums",
        # verify: the policy's unit tests and the check on its packaged jar run before it is used.
        "-f",
        str(DOCKER_DIR / "pom.xml"),
        f"-Dmm2.runtime.output={cache}",
        "verify",
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(
            f"Maven failed (exit {result.returncode}) running: {' '.join(command)}\n"
            f"{result.stdout[-4000:]}{result.stderr[-4000:]}"
        )
    stamp.write_text(digest)
    return jars


def _inputs_digest() -> str:
    """Every pom and every policy source: what changes the jars."""
    digest = hashlib.sha256()
    inputs = sorted(DOCKER_DIR.rglob("pom.xml")) + sorted((DOCKER_DIR / "replication-policy" / "src").rglob("*.java"))
    for path in inputs:
        if "target" in path.parts:
            continue
        digest.update(str(path.relative_to(DOCKER_DIR)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
