"""The `local` platform: register the connectors/local tree with the local runtime's Connect worker.

No AWS or Kubernetes resource: the clusters and the worker are started beforehand by
`python -m localkafka up`, whose state file gives their ports and whose secrets folder holds the
generated credentials.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi

from components.connectors import ConnectAccess, ConnectorSet
from connect.connector_tree import load_connector_tree
from connect.local_runtime import LocalCredentials, RuntimeState, cluster_endpoints, local_tree_context, runtime_dir
from stackconfig.models import StackSettings


def build_local_stack(settings: StackSettings, project_root: Path) -> dict[str, Any]:
    try:
        state = RuntimeState.load(runtime_dir(project_root, settings.local.runtime_dir))
    except FileNotFoundError as error:
        raise pulumi.RunError(f"{error} (config key mm2-eks:local.runtimeDir)") from None
    endpoints = cluster_endpoints(state)
    _check_clusters_match(settings, endpoints)

    # Every connector file is read and checked before any resource is declared.
    tree = load_connector_tree(
        local_tree_context(
            state,
            project_root / "connectors",
            settings.env,
            exactly_once=settings.connect.exactly_once,
            replication_factor=settings.destination.replication_factor,
            display_root=project_root,
            allow_empty_sources=settings.allow_empty_connector_folders,
        )
    )
    for warning in tree.warnings:
        pulumi.log.warn(warning)

    if settings.local.connect_worker >= len(state.workers):
        raise pulumi.RunError(
            f"mm2-eks:local.connectWorker: the local runtime has {len(state.workers)} worker(s), "
            f"there is no worker {settings.local.connect_worker}"
        )
    # The address and password are read from the runtime folder at each provider call, not stored:
    # a restarted runtime has new ports and new credentials.
    access = ConnectAccess(
        username=LocalCredentials.load(state.secrets_dir).connect.username,
        local_runtime_dir=state.runtime_dir,
        local_worker=settings.local.connect_worker,
        timeout_seconds=settings.connect.rest_timeout_seconds,
        deadline_seconds=settings.connect.rest_deadline_seconds,
        state_deadline_seconds=settings.connect.connector_deadline_seconds,
    )
    connectors = ConnectorSet("connectors", tree.connectors, access)
    return {
        "connectUrl": state.workers[settings.local.connect_worker].url,
        "connectorNames": connectors.connector_names,
        "connectorStates": {name: c.connector_state for name, c in connectors.connectors.items()},
    }


def _check_clusters_match(settings: StackSettings, endpoints: dict[str, Any]) -> None:
    problems = []
    for key, name, cluster in [
        ("destination.name", settings.destination.name, settings.destination),
        *((f"sources.{name}", name, source) for name, source in settings.sources.items()),
    ]:
        if name not in endpoints:
            problems.append(f"mm2-eks:{key}: the local runtime has no cluster {name!r} (it has {sorted(endpoints)})")
        elif cluster.auth != endpoints[name].auth:
            problems.append(
                f"mm2-eks:{key}: auth {cluster.auth.model_dump()} differs from the local runtime's "
                f"{endpoints[name].auth.model_dump()}"
            )
    if problems:
        raise pulumi.RunError("Invalid stack configuration:\n" + "\n".join(f"  - {p}" for p in problems))
