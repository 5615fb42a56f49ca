"""`mm2:k8s:ConnectCluster`: the Kafka Connect workers that run the MirrorMaker 2 connectors.

The Kubernetes objects come from `workload.kubernetes.render_workload`, declared here unchanged:
the Kubernetes tests apply the same manifests to a real cluster. What only this component does:
the workers' IAM role (IRSA) when the stack runs on EKS, the order in which the objects are
created, and keeping the Secrets' files secret in the state.

Secrets: SASL credentials and the REST password reach the pods only as files from Kubernetes
Secrets (their `stringData` is a Pulumi secret, so the state holds it encrypted); the ConfigMap and
the connector configs hold `${file:...}` references to those files, never a value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as kubernetes

from stackconfig.models import StackSecrets, StackSettings
from workload.kubernetes import SERVICE_ACCOUNT, Manifest, render_workload, worker_names
from workload.msk_iam import worker_policy
from workload.worker_files import group_id


@dataclass(frozen=True)
class WorkloadIdentity:
    """The cluster's OIDC provider, which IAM trusts to vouch for service accounts (IRSA)."""

    oidc_provider_arn: pulumi.Input[str]
    # Without https://, as IAM condition keys spell it.
    oidc_provider_host: pulumi.Input[str]


class ConnectCluster(pulumi.ComponentResource):
    namespace: str
    # The same name as an output of the Namespace resource: objects placed in the namespace by
    # others use it, so that they are created after the namespace.
    namespace_ref: pulumi.Output[str]
    service_name: str
    # Label selector string of the worker pods (for the connector provider's port-forward).
    selector: str
    select_labels: dict[str, str]
    role_arn: pulumi.Output[str] | None
    deployment: kubernetes.apps.v1.Deployment

    def __init__(
        self,
        name: str,
        settings: StackSettings,
        secrets: StackSecrets,
        image: pulumi.Input[str],
        node_labels: Mapping[str, str],
        identity: WorkloadIdentity | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mm2:k8s:ConnectCluster", name, None, opts)
        self._name = name
        self._settings = settings
        self._here = pulumi.ResourceOptions(parent=self)
        names = worker_names(settings)
        self.namespace, self.service_name, self.selector = names.namespace, names.service, names.selector
        self.select_labels = names.select_labels

        self.role_arn = self._iam_role(identity) if identity is not None else None
        workload = render_workload(settings, secrets, image=image, node_labels=node_labels, role_arn=self.role_arn)

        owned: list[pulumi.Resource] = []
        if settings.connect.create_namespace:
            namespace = _declare(kubernetes.core.v1.Namespace, f"{name}-namespace", workload.namespace, self._here)
            self.namespace_ref = namespace.metadata.apply(lambda metadata: str(metadata.name))
            owned.append(namespace)
        else:
            self.namespace_ref = pulumi.Output.from_input(self.namespace)
        in_namespace = pulumi.ResourceOptions(parent=self, depends_on=owned)
        mounted = [
            _declare(
                kubernetes.core.v1.ServiceAccount, f"{name}-service-account", workload.service_account, in_namespace
            ),
            _declare(kubernetes.core.v1.ConfigMap, f"{name}-config", workload.config_map, in_namespace),
            _declare(kubernetes.core.v1.Secret, f"{name}-credentials", workload.credentials_secret, in_namespace),
            _declare(kubernetes.core.v1.Secret, f"{name}-rest-auth", workload.rest_auth_secret, in_namespace),
        ]
        # pulumi-kubernetes waits for the rollout: the connectors are registered after it.
        self.deployment = _declare(
            kubernetes.apps.v1.Deployment,
            f"{name}-workers",
            workload.deployment,
            pulumi.ResourceOptions(parent=self, depends_on=[*owned, *mounted]),
        )
        _declare(kubernetes.core.v1.Service, f"{name}-service", workload.service, in_namespace)
        _declare(
            kubernetes.policy.v1.PodDisruptionBudget,
            f"{name}-disruption-budget",
            workload.disruption_budget,
            in_namespace,
        )
        _declare(
            kubernetes.networking.v1.NetworkPolicy, f"{name}-network-policy", workload.network_policy, in_namespace
        )
        self.register_outputs(
            {
                "namespace": self.namespace,
                "service_name": self.service_name,
                "selector": self.selector,
                "role_arn": self.role_arn,
            }
        )

    # --- Identity: the IAM role the service account becomes (IRSA) ----------------------------

    def _iam_role(self, identity: WorkloadIdentity) -> pulumi.Output[str]:
        subject = f"system:serviceaccount:{self.namespace}:{SERVICE_ACCOUNT}"
        trust = pulumi.Output.all(identity.oidc_provider_arn, identity.oidc_provider_host).apply(
            lambda values: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Federated": values[0]},
                            "Action": "sts:AssumeRoleWithWebIdentity",
                            # Only this service account, and only tokens minted for STS.
                            "Condition": {
                                "StringEquals": {f"{values[1]}:sub": subject, f"{values[1]}:aud": "sts.amazonaws.com"}
                            },
                        }
                    ],
                }
            )
        )
        # A fixed name, so that roles in the sources' accounts can trust it before it exists.
        role = aws.iam.Role(
            f"{self._name}-workers",
            name=f"{group_id(self._settings)}-connect-workers",
            assume_role_policy=trust,
            opts=self._here,
        )
        aws.iam.RolePolicy(
            f"{self._name}-msk",
            role=role.id,
            policy=json.dumps(worker_policy(self._settings, group_id(self._settings))),
            opts=self._here,
        )
        return role.arn


def _declare(kind: Any, name: str, manifest: Manifest, opts: pulumi.ResourceOptions) -> Any:
    """The pulumi-kubernetes resource of one rendered manifest, its fields passed on unchanged."""
    fields = {_snake(key): value for key, value in manifest.items() if key not in ("apiVersion", "kind")}
    if "string_data" in fields:
        # Wrapped before it leaves Python: the state keeps stringData encrypted, previews mask it.
        fields["string_data"] = pulumi.Output.secret(fields["string_data"])
    return kind(name, opts=opts, **fields)


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()
