"""Follow a log file by name (``tail -F``): growth, rotation and truncation.

``Follower.poll`` is the whole decision, synchronous and testable: a new inode at the
path means the file was rotated (re-open and index the new file from the start, after
draining what the old one still had); a size smaller than what we indexed means it was
truncated in place (copytruncate: start again at 0); otherwise index what was appended.
``watch`` drives it from watchfiles on the *directory* (editors and logrotate replace
files by rename, which a single-file watch can miss), with a slow poll as a safety net.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from watchfiles import awatch

from hatui.logs.index import LineIndex

logger = logging.getLogger(__name__)

BATCH_LINES = 200_000
"""Lines indexed per poll at most: big bursts arrive in slices, never freezing a frame."""


class Change(StrEnum):
    """What ``poll`` found."""

    NONE = "none"
    APPENDED = "appended"
    ROTATED = "rotated"
    TRUNCATED = "truncated"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class FollowEvent:
    """One poll's outcome: what happened and how many lines were added."""

    change: Change
    added: int = 0


class Follower:
    """Keeps a ``LineIndex`` in step with the file currently at ``path``."""

    def __init__(self, path: Path, index: LineIndex | None = None) -> None:
        """Follow ``path``; ``index`` may be one that is already scanned."""
        self.path = path
        self.index = index if index is not None else LineIndex(path)

    def poll(self) -> FollowEvent:
        """Look once at the path and the open file; update the index."""
        try:
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            added = self.index.catch_up(BATCH_LINES)
            return FollowEvent(Change.MISSING if not added else Change.APPENDED, added)
        if inode != self.index.inode:
            self.index.catch_up()  # lines written to the old file before the rename
            old = self.index
            self.index = LineIndex(self.path)
            old.close()
            return FollowEvent(Change.ROTATED, self.index.catch_up(BATCH_LINES))
        if self.index.size() < self.index.indexed_bytes:
            self.index.reset()
            return FollowEvent(Change.TRUNCATED, self.index.catch_up(BATCH_LINES))
        added = self.index.catch_up(BATCH_LINES)
        return FollowEvent(Change.APPENDED if added else Change.NONE, added)


async def watch(
    follower: Follower,
    on_event: Callable[[FollowEvent], None],
    stop: asyncio.Event,
    *,
    safety_poll_ms: int = 1000,
) -> None:
    """Call ``on_event`` after every change of the followed file until ``stop`` is set."""
    name = follower.path.name

    def relevant(_change: object, path: str) -> bool:
        return Path(path).name == name

    async for _changes in awatch(
        follower.path.parent,
        watch_filter=relevant,
        stop_event=stop,
        debounce=50,
        step=20,
        rust_timeout=safety_poll_ms,
        yield_on_timeout=True,
    ):
        while True:
            event = await asyncio.to_thread(follower.poll)
            if event.change is not Change.NONE:
                on_event(event)
            if event.added < BATCH_LINES:
                break
