"""Follow a log file by name (``tail -F``): growth, rotation and truncation.

``Follower.poll`` is the whole decision, synchronous and testable: a new inode at the
path means the file was rotated (drain what the old file still had, keep it as history,
and index the new file from its start); a size smaller than what we indexed means it was
truncated in place (copytruncate: the current file's lines are gone, start again at 0);
otherwise index what was appended. A ``Follower`` is itself a ``Lines``: the lines of the
rotated-out files first, then those of the current one, so a rotation never renumbers
or drops what is on screen. ``hatui.logs.feed`` calls ``poll`` when watchfiles reports a
change in the file's directory (and once a second as a safety net).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from hatui.logs.index import LineIndex

logger = logging.getLogger(__name__)

BATCH_BYTES = 16 << 20
"""Bytes indexed per poll at most: a burst arrives in slices, the feed stays responsive."""


class Change(StrEnum):
    """What ``poll`` found."""

    NONE = "none"
    APPENDED = "appended"
    ROTATED = "rotated"
    TRUNCATED = "truncated"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class FollowEvent:
    """One poll's outcome: what happened, lines added, and lines kept from before.

    Lines ``kept`` and beyond are new since the previous poll; below ``kept`` nothing
    changed (a truncation makes ``kept`` smaller than the previous length).
    """

    change: Change
    added: int = 0
    kept: int = 0
    more: bool = False
    """The batch limit was hit: poll again soon, more is waiting."""


class Follower:
    """The lines of the file at ``path``, across rotations; ``poll`` keeps them current."""

    def __init__(self, path: Path, index: LineIndex | None = None) -> None:
        """Follow ``path``; ``index`` may be one that is already scanned."""
        self.path = path
        self.index = index if index is not None else LineIndex(path)
        self.retired: list[LineIndex] = []
        """Rotated-out files, oldest first; still open, so their lines stay readable."""

    def close(self) -> None:
        """Release every file descriptor."""
        for index in [*self.retired, self.index]:
            index.close()

    def __len__(self) -> int:
        return sum(len(index) for index in self.retired) + len(self.index)

    def _segments(self) -> list[LineIndex]:
        return [*self.retired, self.index]

    def line(self, number: int) -> str:
        """Line ``number`` counted from the first line of the oldest file kept."""
        if not self.retired:
            return self.index.line(number)
        for index in self._segments():
            size = len(index)
            if number < size:
                return index.line(number)
            number -= size
        raise IndexError(number)

    def lines(self, start: int, stop: int) -> list[str]:
        """Lines ``start``..``stop-1`` across the files."""
        found: list[str] = []
        for index in self._segments():
            size = len(index)
            if start < size and stop > 0:
                found.extend(index.lines(max(start, 0), min(stop, size)))
            start, stop = start - size, stop - size
        return found

    def poll(self) -> FollowEvent:
        """Look once at the path and the open file; update the index."""
        before = len(self)
        try:
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            added = self.index.catch_up(BATCH_BYTES)
            return FollowEvent(Change.APPENDED if added else Change.MISSING, added, before)
        if inode != self.index.inode:
            return self._rotated(before)
        if self.index.size() < self.index.indexed_bytes:
            kept = before - len(self.index)
            self.index.reset()
            added, more = self._catch_up()
            return FollowEvent(Change.TRUNCATED, added, kept, more)
        added, more = self._catch_up()
        return FollowEvent(Change.APPENDED if added else Change.NONE, added, before, more)

    def _rotated(self, before: int) -> FollowEvent:
        self.index.catch_up()  # lines written to the old file before the rename
        try:
            fresh = LineIndex(self.path)
        except FileNotFoundError:  # renamed away again before we could open it
            return FollowEvent(Change.MISSING, len(self) - before, before)
        self.retired.append(self.index)
        self.index = fresh
        _added, more = self._catch_up()
        return FollowEvent(Change.ROTATED, len(self) - before, before, more)

    def _catch_up(self) -> tuple[int, bool]:
        """Lines added, and whether the batch limit stopped the reading."""
        start = self.index.indexed_bytes
        added = self.index.catch_up(BATCH_BYTES)
        return added, self.index.indexed_bytes - start >= BATCH_BYTES
