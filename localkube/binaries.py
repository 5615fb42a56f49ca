"""The cluster's programs: the Kubernetes binaries tools/kubernetes/build.sh builds (and caches),
and the Debian packages of tools/system/packages.txt."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

from localkube.paths import BUILD_SCRIPT, CNI_BIN_DIR, CNI_PLUGINS, CONTAINERD, CTR, ETCD, RUNC

# A cold build is ~7 minutes on 2 idle cores, 15 and more on a busy machine; a cached one is instant.
BUILD_TIMEOUT_SECONDS = 45 * 60


@dataclass(frozen=True)
class KubeBinaries:
    bin_dir: Path

    def path(self, command: str) -> Path:
        return self.bin_dir / command

    @property
    def pause_archive(self) -> Path:
        """The sandbox image (k8s's build/pause), an OCI archive for `ctr images import`."""
        return self.bin_dir.parent / "images" / "pause.oci.tar"

    @property
    def pause_image(self) -> str:
        return archive_image_names(self.pause_archive)[0]


def ensure_binaries() -> KubeBinaries:
    """Build (or find cached) the Kubernetes binaries, and check that the system ones are installed."""
    missing = [str(path) for path in (ETCD, CONTAINERD, CTR, RUNC) if not path.is_file()]
    missing += [str(CNI_BIN_DIR / plugin) for plugin in CNI_PLUGINS if not (CNI_BIN_DIR / plugin).is_file()]
    if missing:
        raise RuntimeError(
            f"missing {', '.join(missing)}: install the packages of tools/system/packages.txt (tools/system/install.sh)"
        )
    print(
        f"localkube: {BUILD_SCRIPT.relative_to(BUILD_SCRIPT.parents[2])} (cached after the first build)",
        file=sys.stderr,
        flush=True,
    )
    # stderr (progress) goes straight to ours; stdout's last line is the bin directory.
    result = subprocess.run(
        ["nice", "-n", "10", str(BUILD_SCRIPT)], stdout=subprocess.PIPE, text=True, timeout=BUILD_TIMEOUT_SECONDS
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"{BUILD_SCRIPT} failed (exit {result.returncode}); its errors are above")
    binaries = KubeBinaries(Path(lines[-1]))
    if not binaries.pause_archive.is_file():
        raise RuntimeError(f"{BUILD_SCRIPT} did not write {binaries.pause_archive}")
    return binaries


def archive_image_names(archive: Path) -> list[str]:
    """The image names an OCI archive's index.json gives, as `ctr images import` names them."""
    try:
        with tarfile.open(archive) as tar:
            member = tar.extractfile("index.json")
            if member is None:
                raise KeyError("index.json")
            index = json.load(member)
    except (OSError, KeyError, tarfile.TarError, json.JSONDecodeError) as error:
        raise RuntimeError(f"{archive} is not an OCI image archive with an index.json ({error})") from None
    names = []
    for manifest in index.get("manifests", []):
        annotations = manifest.get("annotations") or {}
        name = annotations.get("io.containerd.image.name") or annotations.get("org.opencontainers.image.ref.name")
        if name:
            names.append(str(name))
    if not names:
        raise RuntimeError(
            f"{archive}: index.json names no image (annotation io.containerd.image.name or "
            "org.opencontainers.image.ref.name)"
        )
    return names
