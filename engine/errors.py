"""One root for every error the engine raises on purpose (style.md §5.10)."""

from __future__ import annotations


class HeartbeatError(Exception):
    """Root of the engine's own errors."""


class LocalProtocolError(HeartbeatError):
    """We were asked to do something the protocol does not allow."""


class RemoteProtocolError(HeartbeatError):
    """A peer (or an attacker) sent something we reject; never escapes the receive path.

    ``reason`` is a short machine code (counted in ``status --json``), ``detail`` is text
    for the log.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class ResourceError(HeartbeatError):
    """A resource script could not be found or run."""
