"""The Kafka reads and writes of the commands, done by the offsets tool with a worker's credentials.

The tool is a Java main class on every worker's classpath (docker/worker-extensions, package
io.github.mm2eks.worker.offsets; its class comment documents the request format). It gets
client properties files and one line of JSON on stdin, and prints one JSON answer. Only the way
it is started differs between platforms, so every computation of `status` and `cutover` is the
same everywhere:
- `LocalKafkaTool` runs it beside the local runtime, with properties files written for it;
- `PodKafkaTool` executes it inside a Ready worker pod through the Kubernetes API, where it uses
  the worker's own properties file, mounted secrets, network and IAM role.
Properties never hold a secret: SASL passwords stay in their files and are referenced as
`${file:<secrets dir>/<cluster>.properties:sasl.jaas.config}`, resolved by the tool.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from connect.cluster_connection import properties_escape
from connect.java_command import JavaClasspath, java_command
from connect.polling import poll_until
from connect.secret_file import write_secret
from connect.worker_properties import CONFIG_PROVIDERS
from mm2ctl.errors import Unreachable
from workload import image_layout

TOOL_MAIN = "io.github.mm2eks.worker.offsets.OffsetsTool"
# Small: on EKS the tool shares the worker container's memory limit with the worker's own JVM.
TOOL_HEAP = ("-Xms32m", "-Xmx192m")
# A short-lived client: start fast, one GC thread.
TOOL_JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto")
# Time for the JVM to start and exit, on top of the Kafka timeout the tool enforces itself.
START_SECONDS = 60.0
# The tool's jar (docker/worker-extensions), and how long a rebuild of the local runtime's jars may take.
TOOL_JAR = "mm2-worker-extensions"
MISSING_CLASS = f"ClassNotFoundException: {TOOL_MAIN}"
REBUILD_SECONDS = 300.0

Request = Mapping[str, Any]


class ToolFailed(Exception):
    """The tool answered with an error that is not about reaching a cluster (a bug or a Kafka error)."""


class KafkaTool(Protocol):
    """Runs the offsets tool's requests and returns one result per request, in order."""

    def run(self, requests: Sequence[Request], timeout_seconds: float) -> list[dict[str, Any]]: ...


def provider_properties(secrets_dir: str) -> dict[str, str]:
    """The config providers that resolve `${file:...}` references, limited to the secrets folder."""
    return {
        "config.providers": "file",
        "config.providers.file.class": CONFIG_PROVIDERS["file"],
        "config.providers.file.param.allowed.paths": secrets_dir,
    }


def request_line(requests: Sequence[Request], timeout_seconds: float, clusters: Mapping[str, Mapping[str, str]]) -> str:
    """The tool's stdin: ONE line of JSON (a Kubernetes exec stream has no end-of-file to wait for)."""
    body = {"timeoutMs": int(timeout_seconds * 1000), "clusters": clusters, "requests": list(requests)}
    return json.dumps(body, separators=(",", ":")) + "\n"


def parse_answer(stdout: str, stderr: str, status: int | None, where: str) -> list[dict[str, Any]]:
    """The tool's results, or the error it reported: `Unreachable` (exit 3) for a cluster that did not answer."""
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    try:
        answer = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        answer = None
    if not isinstance(answer, dict):
        tail = "\n".join(stderr.strip().splitlines()[-15:])
        raise ToolFailed(f"the offsets tool {where} gave no answer (exit status {status}); its last output:\n{tail}")
    if "error" in answer:
        error = answer["error"]
        if error.get("kind") == "unreachable":
            raise Unreachable(str(error.get("message")))
        raise ToolFailed(f"the offsets tool {where} failed ({error.get('kind')}): {error.get('message')}")
    return list(answer["results"])


@dataclass(frozen=True)
class LocalKafkaTool:
    """The tool beside the local runtime: its jars, and properties files for each cluster, mode 0600."""

    jars: JavaClasspath
    # alias -> client properties (connection settings and config providers; no secret values)
    clusters: Mapping[str, Mapping[str, str]]

    def run(self, requests: Sequence[Request], timeout_seconds: float) -> list[dict[str, Any]]:
        result = self._run_once(requests, timeout_seconds)
        if MISSING_CLASS in result.stderr:
            # `python -m localkafka build` replaces the jar folder while it rebuilds: wait for it, once.
            jar_folder = Path(self.jars.libs_dir)
            poll_until(
                lambda: sorted(jar_folder.glob(f"{TOOL_JAR}-*.jar")),
                timeout=REBUILD_SECONDS,
                what=f"the offsets tool's jar in {jar_folder} (a rebuild of the local runtime's jars)",
            )
            result = self._run_once(requests, timeout_seconds)
        return parse_answer(result.stdout, result.stderr, result.returncode, "on this machine")

    def _run_once(self, requests: Sequence[Request], timeout_seconds: float) -> subprocess.CompletedProcess[str]:
        with tempfile.TemporaryDirectory(prefix="mm2ctl-") as folder:
            arguments = []
            for alias, properties in sorted(self.clusters.items()):
                path = Path(folder) / f"{alias}.properties"
                write_secret(path, render_properties(properties))
                arguments.append(f"{alias}={path}")
            command = java_command(
                self.jars,
                TOOL_MAIN,
                *arguments,
                heap=TOOL_HEAP,
                jvm_options=[*TOOL_JVM_OPTIONS, f"-Djava.io.tmpdir={folder}"],
            )
            try:
                return subprocess.run(
                    command,
                    input=request_line(requests, timeout_seconds, {}),
                    capture_output=True,
                    text=True,
                    timeout=timeout_seconds + START_SECONDS,
                )
            except subprocess.TimeoutExpired:
                raise Unreachable(
                    f"the offsets tool did not finish within {timeout_seconds + START_SECONDS:.0f}s"
                ) from None


def render_properties(properties: Mapping[str, str]) -> str:
    return "".join(f"{key}={properties_escape(value)}\n" for key, value in sorted(properties.items()))


class PodExec(Protocol):
    """Runs a command in a Ready worker pod: (stdout, stderr, exit status), within `timeout_seconds`."""

    def pod_name(self) -> str: ...

    def exec(
        self, pod: str, command: Sequence[str], stdin: str, timeout_seconds: float
    ) -> tuple[str, str, int | None]: ...


# The image's jars and log configuration (docker/Dockerfile copies them there).
POD_JARS = JavaClasspath(f"{image_layout.MM2_HOME}/libs", f"{image_layout.MM2_HOME}/config/log4j2.properties")


@dataclass(frozen=True)
class PodKafkaTool:
    """The tool executed inside a worker pod, with the worker's own files, network and IAM role."""

    pods: PodExec
    # alias -> a properties file in the pod (the destination: the worker's own connect-distributed.properties)
    files: Mapping[str, str]
    # alias -> properties sent in the request (the sources: the connectors' connection settings, whose
    # secrets are references to the files of the pod's mounted Secret)
    inline: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def command(self) -> list[str]:
        arguments = [f"{alias}={path}" for alias, path in sorted(self.files.items())]
        return java_command(
            POD_JARS,
            TOOL_MAIN,
            *arguments,
            heap=TOOL_HEAP,
            # The root filesystem is read-only: the JVM's temporary files go to the pod's /tmp volume.
            jvm_options=[*TOOL_JVM_OPTIONS, f"-Djava.io.tmpdir={image_layout.TMP_DIR}"],
        )

    def stdin(self, requests: Sequence[Request], timeout_seconds: float) -> str:
        return request_line(requests, timeout_seconds, {alias: dict(p) for alias, p in self.inline.items()})

    def run(self, requests: Sequence[Request], timeout_seconds: float) -> list[dict[str, Any]]:
        pod = self.pods.pod_name()
        started = time.monotonic()
        stdout, stderr, status = self.pods.exec(
            pod, self.command(), self.stdin(requests, timeout_seconds), timeout_seconds + START_SECONDS
        )
        if status is None:
            raise Unreachable(f"the offsets tool in pod {pod} did not finish within {time.monotonic() - started:.0f}s")
        return parse_answer(stdout, stderr, status, f"in pod {pod}")
