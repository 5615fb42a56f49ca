"""Writes a one-layer OCI image archive (a tarred OCI image layout) from a single static binary.

    python3 oci_archive.py <binary> <path in image> <image name> <out.tar> [--user UID:GID]

build.sh uses it for the pause image, the pod sandbox that containerd starts for every pod: the
binary is k8s's build/pause/linux/pause.c compiled with `gcc -static`, and nothing else is in the
image. `ctr -n k8s.io images import <out.tar>` names the image after the index's
`io.containerd.image.name` annotation. Every timestamp is 0 and every owner root, so the same binary
always gives the same archive, byte for byte (and the same image ID).

Plain standard library: it runs with the system python3, before any virtualenv exists.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar"  # uncompressed: the layer is one small binary


def _tar_bytes(members: list[tuple[str, bytes, int]]) -> bytes:
    """A reproducible tar of (name, content, mode) regular files."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content, mode in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), mode, 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _descriptor(media_type: str, blob: bytes) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": "sha256:" + hashlib.sha256(blob).hexdigest(), "size": len(blob)}


def image_archive(binary: bytes, path_in_image: str, image_name: str, user: str) -> bytes:
    """The OCI layout tar of an image whose only file is `binary` at `path_in_image`, its entrypoint."""
    layer = _tar_bytes([(path_in_image.lstrip("/"), binary, 0o755)])
    config = _json(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Entrypoint": [path_in_image], "User": user},
            "rootfs": {"type": "layers", "diff_ids": [_descriptor(LAYER_TYPE, layer)["digest"]]},
        }
    )
    manifest = _json(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": _descriptor(CONFIG_TYPE, config),
            "layers": [_descriptor(LAYER_TYPE, layer)],
        }
    )
    tag = image_name.rsplit(":", 1)[1] if ":" in image_name.rsplit("/", 1)[-1] else "latest"
    index_entry = _descriptor(MANIFEST_TYPE, manifest) | {
        "platform": {"architecture": "amd64", "os": "linux"},
        # containerd's importer names the image after the first; other tools read the second.
        "annotations": {"io.containerd.image.name": image_name, "org.opencontainers.image.ref.name": tag},
    }
    index = _json(
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [index_entry]}
    )
    blobs = [(f"blobs/sha256/{hashlib.sha256(b).hexdigest()}", b, 0o644) for b in (layer, config, manifest)]
    return _tar_bytes(
        [("oci-layout", _json({"imageLayoutVersion": "1.0.0"}), 0o644), ("index.json", index, 0o644), *blobs]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("binary", type=Path)
    parser.add_argument("path_in_image")
    parser.add_argument("image_name", help="e.g. localhost/pause:3.10.1")
    parser.add_argument("out", type=Path)
    parser.add_argument("--user", default="0:0", help="the image's USER, e.g. 65535:65535")
    args = parser.parse_args()
    args.out.write_bytes(image_archive(args.binary.read_bytes(), args.path_in_image, args.image_name, args.user))


if __name__ == "__main__":
    main()
