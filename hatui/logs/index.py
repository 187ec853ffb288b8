"""A lazy, sparse line index of a (huge) log file: block offsets only, lines read on demand.

The file is never loaded whole. ``catch_up`` reads it in 1 MiB chunks and records, for
each block of about 16 KiB cut at a line boundary, the byte offset where the block starts
and the number of its first line. Counting newlines (``bytes.count``, C speed) is the only
per-line work, so a gigabyte is indexed in about a second and the index costs 16 bytes per
block, not per line. ``line(n)`` finds the block by bisection and reads it with
``os.pread`` through a small LRU cache of split blocks.

Opening at the end: ``start_at_tail`` indexes only the last few MiB, so the end of a huge
file can be shown at once; ``scan_head`` then indexes the rest in slices and splices it in
front, at which moment every line number grows by the number of head lines (the caller is
told, to move its view). A trailing line without its newline is not indexed until the
newline arrives, so a writer caught mid-line never shows a half line.

One thread mutates an index (the log feed); others read it. The two offset arrays are
replaced or extended under one lock, and ``line`` copies what it needs under that lock.
"""

from __future__ import annotations

import logging
import os
import threading
from array import array
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)

CHUNK = 1 << 20
"""Bytes read per ``pread`` while indexing."""
BLOCK = 16 << 10
"""Target block size: what one ``line()`` miss reads and splits."""
MAX_LINE = 4096
"""Longest line shown; the rest is cut (toolong caps at 1000)."""
GIANT = 1 << 20
"""A line longer than this is cut into pieces of this size."""
TAIL = 4 << 20
"""Bytes indexed first by ``start_at_tail``: a few screens' worth of the end."""
CACHED_BLOCKS = 256


def cut_blocks(chunk: bytes, base: int) -> list[tuple[int, int]]:
    """Blocks of complete lines in ``chunk`` (read at offset ``base``): (end offset, lines).

    Blocks end after a newline and hold about ``BLOCK`` bytes; a line longer than that
    makes its block longer. Bytes after the last newline are left for the next read.
    """
    limit = chunk.rfind(b"\n") + 1
    blocks: list[tuple[int, int]] = []
    start = 0
    while start < limit:
        end = start + BLOCK
        if end >= limit:
            end = limit
        else:
            cut = chunk.rfind(b"\n", start, end)
            end = (cut if cut >= 0 else chunk.find(b"\n", end)) + 1
        blocks.append((base + end, chunk.count(b"\n", start, end)))
        start = end
    return blocks


class LineIndex:
    """Block offsets of one open file, grown by ``catch_up`` and reset on truncation."""

    def __init__(self, path: Path) -> None:
        """Open ``path`` (read-only); nothing is indexed yet."""
        self.path = path
        self._fd = os.open(path, os.O_RDONLY)
        self.inode = os.fstat(self._fd).st_ino
        self._lock = threading.Lock()
        self._first = array("Q", [0])
        """First line number of block i at i; the last entry is the line count."""
        self._offset = array("Q", [0])
        """Start offset of block i at i; the last entry is where the next line starts."""
        self._cache: OrderedDict[tuple[int, int], list[bytes]] = OrderedDict()
        self.origin = 0
        """Offset of line 0 while the head (before it) is not indexed yet; 0 when complete."""
        self._head: tuple[array[int], array[int]] | None = None
        self._alone = False
        """The last block is a giant line's piece: the next block may not join it."""
        self._recent: tuple[int, int, list[bytes]] = (0, 0, [])
        """(first line, end line, raw lines) of the block read last: nearby reads are free."""
        self.cancelled = False

    def close(self) -> None:
        """Release the file descriptor."""
        os.close(self._fd)

    def __len__(self) -> int:
        return self._first[-1]

    @property
    def indexed_bytes(self) -> int:
        """Offset just after the last complete line indexed."""
        return self._offset[-1]

    @property
    def complete(self) -> bool:
        """True when every line from the start of the file is indexed."""
        return self.origin == 0

    def head_progress(self) -> float:
        """Share of the head already scanned (1.0 when complete)."""
        if self._head is None or not self.origin:
            return 1.0
        return self._head[1][-1] / self.origin

    def size(self) -> int:
        """Current size of the open file."""
        return os.fstat(self._fd).st_size

    # ------------------------------------------------------------------ indexing

    def _read_blocks(self, start: int, stop: int) -> tuple[list[tuple[int, int]], bool]:
        """The blocks of one chunk at ``start`` (not past ``stop``); [] if unfinished.

        The flag is True for a piece of a giant line cut without its newline: such a
        block must stay alone (its reader cannot split it on newlines).
        """
        chunk = os.pread(self._fd, min(CHUNK, stop - start), start)
        if not chunk:
            return [], False
        if b"\n" in chunk:
            return cut_blocks(chunk, start), False
        end = self._long_line_end(start, len(chunk))
        return ([], False) if end is None else ([(end, 1)], end - start >= GIANT)

    def _append(self, blocks: list[tuple[int, int]], alone: bool) -> None:
        """Add blocks at the end; a small last block grows instead of a new one starting."""
        with self._lock:
            first, offset = self._first, self._offset
            for end, count in blocks:
                if len(offset) >= 2 and end - offset[-2] <= BLOCK and not (alone or self._alone):
                    offset[-1] = end
                    first[-1] += count
                else:
                    offset.append(end)
                    first.append(first[-1] + count)
            self._alone = alone

    def catch_up(
        self, limit: int | None = None, progress: Callable[[int, int], None] | None = None
    ) -> int:
        """Index lines appended since the last call (at most ``limit`` bytes); lines added."""
        before = len(self)
        size = self.size()
        start = pos = self.indexed_bytes
        while not self.cancelled and pos < size and (limit is None or pos - start < limit):
            blocks, alone = self._read_blocks(pos, size)
            if not blocks:
                break
            self._append(blocks, alone)
            pos = blocks[-1][0]
            if progress is not None:
                progress(pos, size)
        return len(self) - before

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
        return start + GIANT

    def start_at_tail(self, tail: int | None = None) -> int:
        """Index only the lines of the last ``tail`` (default ``TAIL``) bytes; head later."""
        tail = TAIL if tail is None else tail
        size = self.size()
        if size <= tail or len(self):
            return self.catch_up()
        probe = os.pread(self._fd, tail, size - tail - 1)
        found = probe.find(b"\n")
        if found < 0:
            return self.catch_up()
        boundary = size - tail + found
        with self._lock:
            self._first, self._offset = array("Q", [0]), array("Q", [boundary])
            self.origin = boundary
            self._head = (array("Q", [0]), array("Q", [0]))
        return self.catch_up()

    def scan_head(self, limit: int = 64 * CHUNK) -> int | None:
        """Index up to ``limit`` more bytes of the head; once done, splice it in front.

        Returns None while the head is not finished, else the number of lines that were
        put in front (every line number grew by that much; 0 when nothing was missing).
        """
        if self._head is None or not self.origin:
            return 0
        first, offset = self._head
        pos, stop = offset[-1], min(self.origin, offset[-1] + limit)
        while pos < stop and not self.cancelled:
            blocks, _alone = self._read_blocks(pos, self.origin)
            if not blocks:
                break
            for end, count in blocks:
                offset.append(end)
                first.append(first[-1] + count)
            pos = offset[-1]
        if pos < self.origin:
            return None
        head_lines = first[-1]
        with self._lock:
            first.pop()
            offset.pop()
            first.extend(line + head_lines for line in self._first)
            offset.extend(self._offset)
            self._first, self._offset = first, offset
            self.origin, self._head = 0, None
            self._recent = (0, 0, [])
        return head_lines

    def reset(self) -> None:
        """Forget every line (the file was truncated): the index restarts at 0."""
        with self._lock:
            self._first, self._offset = array("Q", [0]), array("Q", [0])
            self.origin, self._head, self._alone = 0, None, False
            self._cache.clear()
            self._recent = (0, 0, [])

    # ------------------------------------------------------------------ reading

    def _block(self, number: int) -> tuple[int, list[bytes]]:
        """(first line number, raw lines) of the block holding line ``number``."""
        first, end, raw = self._recent
        if first <= number < end:
            return first, raw
        with self._lock:
            if not 0 <= number < self._first[-1]:
                raise IndexError(number)
            at = bisect_right(self._first, number) - 1
            first, count = self._first[at], self._first[at + 1] - self._first[at]
            start, end = self._offset[at], self._offset[at + 1]
        key = (start, end)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            self._recent = (first, first + count, cached)
            return first, cached
        if count == 1 and end - start > MAX_LINE:
            raw = [os.pread(self._fd, MAX_LINE, start)]
        else:
            raw = os.pread(self._fd, end - start, start).split(b"\n", count)[:count]
        self._cache[key] = raw
        if len(self._cache) > CACHED_BLOCKS:
            self._cache.popitem(last=False)
        self._recent = (first, first + count, raw)
        return first, raw

    def line(self, number: int) -> str:
        """Line ``number`` (0-based) without its newline, decoded leniently."""
        first, raw = self._block(number)
        return raw[number - first][:MAX_LINE].decode("utf-8", "replace")

    def lines(self, start: int, stop: int) -> list[str]:
        """Lines ``start``..``stop-1`` (clamped to what is indexed), a block at a time."""
        found: list[str] = []
        number, stop = max(start, 0), min(stop, len(self))
        while number < stop:
            first, raw = self._block(number)
            piece = raw[number - first : stop - first]
            found.extend(r[:MAX_LINE].decode("utf-8", "replace") for r in piece)
            number += len(piece)
        return found
