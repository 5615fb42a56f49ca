"""The platforms: `eks`, `kubernetes` and `local`, each wiring the components for its kind of place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi

from stackconfig.models import Platform, StackSecrets, StackSettings


def build_stack(settings: StackSettings, secrets: StackSecrets, project_root: Path) -> dict[str, pulumi.Input[Any]]:
    """The stack's resources on its platform; returns the stack outputs.

    Each platform module is imported only when used: the local stack needs neither the AWS nor the
    Kubernetes SDK loaded.
    """
    if settings.platform is Platform.LOCAL:
        from stacks.local import build_local_stack

        return build_local_stack(settings, project_root)
    if settings.platform is Platform.KUBERNETES:
        from stacks.kubernetes import build_kubernetes_stack

        return build_kubernetes_stack(settings, secrets, project_root)
    from stacks.eks import build_eks_stack

    return build_eks_stack(settings, secrets, project_root)
