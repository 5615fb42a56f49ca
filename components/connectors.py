"""`mm2:connect:ConnectorSet`: one `Connector` resource per connector file of the stack."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pulumi

from connect.connector_defaults import SOURCE_CONNECTOR
from connect.connector_tree import ConnectorSpec
from providers.connector import Connector, connect_validation_skipped


@dataclass(frozen=True)
class ConnectAccess:
    """How the connector provider reaches the Kafka Connect REST API.

    One of: `url` (an internal load balancer on EKS); `local_runtime_dir` (the local runtime, whose
    address and password the provider reads at each call); or a port-forward to a worker pod
    through the Kubernetes API: `kubeconfig` plus the pods' namespace, label selector and REST port.
    """

    username: str
    password: pulumi.Input[str] = ""
    url: pulumi.Input[str] | None = None
    local_runtime_dir: str | None = None
    local_worker: int = 0
    kubeconfig: pulumi.Input[str] | None = None
    namespace: str = ""
    selector: str = ""
    port: int = 8083
    # One REST call's timeout, the deadline for retrying it, and the wait for RUNNING.
    timeout_seconds: int = 10
    deadline_seconds: int = 60
    state_deadline_seconds: int = 300
    extra: dict[str, Any] = field(default_factory=dict)

    def provider_input(self) -> dict[str, Any]:
        connect: dict[str, Any] = {
            "username": self.username,
            "timeout_seconds": self.timeout_seconds,
            "deadline_seconds": self.deadline_seconds,
            "state_deadline_seconds": self.state_deadline_seconds,
            **self.extra,
        }
        if self.url is not None:
            connect["url"] = self.url
        elif self.local_runtime_dir is not None:
            connect["local_runtime"] = {"dir": self.local_runtime_dir, "worker": self.local_worker}
        else:
            connect["kubernetes"] = {"namespace": self.namespace, "selector": self.selector, "port": self.port}
        return connect


class ConnectorSet(pulumi.ComponentResource):
    connectors: dict[str, Connector]

    def __init__(
        self,
        name: str,
        specs: Sequence[ConnectorSpec],
        access: ConnectAccess,
        depends_on: Sequence[pulumi.Resource] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        depends = pulumi.ResourceOptions(depends_on=list(depends_on))
        super().__init__("mm2:connect:ConnectorSet", name, None, pulumi.ResourceOptions.merge(opts, depends))
        # Given to each connector too: a component's own depends_on does not hold back its children.
        child = pulumi.ResourceOptions(parent=self, depends_on=list(depends_on))
        password = pulumi.Output.secret(access.password)
        kubeconfig = pulumi.Output.secret(access.kubeconfig) if access.kubeconfig is not None else ""
        self.connectors = {}
        for spec in specs:
            connector = Connector(
                spec.name,
                {
                    "connector_name": spec.name,
                    "config": spec.config,
                    "state": spec.state,
                    "source_file": spec.source_file,
                    "connect": access.provider_input(),
                    "connect_password": password,
                    "kubeconfig": kubeconfig,
                },
                child,
            )
            if spec.config["connector.class"] == SOURCE_CONNECTOR and spec.state == "running":
                connector.task_count.apply(partial(_warn_if_idle, spec))
            self.connectors[spec.name] = connector
        if specs and pulumi.runtime.is_dry_run():
            pulumi.Output.all(password, kubeconfig).apply(lambda secrets: _warn_if_unvalidated(access, *secrets))
        self.connector_names = sorted(self.connectors)
        self.register_outputs({"connector_names": self.connector_names})


def _warn_if_idle(spec: ConnectorSpec, task_count: int | None) -> None:
    # MirrorSourceConnector starts no task while its topic filter matches no source partition.
    if task_count == 0:
        topics = spec.config.get("topics", ".*")
        pulumi.log.warn(
            f"{spec.source_file}: connector {spec.name!r} runs no task: its topics {topics!r} "
            f"match no topic on source {spec.source_cluster!r} yet"
        )


def _warn_if_unvalidated(access: ConnectAccess, password: str, kubeconfig: str) -> None:
    """A preview that cannot reach Connect checks the files only: say so, once."""
    props = {"connect": access.provider_input(), "connect_password": password, "kubeconfig": kubeconfig}
    reason = connect_validation_skipped(props)
    if reason is not None:
        pulumi.log.warn(
            "Kafka Connect could not be reached, so its own validation of the connector configs was "
            f"skipped in this preview (the files were checked); `pulumi up` validates again. {reason}"
        )
