"""Everything the policy says: cluster messages, actions, timeline events, log lines.

Every part of the policy reports its decisions here (a ``PolicyEvent`` carries the
reason and the log line); the shell drains them after each input.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from engine.core.policy_types import Action, PolicyEvent
from engine.protocol.message import Message

logger = logging.getLogger(__name__)

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "WARN": logging.WARNING,
    "ERROR": logging.ERROR,
    "CRIT": logging.CRITICAL,
}


def log(level: str, text: str) -> None:
    """A plain log line in Heartbeat's wording; ``level`` is Heartbeat's priority word."""
    logger.log(_LEVELS.get(level, logging.INFO), "%s", text)


class Outbox:
    """Messages, actions and events produced since the shell last drained them."""

    def __init__(self) -> None:
        self._messages: list[Message] = []
        self._actions: list[Action] = []
        self._events: list[PolicyEvent] = []
        self._next_id = 1

    def send(self, msg: Message) -> None:
        """Queue a cluster message (no control fields; membership stamps them)."""
        self._messages.append(msg)

    def send_all(self, msgs: Iterable[Message]) -> None:
        self._messages.extend(msgs)

    def act(self, action: Action) -> None:
        """Ask the shell to run an action (its id from ``new_id``)."""
        self._actions.append(action)

    def new_id(self) -> int:
        """A fresh action id (1, 2, ...)."""
        self._next_id += 1
        return self._next_id - 1

    def event(
        self,
        kind: str,
        reason: str,
        node: str = "",
        group: str = "",
        level: str = "info",
        log: str = "",
    ) -> None:
        """A decision with its reason, for the timeline and the log."""
        self._events.append(PolicyEvent(kind, node, group, reason, level, log or reason))

    def drain_messages(self) -> list[Message]:
        out, self._messages = self._messages, []
        return out

    def drain_actions(self) -> list[Action]:
        out, self._actions = self._actions, []
        return out

    def drain_events(self) -> list[PolicyEvent]:
        out, self._events = self._events, []
        return out
