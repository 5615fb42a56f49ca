"""The runtime's jars, built by Maven from docker/pom.xml (the pom the image uses) and cached."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from connect.java_command import JavaClasspath
from localkafka.paths import DOCKER_DIR, JAR_CACHE, REPO_ROOT, WORKER_CONFIG_DIR


@dataclass(frozen=True)
class RuntimeJars:
    libs_dir: Path
    jmx_agent: Path

    @property
    def java(self) -> JavaClasspath:
        """For `java_command`: these jars with the image's log4j2 config."""
        return JavaClasspath(str(self.libs_dir), str(WORKER_CONFIG_DIR / "log4j2.properties"))


def ensure_jars(cache: Path = JAR_CACHE) -> RuntimeJars:
    """The runtime's jars, built unless the cache already holds what the current poms and sources give."""
    sources = [path for path in DOCKER_DIR.glob("*/src/**/*") if path.is_file()]
    inputs = sorted(DOCKER_DIR.rglob("pom.xml")) + sorted(sources)
    # verify: the policy's unit tests and the check on its packaged jar run before it is used.
    build_with_maven(DOCKER_DIR / "pom.xml", "mm2.runtime.output", cache, "verify", inputs)
    return RuntimeJars(cache / "libs", cache / "agent" / "jmx_prometheus_javaagent.jar")


def build_with_maven(pom: Path, output_property: str, output: Path, goal: str, inputs: list[Path]) -> None:
    """Run Maven on `pom` into `output`, unless a stamp there says these inputs were built already."""
    stamp = output / "inputs.sha256"
    digest = _digest([path for path in inputs if "target" not in path.parts])
    if stamp.exists() and stamp.read_text() == digest:
        return
    print(f"localkafka: building {pom.relative_to(REPO_ROOT)} with Maven into {output}", file=sys.stderr)
    # A version bump must not leave the old jar beside the new one on the classpath.
    shutil.rmtree(output, ignore_errors=True)
    output.mkdir(parents=True)
    command = [
        "mvn",
        "--batch-mode",
        "--quiet",
        "--strict-checksums",
        "-f",
        str(pom),
        f"-D{output_property}={output}",
        goal,
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(
            f"Maven failed (exit {result.returncode}) running: {' '.join(command)}\n"
            f"{result.stdout[-4000:]}{result.stderr[-4000:]}"
        )
    stamp.write_text(digest)


def _digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path.relative_to(REPO_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
