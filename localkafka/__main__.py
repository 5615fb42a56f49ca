"""python -m localkafka up [--workers N] | down | status | build"""

from __future__ import annotations

import argparse
import sys

from connect.local_runtime import runtime_dir
from localkafka.jars import ensure_jars
from localkafka.paths import REPO_ROOT
from localkafka.runtime import LocalRuntime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localkafka", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start (or complete) the local runtime; returns when it is ready")
    up.add_argument("--workers", type=int, default=1, help="number of Connect workers (default 1)")
    commands.add_parser("down", help="stop every process and remove the runtime folder")
    commands.add_parser("status", help="show what runs where")
    commands.add_parser("build", help="build the jars (Maven, docker/pom.xml) unless they are cached")
    args = parser.parse_args(argv)

    runtime = LocalRuntime(runtime_dir(REPO_ROOT))
    try:
        if args.command == "build":
            print(ensure_jars().libs_dir)
        elif args.command == "up":
            runtime.up(workers=args.workers)
        elif args.command == "down":
            runtime.down()
        else:
            for what, where in runtime.status().items():
                print(f"{what:<20} {where}")
    except (RuntimeError, FileNotFoundError) as error:
        print(f"localkafka: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
