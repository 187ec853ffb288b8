"""Several logs (one per node) merged into one time-ordered view.

Each file is already in time order, so a k-way ``heapq.merge`` on (time, file, line)
streams the result without sorting everything. A line without a timestamp (a traceback,
a continuation) keeps the time of the line before it, so it stays with its parent.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from hatui.logs.parse import parse_stamp

logger = logging.getLogger(__name__)


class Lines(Protocol):
    """Anything with ``len()`` and ``line(n)`` (a ``LineIndex`` or ``ListLines``)."""

    def __len__(self) -> int: ...

    def line(self, number: int) -> str: ...


class ListLines:
    """Lines held in memory, with the ``Lines`` interface (tests, merged views)."""

    def __init__(self, lines: Sequence[str]) -> None:
        """Wrap ``lines``."""
        self._lines = lines

    def __len__(self) -> int:
        return len(self._lines)

    def line(self, number: int) -> str:
        """Line ``number``."""
        return self._lines[number]


@dataclass(frozen=True, slots=True)
class MergedLine:
    """Where a merged line comes from, and the time it sorts by."""

    stamp: float
    source: int
    number: int


def _stamped(source: int, lines: Lines, year: int | None) -> Iterator[MergedLine]:
    last = float("-inf")
    for number in range(len(lines)):
        stamp = parse_stamp(lines.line(number), year)
        if stamp is not None:
            last = stamp
        yield MergedLine(last, source, number)


def merge_order(sources: Sequence[Lines], year: int | None = None) -> list[MergedLine]:
    """The merged order of every line of every source (ties: file order, then line)."""
    streams = [_stamped(i, lines, year) for i, lines in enumerate(sources)]
    return list(heapq.merge(*streams, key=lambda m: (m.stamp, m.source, m.number)))


class MergedLines:
    """A ``Lines`` view over several sources in merged order, prefixed by source label."""

    def __init__(self, sources: Sequence[Lines], labels: Sequence[str], year: int | None = None):
        """Merge now (the order is a list of small records, the text stays on disk)."""
        self.sources = sources
        self.labels = labels
        self.order = merge_order(sources, year)

    def __len__(self) -> int:
        return len(self.order)

    def line(self, number: int) -> str:
        """The merged line ``number`` with its file label."""
        where = self.order[number]
        return f"{self.labels[where.source]} │ {self.sources[where.source].line(where.number)}"
