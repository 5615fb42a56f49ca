"""The files a worker pod mounts: the ConfigMap's worker properties and REST JAAS file, and the
Secrets' cluster credentials (SASL files, TLS certificates and keys) and REST auth files.

Rendered here once for the `ConnectCluster` component, the container tests and the operator
commands. Secrets: the ConfigMap holds nothing secret (the JAAS file only names the users file);
`credential_files` and `rest_auth_files` return secret content that callers keep secret.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from connect.cluster_connection import (
    ClusterEndpoint,
    TlsFiles,
    credentials_file_content,
    credentials_file_name,
    tls_file_contents,
)
from connect.rest_auth import basic_authorization, rest_jaas_config, rest_users_file_content
from connect.worker_properties import TaskRestarts, WorkerSettings, render_worker_properties
from stackconfig.models import KafkaCluster, SaslAuth, StackSecrets, StackSettings
from workload import image_layout


def group_id(settings: StackSettings) -> str:
    """The Connect group, also the prefix of its internal topics and transactional ids."""
    return f"mm2-{settings.env}"


def endpoint_of(name: str, cluster: KafkaCluster) -> ClusterEndpoint:
    if not cluster.bootstrap_servers:  # load_stack refuses this on eks; kept for the type checker
        raise ValueError(f"cluster {name!r} has no bootstrap servers")
    return ClusterEndpoint(name, cluster.bootstrap_servers, cluster.auth)


def pod_worker_settings(settings: StackSettings) -> WorkerSettings:
    """The worker settings of a pod: the image's paths and ports, the pod IP from the downward API."""
    destination = settings.destination
    return WorkerSettings(
        group_id=group_id(settings),
        destination=endpoint_of(destination.name, destination),
        replication_factor=destination.replication_factor,
        rest_bind_host="0.0.0.0",
        rest_port=image_layout.REST_PORT,
        # Resolved by each worker from the POD_IP env var (downward API): followers forward
        # writes to the leader at this address.
        rest_advertised_host="${env:POD_IP}",
        secrets_dir=image_layout.SECRETS_DIR,
        exactly_once=settings.connect.exactly_once,
        rebalance_delay_ms=settings.connect.rebalance_delay_ms,
        task_restarts=pod_task_restarts(settings),
        rest_authorization_file=f"{image_layout.REST_AUTH_DIR}/{image_layout.PROBE_AUTH_FILE}",
    )


def pod_task_restarts(settings: StackSettings) -> TaskRestarts:
    restarts = settings.connect.task_restarts
    unit_ms = restarts.backoff_unit_seconds * 1000
    # Polled at least once per unit, so that a short unit (a test stack) is kept to the second.
    return TaskRestarts(
        max_restarts=restarts.max_restarts, backoff_unit_ms=unit_ms, poll_interval_ms=min(10_000, unit_ms)
    )


def config_files(settings: StackSettings) -> dict[str, str]:
    """The ConfigMap's files: nothing secret (the JAAS file only names the users file)."""
    return {
        image_layout.WORKER_PROPERTIES_FILE: render_worker_properties(pod_worker_settings(settings)),
        image_layout.REST_JAAS_FILE: rest_jaas_config(f"{image_layout.REST_AUTH_DIR}/{image_layout.REST_USERS_FILE}"),
    }


def credential_files(settings: StackSettings, secrets: StackSecrets) -> dict[str, str]:
    """Every cluster's secret files, as `client_properties` references them.

    `<cluster>.properties` (SASL), `<cluster>-ca.pem` (a private CA), `<cluster>-certificate.pem`
    and `<cluster>-private-key.pem` (mutual TLS). `load_stack` made sure each cluster has what
    its auth needs.
    """
    clusters = {settings.destination.name: settings.destination, **settings.sources}
    files = {}
    for name, cluster in sorted(clusters.items()):
        credentials = secrets.credentials.get(name)
        if credentials is None:
            continue
        if isinstance(cluster.auth, SaslAuth) and credentials.username and credentials.password:
            password = credentials.password.get_secret_value()
            files[credentials_file_name(name)] = credentials_file_content(cluster.auth, credentials.username, password)
        tls = TlsFiles(
            trusted_certificates=credentials.trusted_certificates,
            certificate=credentials.certificate,
            private_key=credentials.private_key.get_secret_value() if credentials.private_key else None,
        )
        files |= tls_file_contents(name, tls)
    return files


def rest_auth_files(settings: StackSettings, secrets: StackSecrets) -> dict[str, str]:
    if secrets.connect_password is None:
        raise ValueError("connectPassword is required on eks")  # load_stack refuses this earlier
    username, password = settings.connect.rest_username, secrets.connect_password.get_secret_value()
    return {
        image_layout.REST_USERS_FILE: rest_users_file_content(username, password),
        # The readiness probe's Authorization header value (Basic scheme).
        image_layout.PROBE_AUTH_FILE: basic_authorization(username, password),
    }


def checksum(files: Mapping[str, str]) -> str:
    """Changes whenever a worker file changes: the pod template's annotation, so workers restart."""
    return hashlib.sha256(json.dumps(dict(files), sort_keys=True).encode()).hexdigest()
