"""The ``meatware`` device: a human power-cycles the node and confirms it (spec §8.5).

Heartbeat's plugin blocks on a FIFO that ``meatclient -c NODE`` writes to. Here the
confirmation arrives through the control socket (``hactl meatware confirm NODE`` or the
console), recorded in a :class:`MeatwareBoard` shared by the fencer and the daemon.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from engine.stonith.base import S_TIMEOUT, PluginContext, StonithPlugin, StonithResult

logger = logging.getLogger("heartbeat")

MEATWARE_TIMEOUT = 600.0
"""Seconds the plugin waits for the operator (the plugin's 600 s alarm)."""


@dataclass(slots=True)
class _Waiter:
    future: asyncio.Future[str]
    since: float


class MeatwareBoard:
    """Pending operator confirmations, one per node."""

    def __init__(self) -> None:
        self._waiting: dict[str, _Waiter] = {}

    def pending(self) -> list[str]:
        """Nodes waiting for an operator right now."""
        return sorted(self._waiting)

    def wait_for(self, node: str) -> asyncio.Future[str]:
        """Register a wait for ``node`` (replacing an older one) and return its future."""
        old = self._waiting.pop(node, None)
        if old is not None and not old.future.done():
            old.future.cancel()
        loop = asyncio.get_running_loop()
        waiter = _Waiter(loop.create_future(), loop.time())
        self._waiting[node] = waiter
        return waiter.future

    def forget(self, node: str, future: asyncio.Future[str]) -> None:
        """Drop the wait for ``node`` if it is still ``future``."""
        waiter = self._waiting.get(node)
        if waiter is not None and waiter.future is future:
            del self._waiting[node]

    def confirm(self, node: str, who: str) -> str | None:
        """The operator says ``node`` was power-cycled; None when accepted, else why not."""
        node = node.lower()
        waiter = self._waiting.get(node)
        if waiter is None or waiter.future.done():
            waiting = ", ".join(self.pending()) or "none"
            return f"no meatware reset of {node} is waiting (waiting: {waiting})"
        waiter.future.set_result(who)
        return None


class MeatwarePlugin(StonithPlugin):
    """Waits until an operator confirms the power-cycle, or times out."""

    board: MeatwareBoard | None = None
    """Set by the fencer; a plugin without a board cannot be confirmed."""

    timeout: float = MEATWARE_TIMEOUT

    @classmethod
    def parameter_names(cls, type_name: str, ctx: PluginContext) -> tuple[str, ...]:
        """``hostlist`` only."""
        return ("hostlist",)

    @property
    def device_id(self) -> str:
        """As cluster-glue names it."""
        return "Meatware STONITH device"

    async def reset(self, node: str) -> StonithResult:
        """Ask the operator, then wait for ``meatware_confirm`` (or the timeout)."""
        hosts = await self.hosts() or []
        if node.lower() not in hosts:
            return StonithResult.failure(4, f"Device {self.device_id} cannot reset host {node}.")
        if self.board is None:
            return StonithResult.failure(1, "meatware plugin has no confirmation board")
        future = self.board.wait_for(node.lower())
        logger.critical("OPERATOR INTERVENTION REQUIRED to reset %s.", node)
        logger.critical('Run "hactl meatware confirm %s" AFTER power-cycling the machine.', node)
        try:
            who = await asyncio.wait_for(asyncio.shield(future), self.timeout)
        except TimeoutError:
            return StonithResult.failure(
                S_TIMEOUT, f"no operator confirmed the reset of {node} within {self.timeout:g} s"
            )
        except asyncio.CancelledError:
            if future.cancelled():
                return StonithResult.failure(5, f"meatware reset of {node} superseded")
            raise
        finally:
            self.board.forget(node.lower(), future)
        logger.info("node Meatware-reset: %s", node)
        return StonithResult.success(f"operator {who} confirmed {node} was power-cycled")
