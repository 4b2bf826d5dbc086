"""Waiting on a condition instead of sleeping for a guess.

A test that sleeps "long enough" for another thread, process or server to get somewhere
passes on an idle machine and fails on a loaded one (the suite runs on 2 cores next to
other suites). ``wait_until`` polls the condition itself, with a deadline far beyond what
any healthy run needs: the deadline only turns a hang into a failure that says what was
awaited, it is never a performance assertion.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

GENEROUS_S = 120.0  # what "a very long time" means here, on a machine at load 20


def wait_until(condition: Callable[[], T], what: str, *, deadline_s: float = GENEROUS_S,
               every_s: float = 0.02) -> T:
    """Call ``condition`` until it returns something truthy, and return that.

    ``what`` names the awaited state in the failure message ("the worker wrote 500
    items"), along with the last value seen, so a failure says what never happened.
    """
    give_up = time.monotonic() + deadline_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= give_up:
            raise AssertionError(f"waited {deadline_s:.0f} s for {what}; last seen: {value!r}")
        time.sleep(every_s)
