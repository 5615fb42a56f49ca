"""python -m localkube up | down | status | load-image ARCHIVE"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from connect.polling import PollTimeout
from localkube.cluster import LocalKube
from localkube.paths import PROJECT_IMAGE_ARCHIVE, kube_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localkube", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="start the cluster (or return the running one); returns when the node is Ready")
    commands.add_parser("down", help="stop everything, delete the network links, remove the folder but its logs")
    commands.add_parser("status", help="show what runs where")
    load = commands.add_parser("load-image", help="import an image archive into the node's containerd")
    load.add_argument(
        "archive",
        nargs="?",
        type=Path,
        default=PROJECT_IMAGE_ARCHIVE,
        help=f"an OCI or docker archive (default {PROJECT_IMAGE_ARCHIVE})",
    )
    args = parser.parse_args(argv)

    kube = LocalKube(kube_dir())
    try:
        if args.command == "up":
            cluster = kube.up()
            print(f"export KUBECONFIG={cluster.kubeconfig}")
        elif args.command == "down":
            kube.down()
        elif args.command == "load-image":
            for name in kube.load_image(args.archive):
                print(name)
        else:
            for what, where in kube.status().items():
                print(f"{what:<24} {where}")
    except (RuntimeError, FileNotFoundError, PollTimeout) as error:
        print(f"localkube: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
