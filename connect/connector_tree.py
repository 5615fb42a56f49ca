"""Load `connectors/<env>/<destination>/<source>/*.json` into complete connector configs.

Layout of one source folder:
- `_source.json` (optional): `{"config": {...}}` shared by every connector of that source, such
  as the replication policy's renames (source and checkpoint connectors must agree on it).
- every other `*.json`: `{"config": {...}, "name": "...", "state": "running|paused|stopped"}`;
  the file name (without .json) is the connector name unless `name` is set.

Connection settings (`source.cluster.*`, `target.cluster.*`, the cluster aliases) are rendered
from the stack's cluster definitions, so connector files cannot drift from the stack or carry
credentials. Every problem in the tree is collected, and none is declared until all are fixed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from connect.cluster_connection import ClusterEndpoint, client_properties
from connect.connector_defaults import CONNECTOR_CLASSES, MIRROR_PACKAGE, connector_defaults
from connect.connector_files import (
    CONNECTOR_NAME_PATTERN,
    ConnectorFile,
    FileProblems,
    read_connector_file,
    read_shared_file,
)
from connect.topic_selection import check_selections

SHARED_FILE = "_source.json"
ALLOW_EMPTY_KEY = "allowEmptyConnectorFolders"
# A value under one of these key endings is a credential: it must be a config-provider reference.
SECRET_KEY = re.compile(r"(password|secret|jaas\.config|credentials?|token|api\.key|keystore\.key)$", re.IGNORECASE)
PROVIDER_REFERENCE = re.compile(r"^\$\{[a-z]+:[^}]*\}$")
# Set from the stack's cluster definitions; a connector file that sets them is refused.
STACK_OWNED = re.compile(r"^(source|target)\.cluster\.")
STACK_OWNED_KEYS = {"name", "connector.class.alias"}


@dataclass(frozen=True)
class ConnectorSpec:
    name: str
    config: dict[str, str]
    state: str
    source_file: str
    source_cluster: str


@dataclass
class ConnectorTree:
    connectors: list[ConnectorSpec] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class ConnectorTreeError(Exception):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Invalid connector files:\n" + "\n".join(f"  - {problem}" for problem in problems))


@dataclass(frozen=True)
class TreeContext:
    """What the stack says about the tree: its env, its clusters and how clients reach them."""

    root: Path
    env: str
    destination: ClusterEndpoint
    sources: Mapping[str, ClusterEndpoint]
    secrets_dir: str
    replication_factor: int
    exactly_once: bool
    # Paths in messages are shown relative to this folder (the Pulumi project).
    display_root: Path
    # A source folder may be empty (its connectors deleted): the stack key allowEmptyConnectorFolders.
    allow_empty_sources: bool = False

    def show(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.display_root))
        except ValueError:
            return str(path)


def load_connector_tree(context: TreeContext) -> ConnectorTree:
    problems: list[str] = []
    tree = ConnectorTree()
    env_dir = context.root / context.env
    if not env_dir.is_dir():
        raise ConnectorTreeError(
            [f"{context.show(env_dir)}: folder missing; stack env {context.env!r} keeps its connectors there"]
        )

    # Sources whose folder has connector files (valid or not).
    sources_with_files: set[str] = set()
    for destination_dir in _entries(env_dir, context, problems):
        if not destination_dir.is_dir():
            problems.append(
                f"{context.show(destination_dir)}: expected only destination folders in {context.show(env_dir)}"
            )
        elif destination_dir.name != context.destination.name:
            problems.append(
                f"{context.show(destination_dir)}: the stack has no destination {destination_dir.name!r} "
                f"(its destination is {context.destination.name!r}, config key destination.name)"
            )
        else:
            for source_dir in _entries(destination_dir, context, problems):
                if not source_dir.is_dir():
                    problems.append(
                        f"{context.show(source_dir)}: expected only source folders in {context.show(destination_dir)}"
                    )
                elif source_dir.name not in context.sources:
                    problems.append(
                        f"{context.show(source_dir)}: the stack has no source {source_dir.name!r} "
                        f"(config key sources has {sorted(context.sources)})"
                    )
                else:
                    if _load_source_folder(context, source_dir, tree, problems):
                        sources_with_files.add(source_dir.name)

    _refuse_empty_sources(context, sources_with_files, problems)
    seen: dict[str, ConnectorSpec] = {}
    for spec in tree.connectors:
        if spec.name in seen:
            problems.append(
                f"{spec.source_file}: connector name {spec.name!r} is already used by {seen[spec.name].source_file}"
            )
        seen.setdefault(spec.name, spec)
    if not problems:
        check_selections(tree.connectors, problems, tree.warnings)
    if problems:
        raise ConnectorTreeError(problems)
    tree.connectors.sort(key=lambda spec: spec.name)
    return tree


def _entries(folder: Path, context: TreeContext, problems: list[str]) -> list[Path]:
    """The folder's entries that the tree may hold: no hidden ones, no symbolic links."""
    entries = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_symlink():
            # A link may point outside the reviewed tree: only real folders and files are read.
            problems.append(f"{context.show(entry)}: a symbolic link (to {entry.readlink()}); use a real folder")
            continue
        entries.append(entry)
    return entries


def _refuse_empty_sources(context: TreeContext, sources_with_files: set[str], problems: list[str]) -> None:
    """A source without connector files would lose every connector it has: only on purpose."""
    if context.allow_empty_sources:
        return
    folder = context.root / context.env / context.destination.name
    for name in sorted(set(context.sources) - sources_with_files):
        problems.append(
            f"{context.show(folder / name)}: no connector files for source {name!r}, so `pulumi up` would delete "
            f"every connector it has. Add connector files there, or set mm2-eks:{ALLOW_EMPTY_KEY} to true "
            "to delete them on purpose"
        )


def _load_source_folder(context: TreeContext, folder: Path, tree: ConnectorTree, problems: list[str]) -> int:
    """Load one source's files into `tree`; return how many connector files the folder has."""
    shared: dict[str, str] = {}
    shared_file = folder / SHARED_FILE
    if shared_file.exists():
        try:
            shared = dict(read_shared_file(shared_file, context.show(shared_file)).config)
            _check_keys(shared, context.show(shared_file), folder.name, context, problems)
        except FileProblems as error:
            problems += error.problems

    source = context.sources[folder.name]
    policies: dict[str, dict[str, str]] = {}
    files = sorted(path for path in folder.iterdir() if path.suffix == ".json" and path.name != SHARED_FILE)
    for path in files:
        try:
            document = read_connector_file(path, context.show(path))
        except FileProblems as error:
            problems += error.problems
            continue
        own = dict(document.config)
        _check_keys(own, context.show(path), folder.name, context, problems)
        spec = _connector(context, source, path, document, {**shared, **own}, problems)
        if spec is not None:
            tree.connectors.append(spec)
            if spec.config["connector.class"] != CONNECTOR_CLASSES[2]:
                policies[context.show(path)] = {
                    k: v for k, v in spec.config.items() if k.startswith("replication.policy.")
                }

    distinct = {json.dumps(policy, sort_keys=True) for policy in policies.values()}
    if len(distinct) > 1:
        listing = "; ".join(f"{file}: {policy}" for file, policy in policies.items())
        problems.append(
            f"{context.show(folder)}: connectors of one source must share one replication policy, or the "
            f"checkpoint connector cannot translate offsets; put replication.policy.* in {SHARED_FILE} ({listing})"
        )
    return len(files)


def _connector(
    context: TreeContext,
    source: ClusterEndpoint,
    path: Path,
    document: ConnectorFile,
    config: dict[str, str],
    problems: list[str],
) -> ConnectorSpec | None:
    where = context.show(path)
    before = len(problems)
    name = document.name or path.stem
    if not re.match(CONNECTOR_NAME_PATTERN, name):
        problems.append(f"{where}: name {name!r} must match {CONNECTOR_NAME_PATTERN} (the file name is the default)")

    connector_class = config.get("connector.class", "")
    if "." not in connector_class and connector_class:
        connector_class = f"{MIRROR_PACKAGE}.{connector_class}"
    if not connector_class:
        problems.append(f"{where}: config.connector.class is required (one of {_short(CONNECTOR_CLASSES)})")
    elif connector_class not in CONNECTOR_CLASSES:
        problems.append(
            f"{where}: config.connector.class {config['connector.class']!r} is not a MirrorMaker 2 connector "
            f"(expected one of {_short(CONNECTOR_CLASSES)})"
        )

    if len(problems) > before:
        return None

    full = connector_defaults(
        connector_class, replication_factor=context.replication_factor, exactly_once=context.exactly_once
    )
    full |= config
    full["connector.class"] = connector_class
    full["source.cluster.alias"] = source.name
    full["target.cluster.alias"] = context.destination.name
    for prefix, endpoint in (("source.cluster.", source), ("target.cluster.", context.destination)):
        for key, value in client_properties(endpoint, context.secrets_dir).items():
            full[prefix + key] = value
    return ConnectorSpec(
        name=name,
        config=dict(sorted(full.items())),
        state=document.state,
        source_file=where,
        source_cluster=source.name,
    )


def _check_keys(
    config: dict[str, str], where: str, source_name: str, context: TreeContext, problems: list[str]
) -> None:
    """Keys a file may not set: connection settings (the stack's) and plaintext credentials."""
    for key, value in config.items():
        if STACK_OWNED.match(key) or key in STACK_OWNED_KEYS:
            problems.append(
                f"{where}: config.{key} is set by the stack from its cluster definitions "
                f"(sources.{source_name}, destination); remove it from the file"
            )
        elif SECRET_KEY.search(key) and not PROVIDER_REFERENCE.match(value):
            problems.append(
                f"{where}: config.{key} holds a plaintext secret; put the value in a secret file and "
                f'reference it, e.g. "${{file:{context.secrets_dir}/<file>.properties:{key}}}"'
            )


def _short(classes: tuple[str, ...]) -> str:
    return ", ".join(name.rsplit(".", 1)[1] for name in classes)
