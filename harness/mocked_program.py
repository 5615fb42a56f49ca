"""Run the Pulumi program for a stack under mocks and record everything it registers.

`run_program` loads the stack config exactly as the engine would hand it over (structured values
as JSON text, secret keys marked), runs the stack (`stacks.build_stack`) with `preview=False` mocks so that every
output resolves, and returns each registration with:
- `inputs`: the inputs as the provider would receive them (camelCase, secrets unwrapped);
- `raw`: the same on the wire, where a secret is still wrapped in Pulumi's secret envelope, so a
  test can tell a secret value from a plaintext one;
- the provider reference, parent and dependencies the engine would use.

Each run happens in a fresh `contextvars.Context`: the Pulumi runtime keeps its settings, config
and root stack in context variables, so runs cannot leak into each other.
"""

from __future__ import annotations

import contextvars
import copy
import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.proto import resource_pb2

from stackconfig.load import PROJECT, load_stack
from stacks import build_stack

PROJECT_ROOT = Path(__file__).resolve().parents[1]
STAGING_FILE = PROJECT_ROOT / "Pulumi.staging.yaml"

# What the mocked AWS and EKS resources answer with.
EKS_ACCOUNT = "111111111111"
NODE_SECURITY_GROUP = "sg-0e5c1a5e7c1a55e70"
OIDC_HOST = "oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
OIDC_ARN = f"arn:aws:iam::{EKS_ACCOUNT}:oidc-provider/{OIDC_HOST}"
KUBECONFIG = json.dumps({"apiVersion": "v1", "kind": "Config", "clusters": [{"name": "mm2-staging"}]})
IMAGE_DIGEST = "sha256:" + "ab" * 32
PEERING_ID = "pcx-0123456789abcdef0"
ECR_TOKEN_PASSWORD = "ecr-token-password-value"

# Injected secret values: none may show up in plain text anywhere in the registered inputs.
SECRETS = {
    "confluent_username": "CFLTKEYU5ERNAME42",
    "confluent_password": "cflt-S3cret+Pa55/word==",
    "msk_legacy_username": "mm2-scram-mirror",
    "msk_legacy_password": "scram-Pa55+w0rd/legacy==",
    "connect_password": "rest-Adm1n-pa55word-7d1f",
}

SECRET_ENVELOPE_KEY = rpc._special_sig_key
SECRET_ENVELOPE_SIG = rpc._special_secret_sig


def staging_values() -> dict[str, Any]:
    """Pulumi.staging.yaml's config, structured, as a fresh copy a test may change."""
    document = yaml.safe_load(STAGING_FILE.read_text())
    return copy.deepcopy(dict(document["config"]))


def secret_values() -> dict[str, Any]:
    return {
        f"{PROJECT}:credentials": {
            "confluent": {"username": SECRETS["confluent_username"], "password": SECRETS["confluent_password"]},
            "msk-legacy": {"username": SECRETS["msk_legacy_username"], "password": SECRETS["msk_legacy_password"]},
        },
        f"{PROJECT}:connectPassword": SECRETS["connect_password"],
    }


def engine_config(values: Mapping[str, Any]) -> dict[str, str]:
    """Config as the engine passes it to the program: objects as JSON text, scalars as strings."""
    result = {}
    for key, value in values.items():
        if isinstance(value, dict | list):
            result[key] = json.dumps(value)
        elif isinstance(value, bool):
            result[key] = "true" if value else "false"
        else:
            result[key] = str(value)
    return result


@dataclass
class Registration:
    type: str
    name: str
    urn: str
    custom: bool
    parent: str
    provider: str
    dependencies: list[str]
    # The request's properties as sent; `inputs` and `raw` are decoded from them when first read,
    # so that recording 1,000 resources costs the benchmark of the program nothing.
    wire: Any = field(repr=False)

    @functools.cached_property
    def inputs(self) -> dict[str, Any]:
        return dict(unwrap_secrets(rpc.deserialize_properties(self.wire)))

    @functools.cached_property
    def raw(self) -> dict[str, Any]:
        return dict(json_format.MessageToDict(self.wire))


@dataclass
class ProgramRun:
    registrations: list[Registration]
    outputs: dict[str, Any]
    # Names of the stack outputs that are secret outputs.
    secret_outputs: set[str]
    calls: list[pulumi_mocks.MockCallArgs]

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Registration:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {type_} {name or ''}, found {[r.name for r in found]}"
        return found[0]

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.registrations if r.urn == urn)

    def provider_of(self, registration: Registration) -> Registration:
        """The provider resource a registration was sent with (provider refs are `urn::id`)."""
        assert registration.provider, f"{registration.name} has no explicit provider"
        return self.by_urn(registration.provider.rsplit("::", 1)[0])


class RecordingMocks(pulumi.runtime.Mocks):
    """Answers like AWS and EKS would, with the outputs the program reads."""

    def __init__(self) -> None:
        self.calls: list[pulumi_mocks.MockCallArgs] = []

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        outputs = dict(args.inputs)
        resource_id = f"{args.name}-id"
        if args.typ == "eks:index:Cluster":
            outputs |= {
                "kubeconfig": json.loads(KUBECONFIG),
                "kubeconfigJson": KUBECONFIG,
                "nodeSecurityGroupId": NODE_SECURITY_GROUP,
                "oidcProviderArn": OIDC_ARN,
                "oidcProviderUrl": OIDC_HOST,
            }
        elif args.typ == "aws:ecr/repository:Repository":
            outputs |= {
                "repositoryUrl": f"{EKS_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/{args.inputs['name']}",
                "registryId": EKS_ACCOUNT,
            }
        elif args.typ == "docker:index/image:Image":
            repository = args.inputs["imageName"].rsplit(":", 1)[0]
            outputs |= {"repoDigest": f"{repository}@{IMAGE_DIGEST}"}
        elif args.typ == "aws:iam/role:Role":
            outputs |= {"arn": f"arn:aws:iam::{EKS_ACCOUNT}:role/{args.inputs.get('name') or args.name}"}
        elif args.typ in ("aws:ec2/vpcPeeringConnection:VpcPeeringConnection",):
            resource_id = PEERING_ID
        elif args.typ == "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter":
            resource_id = args.inputs["vpcPeeringConnectionId"]
        elif args.typ == "pulumi-python:dynamic:Resource":
            outputs |= {"connector_state": "RUNNING", "task_count": 1, "tasks": [], "worker_id": "w:8083"}
        return resource_id, outputs

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        self.calls.append(args)
        if args.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {
                "proxyEndpoint": f"https://{EKS_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com",
                "userName": "AWS",
                "password": ECR_TOKEN_PASSWORD,
                "authorizationToken": "QVdTOnRva2Vu",
                "registryId": EKS_ACCOUNT,
            }, []
        return {}, []


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def GetDeploymentInfo(self, request: Any) -> Any:
        # Without resource references, a resource passed as an input (the node group's cluster)
        # is sent as its URN or id. The mock monitor would otherwise rebuild it as a resource on
        # its own thread's event loop, which the SDK rejects.
        info = super().GetDeploymentInfo(request)  # type: ignore[no-untyped-call]
        features = [f for f in info.supportedFeatures if f != resource_pb2.RESOURCE_MONITOR_FEATURE_RESOURCE_REFERENCES]
        return resource_pb2.DeploymentInfo(supportedFeatures=features)

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            registration = Registration(
                type=request.type,
                name=request.name,
                urn=response.urn,
                custom=request.custom,
                parent=request.parent,
                provider=request.provider,
                dependencies=list(request.dependencies),
                wire=request.object,
            )
            self.registrations.append(registration)
        return response


def run_program(
    values: Mapping[str, Any] | None = None,
    secrets: Mapping[str, Any] | None = None,
    project_root: Path = PROJECT_ROOT,
    stack: str = "staging",
) -> ProgramRun:
    """Run the eks program for `values` (default: Pulumi.staging.yaml) plus `secrets` (default: SECRETS).

    The keys of `secrets` are marked secret, as `pulumi config set --secret` marks them.
    """
    secrets = secret_values() if secrets is None else secrets
    config = engine_config({**(staging_values() if values is None else values), **secrets})
    secret_keys = list(secrets)
    return contextvars.Context().run(_run, config, secret_keys, project_root, stack)


def _run(config: dict[str, str], secret_keys: list[str], project_root: Path, stack: str) -> ProgramRun:
    mocks = RecordingMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(config, secret_keys)
    outputs: dict[str, Any] = {}
    secret_outputs: set[str] = set()

    async def find_secrets(stack_outputs: Mapping[str, Any]) -> None:
        for key, value in stack_outputs.items():
            if await pulumi.Output.from_input(value).is_secret():
                secret_outputs.add(key)

    def program() -> pulumi.Output[Any]:
        settings, secrets = load_stack()
        stack_outputs = build_stack(settings, secrets, project_root)
        # Resolved values only: the assertion below fails if this callback never ran.
        resolved = pulumi.Output.from_input(stack_outputs).apply(outputs.update)
        secrets_found: pulumi.Output[None] = pulumi.Output.from_input(find_secrets(stack_outputs))
        return pulumi.Output.all(resolved, secrets_found)

    try:
        pulumi.runtime.test(program)()  # type: ignore[no-untyped-call]
    finally:
        run = ProgramRun(monitor.registrations, outputs, secret_outputs, mocks.calls)
        _PARTIAL_RUNS.append(run)
    assert outputs, "the stack outputs never resolved"
    return run


# Runs that raised keep what they registered, for tests that assert nothing was.
_PARTIAL_RUNS: list[ProgramRun] = []


def last_run() -> ProgramRun:
    return _PARTIAL_RUNS[-1]


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (path, leaf) of a nested structure."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")
    else:
        yield path, value


def unwrap_secrets(value: Any) -> Any:
    """The values inside secret envelopes, as the provider sees them."""
    if isinstance(value, dict):
        if value.get(SECRET_ENVELOPE_KEY) == SECRET_ENVELOPE_SIG:
            return unwrap_secrets(value["value"])
        return {key: unwrap_secrets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(item) for item in value]
    return value


def strip_secret_envelopes(value: Any) -> Any:
    """`raw` with every secret envelope removed: what would sit in the state in plain text."""
    if isinstance(value, dict):
        if value.get(SECRET_ENVELOPE_KEY) == SECRET_ENVELOPE_SIG:
            return "[secret]"
        return {key: strip_secret_envelopes(item) for key, item in value.items()}
    if isinstance(value, list):
        return [strip_secret_envelopes(item) for item in value]
    return value


def integral(value: Any) -> Any:
    """Numbers arrive as floats over the wire; Kubernetes' schema wants integers where they are whole."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: integral(item) for key, item in value.items()}
    if isinstance(value, list):
        return [integral(item) for item in value]
    return value
