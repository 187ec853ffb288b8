"""Waiting for the console in Pilot tests: let the app run until a condition holds."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot


async def until(
    pilot: Pilot[Any], check: Callable[[], Any], timeout: float = 15.0, step: float = 0.05
) -> None:
    """Pause the test (the app keeps running) until ``check()`` is truthy; fail on timeout."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await pilot.pause(step)
