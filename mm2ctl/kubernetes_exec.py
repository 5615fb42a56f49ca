"""Run a command inside a Ready worker pod through the Kubernetes API, like `kubectl exec -i`.

The offsets tool runs there with the worker's own jars, properties, mounted secrets, network
and IAM role (mm2ctl/kafka_tool.py builds its command line). Bounded: a command that has not
finished by the deadline is abandoned and reported.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kubernetes.stream import stream

from connect.port_forward import API_TIMEOUT_SECONDS, PodTarget, PortForwardError, stream_api
from mm2ctl.errors import Unreachable
from workload.kubernetes import CONTAINER_NAME


@dataclass(frozen=True)
class KubernetesPods:
    api: Any  # kubernetes.client.CoreV1Api
    namespace: str
    selector: str

    def pod_name(self) -> str:
        try:
            return PodTarget(self.api, self.namespace, self.selector, 0).ready_pod()
        except PortForwardError as error:
            raise Unreachable(str(error)) from None

    def exec(self, pod: str, command: Sequence[str], stdin: str, timeout_seconds: float) -> tuple[str, str, int | None]:
        try:
            client = stream(
                stream_api(self.api).connect_get_namespaced_pod_exec,
                pod,
                self.namespace,
                container=CONTAINER_NAME,
                command=list(command),
                stdin=True,
                stdout=True,
                stderr=True,
                tty=False,
                _preload_content=False,
                _request_timeout=API_TIMEOUT_SECONDS,
            )
        except Exception as error:  # noqa: BLE001 - ApiException, websocket and transport errors
            reason = getattr(error, "reason", None) or type(error).__name__
            raise Unreachable(
                f"could not exec in pod {pod} (namespace {self.namespace!r}) through the Kubernetes API: {reason}; "
                "the kubeconfig's identity needs create on pods/exec"
            ) from None
        stdout: list[str] = []
        stderr: list[str] = []
        deadline = time.monotonic() + timeout_seconds
        try:
            client.write_stdin(stdin)
            while client.is_open() and time.monotonic() < deadline:
                client.update(timeout=1)
                stdout.append(client.read_stdout(timeout=0))
                stderr.append(client.read_stderr(timeout=0))
            finished = not client.is_open()
            status = client.returncode if finished else None
        finally:
            client.close()
        return "".join(stdout), "".join(stderr), status
