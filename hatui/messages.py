"""Messages the engine bridge posts to the app (toolong style: small dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message

from hatui.viewmodel import Connection


@dataclass
class ConnectionChanged(Message):
    """The bridge connected, lost the engine, or is waiting to retry."""

    connection: Connection
    hello: dict[str, Any] = field(default_factory=dict)


@dataclass
class StatusUpdated(Message):
    """A fresh status document (coalesced: only the newest one matters)."""

    status: dict[str, Any]
    received_at: float

    def can_replace(self, message: Message) -> bool:
        """A newer status document makes an older pending one worthless."""
        return isinstance(message, StatusUpdated)


@dataclass
class LogBatch(Message):
    """Log records that arrived since the last flush, oldest first."""

    records: list[dict[str, Any]]
    history_of: str = ""
    """Set (to the engine's node name) when these are its recent log lines, sent with
    the subscription: lines from before this console attached to that engine."""


@dataclass
class TimelineBatch(Message):
    """Timeline events that arrived since the last flush, oldest first."""

    events: list[dict[str, Any]]


@dataclass
class ActionResult(Message):
    """What the engine said about an operator action (accepted, refused, done)."""

    command: str
    outcome: str
    detail: str
