"""The ``null`` device: resets always "succeed" (tests and demos only, spec §8.4)."""

from __future__ import annotations

import logging

from engine.stonith.base import StonithPlugin, StonithResult

logger = logging.getLogger("heartbeat")


class NullPlugin(StonithPlugin):
    """cluster-glue's ``null`` plugin: knows its ``hostlist`` and pretends to reset it."""

    @property
    def device_id(self) -> str:
        """As cluster-glue names it."""
        return "NULL STONITH device"

    async def reset(self, node: str) -> StonithResult:
        """Log the pretend reset; refuse hosts that are not in ``hostlist``."""
        hosts = await self.hosts() or []
        if node.lower() not in hosts:
            return StonithResult.failure(4, f"Device {self.device_id} cannot reset host {node}.")
        logger.info("Host null-reset: %s", node)
        return StonithResult.success(f"null-reset {node}")
