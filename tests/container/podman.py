"""One pod of the rendered Deployment, run by podman the way a kubelet runs it.

`workload.kubernetes.render_workload` returns the Deployment, ConfigMap and Secrets exactly as
`pulumi up` deploys them. This module is the only place that turns them into a container:

    args, env (value; fieldRef status.podIP, metadata.name)  -> the image's arguments, -e
    runAsUser / runAsGroup / fsGroup                         -> --user, --group-add, the files' group
    readOnlyRootFilesystem                                   -> --read-only (without podman's own tmpfs)
    allowPrivilegeEscalation: false, capabilities.drop ALL   -> --security-opt no-new-privileges, --cap-drop ALL
    seccompProfile RuntimeDefault                            -> podman's default profile (no flag)
    resources                                                -> --memory (no swap), --memory-reservation,
                                                                --cpus, --cpu-shares
    terminationGracePeriodSeconds                            -> --stop-timeout (`podman stop` then SIGKILLs)
    imagePullPolicy                                          -> --pull
    configMap / secret / projected volumes                   -> files written as the kubelet writes them,
                                                                bind-mounted read-only at the mountPath
    emptyDir                                                 -> --tmpfs with its sizeLimit
    the pod IP and name                                      -> --ip on the test's network, --name, --hostname
    the container log                                        -> --log-driver k8s-file (the kubelet's CRI format)

A field this module does not know raises instead of being dropped, so that a new field in the
renderer cannot silently go untested. Scheduling fields (affinity, spread, service account) need
a cluster and are left to the Kubernetes tests. `podman kube play` is not used: it ignores file
modes, items and readiness probes, and mangles Secret volumes (tools/image/README.md).
"""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connect.secret_file import write_secret
from localkafka.paths import REPO_ROOT
from workload.kubernetes import Manifest, Workload

CONTAINERS_CONF = REPO_ROOT / "tools" / "image" / "containers.conf"
PODMAN_SECONDS = 120.0
# Labels every container of the container tests carries, so that a run can remove what an
# interrupted run left behind.
TEST_LABEL = "io.github.mm2eks.container-test"

# How the kubelet writes ConfigMap, Secret and projected volumes: each file gets its item's mode,
# else the volume's defaultMode, else 0644; with a pod fsGroup, the kubelet then gives every file
# and folder that group and ORs in its read-only mask (pkg/volume/volume_linux.go: roMask 0440 on
# files, plus setgid and execMask 0110 on folders).
KUBELET_DEFAULT_MODE = 0o644
FS_GROUP_FILE_BITS = 0o440
FS_GROUP_FOLDER_BITS = 0o2550
FOLDER_MODE = 0o755
# An emptyDir is a world-writable folder.
EMPTY_DIR_MODE = 0o777

# Fields the translation knows; anything else in the rendered spec is an error here.
POD_FIELDS_RUN = {"containers", "volumes", "securityContext", "terminationGracePeriodSeconds"}
# Scheduling and API access: no effect on how one container runs on one host.
POD_FIELDS_CLUSTER_ONLY = {
    "serviceAccountName",
    "automountServiceAccountToken",
    "affinity",
    "topologySpreadConstraints",
}
CONTAINER_FIELDS = {
    "name",
    "image",
    "imagePullPolicy",
    "args",
    "env",
    "resources",
    "securityContext",
    "volumeMounts",
    # Informational in Kubernetes too: the container listens on its own IP whatever is declared.
    "ports",
    # Run by tests/container/probes.py, as the kubelet runs them.
    "startupProbe",
    "readinessProbe",
    "livenessProbe",
}
PULL_POLICIES = {"Never": "never", "IfNotPresent": "missing", "Always": "always"}


class PodmanError(RuntimeError):
    """A podman command failed; the message carries podman's own error."""


def podman(*args: str, timeout: float = PODMAN_SECONDS, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run podman with the project's containers.conf (ulimits and OCI runtime this machine needs)."""
    env = {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}
    try:
        result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, env=env)
    except FileNotFoundError:
        raise PodmanError("podman not found: tools/system/install.sh installs it (tools/system/packages.txt)") from None
    if check and result.returncode != 0:
        raise PodmanError(
            f"`podman {' '.join(args[:2])} ...` failed (exit {result.returncode}): {result.stderr.strip()}"
        )
    return result


@dataclass(frozen=True)
class PodPlacement:
    """Where one pod of the Deployment runs: what a scheduler and the CNI plugin would decide."""

    name: str
    network: str
    ip: str
    # Its volume files and its log.
    folder: Path

    @property
    def log_file(self) -> Path:
        return self.folder / "container.log"


def pod_spec(workload: Workload) -> Manifest:
    spec: Manifest = workload.deployment["spec"]["template"]["spec"]
    unknown = set(spec) - POD_FIELDS_RUN - POD_FIELDS_CLUSTER_ONLY
    if unknown:
        raise ValueError(f"the rendered pod spec has fields tests/container/podman.py does not translate: {unknown}")
    return spec


def worker_container(workload: Workload) -> Manifest:
    [container] = pod_spec(workload)["containers"]
    unknown = set(container) - CONTAINER_FIELDS
    if unknown:
        raise ValueError(f"the rendered container has fields tests/container/podman.py does not translate: {unknown}")
    return dict(container)


def run_arguments(workload: Workload, placement: PodPlacement) -> list[str]:
    """`podman run` arguments for one pod; writes the pod's volume files first."""
    spec, container = pod_spec(workload), worker_container(workload)
    security = {**spec.get("securityContext", {}), **container.get("securityContext", {})}
    arguments = [
        "run",
        "--detach",
        "--name",
        placement.name,
        "--hostname",
        placement.name,
        "--label",
        f"{TEST_LABEL}={placement.network}",
        "--network",
        placement.network,
        "--ip",
        placement.ip,
        "--pull",
        PULL_POLICIES[container.get("imagePullPolicy", "IfNotPresent")],
        # Kubernetes ignores the image's HEALTHCHECK (and podman needs systemd to schedule it).
        "--no-healthcheck",
        "--log-driver",
        "k8s-file",
        "--log-opt",
        f"path={placement.log_file}",
        "--stop-timeout",
        str(spec["terminationGracePeriodSeconds"]),
        *_security_arguments(security, spec.get("securityContext", {})),
        *_resource_arguments(container.get("resources", {})),
    ]
    for variable in container.get("env", []):
        arguments += ["--env", f"{variable['name']}={_env_value(variable, placement)}"]
    volumes = _write_volumes(workload, spec, placement.folder / "volumes")
    for mount in container.get("volumeMounts", []):
        arguments += _mount_arguments(mount, volumes)
    return [*arguments, container["image"], *container.get("args", [])]


def _security_arguments(security: Mapping[str, Any], pod_security: Mapping[str, Any]) -> list[str]:
    user = security.get("runAsUser")
    if security.get("runAsNonRoot") and not user:
        raise ValueError("runAsNonRoot is set but runAsUser is not a non-root uid: the kubelet would refuse the pod")
    arguments = ["--user", f"{user}:{security.get('runAsGroup', user)}"] if user is not None else []
    if "fsGroup" in pod_security:
        # The kubelet adds fsGroup to the container's groups (and owns the volume files with it).
        arguments += ["--group-add", str(pod_security["fsGroup"])]
    if security.get("readOnlyRootFilesystem"):
        # Without --read-only-tmpfs=false podman would add writable /run, /var/tmp and /tmp mounts
        # that a Kubernetes pod does not have.
        arguments += ["--read-only", "--read-only-tmpfs=false"]
    if security.get("allowPrivilegeEscalation") is False:
        arguments += ["--security-opt", "no-new-privileges"]
    for capability in security.get("capabilities", {}).get("drop", []):
        arguments += ["--cap-drop", capability]
    for capability in security.get("capabilities", {}).get("add", []):
        arguments += ["--cap-add", capability]
    seccomp = security.get("seccompProfile", {}).get("type", "RuntimeDefault")
    if seccomp != "RuntimeDefault":
        raise ValueError(f"seccompProfile {seccomp!r}: only RuntimeDefault (podman's default profile) is translated")
    return arguments


def _resource_arguments(resources: Mapping[str, Any]) -> list[str]:
    limits, requests = resources.get("limits", {}), resources.get("requests", {})
    arguments = []
    if "memory" in limits:
        memory = str(memory_bytes(limits["memory"], "resources.limits.memory"))
        # No swap, as on a kubelet node: the limit is the container's whole memory.
        arguments += ["--memory", memory, "--memory-swap", memory]
    if "memory" in requests:
        arguments += ["--memory-reservation", str(memory_bytes(requests["memory"], "resources.requests.memory"))]
    if "cpu" in limits:
        arguments += ["--cpus", str(cpu_cores(limits["cpu"], "resources.limits.cpu"))]
    if "cpu" in requests:
        # The kubelet's cgroup v1 shares: 1024 per requested core.
        shares = max(2, round(cpu_cores(requests["cpu"], "resources.requests.cpu") * 1024))
        arguments += ["--cpu-shares", str(shares)]
    return arguments


def _env_value(variable: Mapping[str, Any], placement: PodPlacement) -> str:
    if "value" in variable:
        return str(variable["value"])
    field = variable.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
    # The downward API fields the renderer may use.
    known = {"status.podIP": placement.ip, "metadata.name": placement.name}
    if field not in known:
        raise ValueError(
            f"env {variable['name']}: {variable.get('valueFrom')} is not translated (known: {sorted(known)})"
        )
    return known[field]


# --- Volumes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HostFolder:
    path: Path


@dataclass(frozen=True)
class Tmpfs:
    size_bytes: int | None


def _write_volumes(workload: Workload, spec: Manifest, root: Path) -> dict[str, HostFolder | Tmpfs]:
    fs_group = spec.get("securityContext", {}).get("fsGroup")
    sources = _volume_sources(workload)
    volumes: dict[str, HostFolder | Tmpfs] = {}
    for volume in spec.get("volumes", []):
        name = volume["name"]
        if "emptyDir" in volume:
            limit = volume["emptyDir"].get("sizeLimit")
            volumes[name] = Tmpfs(memory_bytes(limit, f"volume {name} sizeLimit") if limit else None)
            continue
        files = _projected_files(volume, sources)
        folder = root / name
        _write_files(folder, files, fs_group)
        volumes[name] = HostFolder(folder)
    return volumes


def _volume_sources(workload: Workload) -> dict[tuple[str, str], dict[str, str]]:
    """The data of every ConfigMap and Secret of the workload, by (kind, name)."""
    found = {}
    for manifest in workload.manifests():
        if manifest["kind"] == "ConfigMap":
            found["configMap", manifest["metadata"]["name"]] = dict(manifest.get("data", {}))
        elif manifest["kind"] == "Secret":
            data = {key: base64.b64decode(value).decode() for key, value in manifest.get("data", {}).items()}
            found["secret", manifest["metadata"]["name"]] = {**data, **manifest.get("stringData", {})}
    return found


def _projected_files(volume: Manifest, sources: Mapping[tuple[str, str], dict[str, str]]) -> dict[str, tuple[str, int]]:
    """{path in the volume: (content, mode)} of a configMap, secret or projected volume."""
    name = volume["name"]
    if "configMap" in volume:
        parts, default_mode = [("configMap", volume["configMap"])], volume["configMap"].get("defaultMode")
    elif "secret" in volume:
        secret = {**volume["secret"], "name": volume["secret"]["secretName"]}
        parts, default_mode = [("secret", secret)], volume["secret"].get("defaultMode")
    elif "projected" in volume:
        projected = volume["projected"]
        parts = [(kind, source[kind]) for source in projected["sources"] for kind in source]
        default_mode = projected.get("defaultMode")
    else:
        raise ValueError(f"volume {name}: {sorted(set(volume) - {'name'})} is not translated")
    files: dict[str, tuple[str, int]] = {}
    for kind, reference in parts:
        data = sources.get((kind, reference["name"]))
        if data is None:
            raise ValueError(f"volume {name}: the workload renders no {kind} {reference['name']!r}")
        items = reference.get("items") or [{"key": key, "path": key} for key in sorted(data)]
        for item in items:
            if item["key"] not in data:
                raise ValueError(f"volume {name}: {kind} {reference['name']!r} has no key {item['key']!r}")
            mode = item.get("mode", default_mode if default_mode is not None else KUBELET_DEFAULT_MODE)
            files[item["path"]] = (data[item["key"]], mode)
    return files


def _write_files(folder: Path, files: Mapping[str, tuple[str, int]], fs_group: int | None) -> None:
    """Write a volume's files with the modes and group the kubelet gives them."""
    folder.mkdir(parents=True, exist_ok=True)
    for path, (content, mode) in files.items():
        target = folder / path
        # Owner-only from the first byte (some are secrets); the kubelet's mode comes after.
        write_secret(target, content)
        _own(target, mode | FS_GROUP_FILE_BITS if fs_group is not None else mode, fs_group)
        for parent in [p for p in target.parents if p.is_relative_to(folder)]:
            _own(parent, FOLDER_MODE | FS_GROUP_FOLDER_BITS if fs_group is not None else FOLDER_MODE, fs_group)


def _own(path: Path, mode: int, group: int | None) -> None:
    if group is not None:
        os.chown(path, 0, group)
    path.chmod(mode)


def replace_volume_file(folder: Path, name: str, content: str) -> None:
    """Change one file of a mounted volume in place, as the kubelet does when a Secret changes:
    the new file is written beside the old one and renamed over it, with the old one's mode and group."""
    target = folder / name
    before = target.stat()
    temporary = folder / f".{name}.new"
    write_secret(temporary, content)
    os.chown(temporary, before.st_uid, before.st_gid)
    temporary.chmod(before.st_mode & 0o7777)
    temporary.replace(target)


def _mount_arguments(mount: Manifest, volumes: Mapping[str, HostFolder | Tmpfs]) -> list[str]:
    volume = volumes.get(mount["name"])
    if volume is None:
        raise ValueError(f"volumeMount {mount['name']!r} names no volume of the pod")
    if "subPath" in mount:
        raise ValueError(f"volumeMount {mount['name']!r}: subPath is not translated")
    if isinstance(volume, Tmpfs):
        options = "rw,exec,nosuid,nodev" + (f",size={volume.size_bytes}" if volume.size_bytes else "")
        return ["--tmpfs", f"{mount['mountPath']}:{options},mode={EMPTY_DIR_MODE:o}"]
    # ConfigMap, Secret and projected volumes are always read-only in a pod.
    return ["--mount", f"type=bind,source={volume.path},destination={mount['mountPath']},ro=true"]


# --- Kubernetes quantities ---------------------------------------------------------------------------

MEMORY_SUFFIXES = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
}


def memory_bytes(quantity: str, where: str) -> int:
    text = str(quantity)
    for suffix, factor in MEMORY_SUFFIXES.items():
        if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
            return int(float(text[: -len(suffix)]) * factor)
    if text.isdigit():
        return int(text)
    raise ValueError(f"{where}: {quantity!r} is not a memory quantity such as 3Gi or 512Mi")


def cpu_cores(quantity: str, where: str) -> float:
    text = str(quantity)
    number = text[:-1] if text.endswith("m") else text
    if not number.replace(".", "", 1).isdigit():
        raise ValueError(f"{where}: {quantity!r} is not a CPU quantity such as 2 or 500m")
    return float(number) / 1000 if text.endswith("m") else float(number)
