"""The two ways a command fails before it can judge a migration, and their exit statuses.

Exit statuses of `python -m mm2ctl`: 0 caught up and healthy, 1 behind or degraded, 2 records lost
(the verdicts, mm2ctl/verdict.py); 3 a cluster or Connect could not be reached (`Unreachable`);
64 a bad command line or an unknown stack, source or group (`UsageError`).
"""

from __future__ import annotations

UNREACHABLE_STATUS = 3
USAGE_STATUS = 64


class UsageError(Exception):
    """The command names something that does not exist; the message lists what does."""


class Unreachable(Exception):
    """A cluster, Connect or the Kubernetes API did not answer in time; the message has the address and the cause."""


def unknown(kind: str, name: str, known: object) -> UsageError:
    names = sorted(known) if not isinstance(known, str) else [known]  # type: ignore[call-overload]
    listing = ", ".join(names) if names else "none"
    return UsageError(f"unknown {kind} {name!r}; known {kind}s: {listing}")
