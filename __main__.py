"""mm2-eks: MirrorMaker 2 on EKS. Load the stack config, build the stack, export the outputs."""

from pathlib import Path

import pulumi

from connect.connector_tree import ConnectorTreeError
from stackconfig.load import StackConfigError, load_stack
from stacks import build_stack

PROJECT_ROOT = Path(__file__).resolve().parent

try:
    settings, secrets = load_stack()
    outputs = build_stack(settings, secrets, PROJECT_ROOT)
except (StackConfigError, ConnectorTreeError) as error:
    # RunError prints the message alone, without a Python traceback.
    raise pulumi.RunError(str(error)) from None

for name, value in outputs.items():
    pulumi.export(name, value)
