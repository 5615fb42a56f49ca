"""mm2-eks: MirrorMaker 2 on EKS. Load the stack config, build the components, export the outputs."""

from pathlib import Path

import pulumi

from connect.connector_tree import ConnectorTreeError
from stackconfig.load import StackConfigError, load_stack
from stackconfig.models import Platform

PROJECT_ROOT = Path(__file__).resolve().parent

try:
    settings, secrets = load_stack()
    if settings.platform is Platform.LOCAL:
        from stacks.local import build_local_stack

        outputs = build_local_stack(settings, PROJECT_ROOT)
    else:
        from stacks.eks import build_eks_stack

        outputs = build_eks_stack(settings, secrets, PROJECT_ROOT)
except (StackConfigError, ConnectorTreeError) as error:
    # RunError prints the message alone, without a Python traceback.
    raise pulumi.RunError(str(error)) from None

for name, value in outputs.items():
    pulumi.export(name, value)
