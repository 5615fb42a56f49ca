"""Worker pods as containers: started from the rendered Deployment, probed as the kubelet probes them.

`WorkerPod` is one replica: `start` runs the container that tests/container/podman.py translates
(or starts it again after a kill, as the kubelet restarts a container in the same pod, same IP),
`probe` runs one of the Deployment's probes the way the kubelet runs it, `wait_until_ready`
follows the kubelet's order (the startup probe, then readiness).
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from connect.polling import PollTimeout, poll_until
from connect.rest import ConnectEndpoint
from tests.container.podman import PodmanError, PodPlacement, podman, run_arguments, worker_container
from workload.kubernetes import Manifest, Workload

# The kubelet's default probe timeout, when a probe sets none.
DEFAULT_PROBE_TIMEOUT = 1
# The kubelet probes every periodSeconds; the tests probe every second to measure start-up closely.
PROBE_INTERVAL = 1.0
# The kubelet probes readiness for as long as the pod lives; a worker that started but is not
# ready after this long is broken, not slow.
READY_SECONDS = 300.0


@dataclass(frozen=True)
class ProbeResult:
    passed: bool
    message: str


class WorkerPod:
    def __init__(self, workload: Workload, placement: PodPlacement) -> None:
        self.workload, self.placement = workload, placement
        self.container = worker_container(workload)
        self.name, self.ip = placement.name, placement.ip

    @property
    def rest_url(self) -> str:
        return f"http://{self.ip}:{self._port('rest')}"

    @property
    def metrics_url(self) -> str:
        return f"http://{self.ip}:{self._port('metrics')}/metrics"

    def endpoint(self, username: str, password: str, deadline_seconds: float = 60.0) -> ConnectEndpoint:
        return ConnectEndpoint(self.rest_url, username, password, deadline_seconds=deadline_seconds)

    # --- Life cycle -------------------------------------------------------------------------------

    def start(self) -> float:
        """Run the container (or start the stopped one again); the monotonic time it started."""
        started = time.monotonic()
        if podman("container", "exists", self.name, check=False).returncode == 0:
            podman("start", self.name)
        else:
            self.placement.folder.mkdir(parents=True, exist_ok=True)
            podman(*run_arguments(self.workload, self.placement))
        return started

    def wait_until_ready(self, started: float) -> float:
        """Seconds from `started` until the readiness probe passed, after the startup probe did."""
        startup = self.container["startupProbe"]
        # The kubelet restarts a container whose startup probe failed failureThreshold times.
        self._wait_for_probe("startupProbe", startup["periodSeconds"] * startup["failureThreshold"])
        self._wait_for_probe("readinessProbe", READY_SECONDS)
        return time.monotonic() - started

    def kill(self) -> None:
        """SIGKILL, as a node failure or the OOM killer ends a worker."""
        podman("kill", "--signal", "KILL", self.name)
        podman("wait", self.name, timeout=30)

    def stop(self) -> float:
        """SIGTERM, then SIGKILL after the stop timeout (terminationGracePeriodSeconds); the seconds it took."""
        began = time.monotonic()
        grace = self.workload.deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        podman("stop", "--time", str(grace), self.name, timeout=grace + 30)
        return time.monotonic() - began

    def remove(self) -> None:
        podman("rm", "--force", "--time", "0", self.name, check=False)

    def state(self) -> dict[str, Any]:
        inspected = json.loads(podman("container", "inspect", self.name).stdout)
        state: dict[str, Any] = inspected[0]["State"]
        return state

    def running(self) -> bool:
        return bool(self.state().get("Running"))

    def logs(self, tail: int | None = None) -> str:
        result = podman("logs", *(["--tail", str(tail)] if tail else []), self.name, check=False)
        return result.stdout + result.stderr

    def memory(self) -> dict[str, int]:
        """The container's memory as its cgroup (v1) counts it: now, at its peak, and the resident part."""
        folder = "/sys/fs/cgroup/memory"
        result = self.exec("cat", f"{folder}/memory.usage_in_bytes", f"{folder}/memory.max_usage_in_bytes")
        if result.returncode != 0:
            raise PodmanError(f"cannot read the memory cgroup of {self.name}: {result.stderr}")
        usage, peak = (int(line) for line in result.stdout.split())
        stat = self.exec("cat", f"{folder}/memory.stat").stdout
        rss = next(int(line.split()[1]) for line in stat.splitlines() if line.startswith("total_rss "))
        return {"usage_bytes": usage, "peak_bytes": peak, "rss_bytes": rss}

    def exec(self, *command: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        """A command in the running container, as its user, with its environment (kubectl exec)."""
        return podman("exec", self.name, *command, timeout=timeout, check=False)

    # --- Probes, as the kubelet runs them -------------------------------------------------------------

    def probe(self, kind: str) -> ProbeResult:
        """Run the container's `kind` probe (startupProbe, readinessProbe, livenessProbe) once."""
        probe: Manifest = self.container[kind]
        timeout = probe.get("timeoutSeconds", DEFAULT_PROBE_TIMEOUT)
        if "exec" in probe:
            # The kubelet execs the command in the container and reads its exit code and output.
            try:
                result = self.exec(*probe["exec"]["command"], timeout=timeout)
            except subprocess.TimeoutExpired:
                return ProbeResult(False, f"command timed out after {timeout}s")
            output = (result.stdout + result.stderr).strip()
            return ProbeResult(result.returncode == 0, output or f"exit code {result.returncode}")
        if "tcpSocket" in probe:
            # The kubelet opens a TCP connection from the node to the pod IP, and closes it.
            port = self._port(probe["tcpSocket"]["port"])
            try:
                with socket.create_connection((self.ip, port), timeout=timeout):
                    return ProbeResult(True, f"{self.ip}:{port} accepted a connection")
            except OSError as error:
                return ProbeResult(False, f"dial tcp {self.ip}:{port}: {error}")
        raise ValueError(f"{kind}: only exec and tcpSocket probes are rendered and translated, got {sorted(probe)}")

    def _wait_for_probe(self, kind: str, seconds: float) -> None:
        def passed() -> ProbeResult:
            if not self.running():
                state = self.state()
                raise PodmanError(
                    f"container {self.name} exited (code {state.get('ExitCode')}) before its {kind} passed; "
                    f"its last log lines:\n{self.logs(tail=40)}"
                )
            return self.probe(kind)

        try:
            poll_until(
                passed,
                lambda result: result.passed,
                timeout=seconds,
                interval=PROBE_INTERVAL,
                what=f"the {kind} of {self.name} to pass",
                describe=lambda result: result.message,
            )
        except PollTimeout as timeout:
            raise PodmanError(f"{timeout}; its last log lines:\n{self.logs(tail=40)}") from None

    def _port(self, port: int | str) -> int:
        """A probe's port: a number, or the name of one of the container's ports."""
        if isinstance(port, int):
            return port
        for declared in self.container.get("ports", []):
            if declared["name"] == port:
                return int(declared["containerPort"])
        raise ValueError(f"container {self.container['name']} declares no port named {port!r}")
