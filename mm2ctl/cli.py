"""python -m mm2ctl status|cutover: watch a migration and finish it (docs/migration.md is the runbook).

Exit statuses: 0 caught up and healthy, 1 behind or degraded, 2 records lost, 3 a cluster, Connect
or the Kubernetes API could not be reached, 4 another error, 64 a bad command line or an unknown
stack, source or group. Every wait is bounded by --timeout.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

from connect.rest import ConnectError, ConnectUnavailable
from mm2ctl.access import open_access
from mm2ctl.errors import UNREACHABLE_STATUS, USAGE_STATUS, Unreachable, UsageError
from mm2ctl.kafka_tool import ToolFailed
from mm2ctl.stacks import check_source, stack_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FAILED_STATUS = 4
DEFAULT_TIMEOUT_SECONDS = 30.0


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse exits with 2, which here means "records lost".
        self.print_usage(sys.stderr)
        self.exit(USAGE_STATUS, f"{self.prog}: error: {message}\n")


def parser() -> argparse.ArgumentParser:
    main = _Parser(prog="python -m mm2ctl", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common = _Parser(add_help=False)
    common.add_argument("--stack", default="local", help="the Pulumi stack (a Pulumi.<stack>.yaml; default local)")
    common.add_argument("--json", action="store_true", help="one JSON document instead of tables")
    common.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, help="seconds to wait for any cluster or Connect"
    )
    common.add_argument("--kubeconfig", type=Path, help="eks/kubernetes: a kubeconfig file instead of the stack output")
    common.add_argument("--tree", type=Path, help="the connector files' folder (default: the project's connectors/)")
    commands = main.add_subparsers(dest="command", required=True, parser_class=_Parser)
    status = commands.add_parser("status", parents=[common], help="how far behind, what was lost, group translations")
    status.add_argument("--source", help="only this source cluster's connectors")
    status.add_argument("--all-partitions", action="store_true", help="list every partition, also of wide topics")
    cutover = commands.add_parser(
        "cutover", parents=[common], help="move consumer groups to the destination (a dry run unless --apply)"
    )
    cutover.add_argument("--source", required=True, help="the source cluster whose groups move")
    cutover.add_argument("--group", action="append", default=[], help="a group to move (repeat; default: all)")
    cutover.add_argument("--apply", action="store_true", help="write the destination offsets")
    cutover.add_argument(
        "--quiet-seconds", type=float, default=5.0, help="how long the source end offsets must stay unchanged"
    )
    return main


def main(argv: Sequence[str] | None = None, project_root: Path = PROJECT_ROOT) -> int:
    args = parser().parse_args(argv)
    try:
        settings = stack_settings(project_root, args.stack)
        check_source(settings, args.source)
        kubeconfig = args.kubeconfig.read_text() if args.kubeconfig else None
        access = open_access(project_root, args.stack, settings, args.timeout, kubeconfig)
        if args.tree is not None:
            access = replace(access, connectors_root=args.tree.resolve())
        if args.command == "status":
            from mm2ctl.commands import run_status

            return run_status(access, args.source, args.timeout, args.json, args.all_partitions)
        from mm2ctl.commands import run_cutover

        return run_cutover(access, args.source, args.group, args.apply, args.quiet_seconds, args.timeout, args.json)
    except UsageError as error:
        return _fail(USAGE_STATUS, str(error))
    except (Unreachable, ConnectUnavailable) as error:
        return _fail(UNREACHABLE_STATUS, str(error))
    except ConnectError as error:
        # Connect answered, but not with what was asked (401 with wrong credentials, a 500): as good as unreachable.
        return _fail(UNREACHABLE_STATUS, str(error))
    except (ToolFailed, OSError) as error:
        return _fail(FAILED_STATUS, str(error))


def _fail(status: int, message: str) -> int:
    print(f"mm2ctl: {message}", file=sys.stderr)
    return status
