"""The one poll loop: ask until an answer is good enough, within a deadline, and say what was last seen.

Every wait in the project goes through `poll_until`: the provider waiting for a connector to run,
the local runtime waiting for a broker, the tests waiting for records. A probe that knows the
wait is hopeless (a process died, a task failed for good) raises, and the wait ends at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

V = TypeVar("V")


class PollTimeout(TimeoutError):
    """The deadline passed; `last_value` is what the probe returned on its final try."""

    def __init__(self, what: str, seconds: float, last_value: object, described: str) -> None:
        self.what, self.seconds, self.last_value = what, seconds, last_value
        super().__init__(f"timed out after {seconds:.0f}s waiting for {what} (last seen: {described})")


def poll_until(
    probe: Callable[[], V],
    done: Callable[[V], bool] = bool,
    *,
    timeout: float,
    what: str,
    interval: float = 0.5,
    describe: Callable[[V], str] = repr,
) -> V:
    """Call `probe` every `interval` seconds until `done(value)`; return that value.

    The probe runs at least once, and once more at the deadline, so a slow machine that gets
    there just in time still passes.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if done(value):
            return value
        if time.monotonic() >= deadline:
            raise PollTimeout(what, timeout, value, describe(value))
        time.sleep(max(0.0, min(interval, deadline - time.monotonic())))
