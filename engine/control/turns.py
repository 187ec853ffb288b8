"""A cap on control-socket work per turn of the loop.

200 clients that connect (or send a request) in the same instant make 200 tasks ready
in the same turn of the loop, and a heartbeat timer due meanwhile runs after all of
them. ``TurnBudget`` lets ``per_turn`` of them go on in one turn; the others wait, in
the order they came, for the next turns, and each turn starts with the timers that
are due. One request alone never waits (it takes the budget and goes on at once).
"""

from __future__ import annotations

import asyncio
import collections

PER_TURN = 8
"""Connections accepted or requests answered per turn of the loop."""


class TurnBudget:
    """At most ``per_turn`` ``take()`` calls go on per turn of the loop; the rest queue."""

    def __init__(self, per_turn: int = PER_TURN) -> None:
        self.per_turn = per_turn
        self._used = 0
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()
        self._turn: asyncio.Handle | None = None
        self.waited = 0
        """How many ``take()`` calls had to wait for a later turn."""

    async def take(self) -> None:
        """Go on now if this turn has budget left, else when a later turn lets us."""
        if self._used < self.per_turn and not self._waiting:
            self._used += 1
            self._next_turn_resets()
            return
        self.waited += 1
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        self._next_turn_resets()
        await future

    def _next_turn_resets(self) -> None:
        if self._turn is None:
            self._turn = asyncio.get_running_loop().call_soon(self._new_turn)

    def _new_turn(self) -> None:
        """A new turn: let the next ``per_turn`` waiting ones go on (they run in it)."""
        self._turn = None
        self._used = 0
        while self._waiting and self._used < self.per_turn:
            future = self._waiting.popleft()
            if not future.done():  # a waiting task may have been cancelled
                future.set_result(None)
                self._used += 1
        if self._used:
            self._next_turn_resets()
