"""The link abstraction: one heartbeat medium that sends to and receives from peers.

A link never blocks the caller: ``send`` is fire-and-forget (errors are counted and
logged with Heartbeat's suppression rules, spec §5.5) and received datagrams are handed
to a callback together with the link name. Serial links implement the same interface.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger("heartbeat")

DatagramHandler = Callable[[bytes, str], None]
"""Called with (payload, link name) for every datagram received."""

SUPPRESS_AFTER = 10
RESUME_EVERY = 1000


@dataclass(slots=True)
class LinkStats:
    """Counters shown in status and metrics."""

    sent: int = 0
    send_errors: int = 0
    received: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    dropped_by_fault: int = 0


class Link(ABC):
    """One configured medium (``ucast eth0 ...``, ``bcast eth1``, ``serial /dev/ttyS0``)."""

    def __init__(self, name: str, kind: str, description: str) -> None:
        self.name = name
        self.kind = kind
        self.description = description
        self.stats = LinkStats()
        self.cut = False
        """Fault injection (demo/tests): drop everything in both directions."""
        self._consecutive_errors = 0
        self._handler: DatagramHandler | None = None

    @abstractmethod
    async def open(self, handler: DatagramHandler) -> None:
        """Open sockets/devices and start delivering datagrams to ``handler``."""

    @abstractmethod
    def _write(self, data: bytes) -> None:
        """Write one message; raise OSError on failure. Must not block."""

    @abstractmethod
    def close(self) -> None:
        """Release every resource; idempotent."""

    def poll(self) -> int:
        """Deliver what is already waiting without blocking; returns how many.

        The engine calls it on every link after it wakes up, so the copy of a packet on
        a second medium, or our own echo, costs no wake-up of its own. Links that
        deliver from their own tasks (serial, ping) have nothing to do here.
        """
        return 0

    def send(self, data: bytes) -> bool:
        """Send one message on this medium; never raises, never blocks."""
        if self.cut:
            self.stats.dropped_by_fault += 1
            return False
        try:
            self._write(data)
        except OSError as exc:
            self._write_failed(exc)
            return False
        if self._consecutive_errors >= SUPPRESS_AFTER:
            logger.info("write on %s %s works again", self.kind, self.name)
        self._consecutive_errors = 0
        self.stats.sent += 1
        self.stats.bytes_sent += len(data)
        return True

    def _write_failed(self, exc: OSError) -> None:
        self.stats.send_errors += 1
        self._consecutive_errors += 1
        count = self._consecutive_errors
        if count < SUPPRESS_AFTER or count % RESUME_EVERY == 0:
            logger.error(
                "write_child: write failure on %s %s.: %s", self.kind, self.name, exc.strerror
            )
        elif count == SUPPRESS_AFTER:
            logger.warning("Temporarily Suppressing write error messages")
            logger.warning("Is a cable unplugged on %s %s?", self.kind, self.name)

    def deliver(self, data: bytes) -> None:
        """Hand a received datagram up (drops it while the link is cut)."""
        if self.cut:
            self.stats.dropped_by_fault += 1
            return
        self.stats.received += 1
        self.stats.bytes_received += len(data)
        if self._handler is not None:
            self._handler(data, self.name)
