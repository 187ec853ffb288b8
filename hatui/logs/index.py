"""A lazy line index of a (huge) log file: offsets only, lines read on demand.

The file is never loaded whole: ``scan`` reads it in chunks (in a worker thread) and
stores the offset where each line starts in an ``array('Q')`` (8 bytes per line);
``line(n)`` reads one line with ``os.pread`` through a small cache. A trailing line
without its newline is not indexed until the newline arrives, so a writer caught
mid-line never shows a half line. Reads and index growth are guarded by one lock.
"""

from __future__ import annotations

import logging
import os
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable
from itertools import accumulate
from pathlib import Path

logger = logging.getLogger(__name__)

CHUNK = 8 << 20
MAX_LINE = 4096
"""Longest line shown; the rest is cut (toolong caps at 1000)."""
CACHE = 4096
GIANT = 1 << 20
"""A line longer than this is cut into pieces of this size."""


class LineIndex:
    """Line offsets of one file, grown by ``scan``/``catch_up`` and reset on truncation."""

    def __init__(self, path: Path) -> None:
        """Open ``path`` (read-only); nothing is scanned yet."""
        self.path = path
        self._fd = os.open(path, os.O_RDONLY)
        self.inode = os.fstat(self._fd).st_ino
        self._starts = array("Q", [0])
        """Start of line i at index i; the last entry is where the next line starts."""
        self._lock = threading.Lock()
        self._cache: OrderedDict[int, str] = OrderedDict()
        self.cancelled = False

    def close(self) -> None:
        """Release the file descriptor."""
        os.close(self._fd)

    def __len__(self) -> int:
        return len(self._starts) - 1

    @property
    def indexed_bytes(self) -> int:
        """Bytes covered by complete lines."""
        return self._starts[-1]

    def size(self) -> int:
        """Current size of the open file."""
        return os.fstat(self._fd).st_size

    def _index_chunk(self, chunk: bytes, base: int) -> int:
        """Add the lines that end in ``chunk`` (starting at file offset ``base``)."""
        pieces = chunk.split(b"\n")
        if len(pieces) == 1:
            return 0
        ends = accumulate((len(p) + 1 for p in pieces[:-1]), initial=base)
        new = array("Q", ends)
        with self._lock:
            self._starts.extend(new[1:])
        return len(new) - 1

    def catch_up(
        self, limit: int | None = None, progress: Callable[[int, int], None] | None = None
    ) -> int:
        """Index lines appended since the last call; returns how many were added."""
        added = 0
        size = self.size()
        while not self.cancelled:
            start = self._starts[-1]
            if start >= size or (limit is not None and added >= limit):
                break
            chunk = os.pread(self._fd, CHUNK, start)
            if not chunk:
                break
            if b"\n" not in chunk:
                end = self._long_line_end(start, len(chunk))
                if end is None:
                    break
                with self._lock:
                    self._starts.append(end)
                added += 1
                continue
            added += self._index_chunk(chunk[: chunk.rfind(b"\n") + 1], start)
            if progress is not None:
                progress(self._starts[-1], size)
        return added

    scan = catch_up

    def _long_line_end(self, start: int, seen: int) -> int | None:
        """Where a line longer than a chunk ends; cut at ``GIANT`` bytes; None if unfinished."""
        pos = start + seen
        while pos - start < GIANT:
            piece = os.pread(self._fd, CHUNK, pos)
            if not piece:
                return None
            found = piece.find(b"\n")
            if found >= 0:
                return pos + found + 1
            pos += len(piece)
        return pos

    def reset(self) -> None:
        """Forget every line (the file was truncated): the index restarts at 0."""
        with self._lock:
            self._starts = array("Q", [0])
            self._cache.clear()

    def line(self, number: int) -> str:
        """Line ``number`` (0-based) without its newline, decoded leniently."""
        cached = self._cache.get(number)
        if cached is not None:
            self._cache.move_to_end(number)
            return cached
        with self._lock:
            if not 0 <= number < len(self._starts) - 1:
                raise IndexError(number)
            start, end = self._starts[number], self._starts[number + 1]
        raw = os.pread(self._fd, min(end - start, MAX_LINE), start)
        text = raw.rstrip(b"\n").decode("utf-8", "replace")
        self._cache[number] = text
        if len(self._cache) > CACHE:
            self._cache.popitem(last=False)
        return text

    def lines(self, start: int, stop: int) -> list[str]:
        """Lines ``start``..``stop-1`` (clamped to what is indexed)."""
        stop = min(stop, len(self))
        return [self.line(n) for n in range(max(start, 0), stop)]
