"""Several logs (one per node) merged into one time-ordered view, built incrementally.

Each file is already in time order, so the merged order is a sequence of *runs*: a
stretch of consecutive lines of one file. ``extend`` finds each run by galloping (probe
1, 2, 4... lines ahead, then bisect) for the last line older than the next line of every
other file, so merging costs a few timestamp parses per run instead of one per line,
and the order takes 16 bytes per run. Ties go to the file listed first. A line without
a timestamp (a traceback, a continuation) has the time of the stamped line before it,
so it stays with its parent.

Growth is incremental: new lines of a file are merged in after the runs already built;
only when they are older than the end of the order are the runs they belong before
taken back (usually none) and merged again. A truncated file loses only its own runs
from the cut on (``drop_from``); the other files' runs keep their order.

Line numbers stored in runs are *local*: ``shift`` lines (a head indexed later and put
in front, see ``LineIndex.scan_head``) are left out, so a preview built over the tails
stays right while the heads are indexed. One thread calls ``extend``/``drop_from``; the
UI reads ``line``; the run arrays are replaced under a lock in one step.
"""

from __future__ import annotations

import logging
import threading
from array import array
from bisect import bisect_right
from collections.abc import Sequence
from typing import Protocol

from hatui.logs.parse import parse_stamp

logger = logging.getLogger(__name__)

SOURCE_BITS = 48
LINE_MASK = (1 << SOURCE_BITS) - 1
WALK_BACK = 256
"""Lines read at a time when looking back for the stamp of a continuation line."""
STAMP_CACHE = 4096
Key = tuple[float, int]
"""(time, file position): the merge order of a line."""


class Lines(Protocol):
    """Anything with ``len()``, ``line(n)`` and ``lines(a, b)`` (a file, a merge...)."""

    def __len__(self) -> int: ...

    def line(self, number: int) -> str: ...

    def lines(self, start: int, stop: int) -> list[str]: ...


class ListLines:
    """Lines held in memory, with the ``Lines`` interface (tests, placeholders)."""

    def __init__(self, lines: Sequence[str]) -> None:
        """Wrap ``lines``."""
        self._lines = lines

    def __len__(self) -> int:
        return len(self._lines)

    def line(self, number: int) -> str:
        """Line ``number``."""
        return self._lines[number]

    def lines(self, start: int, stop: int) -> list[str]:
        """Lines ``start``..``stop-1``."""
        return list(self._lines[max(start, 0) : stop])


class _Stamps:
    """Timestamps of one source's lines, continuation lines inheriting the one before."""

    def __init__(self, source: Lines, year: int | None) -> None:
        self.source = source
        self.year = year
        self._cache: dict[int, float] = {}
        self.unstamped_upto = -1
        """Lines 0..this have no stamp at all (they sort first)."""

    def stamp(self, number: int) -> float:
        """The time line ``number`` sorts by."""
        cached = self._cache.get(number)
        if cached is not None:
            return cached
        found = self._look_back(number)
        if len(self._cache) >= STAMP_CACHE:
            self._cache.clear()
        self._cache[number] = found
        return found

    def _look_back(self, number: int) -> float:
        stamp = parse_stamp(self.source.line(number), self.year)
        if stamp is not None:
            return stamp
        stop = number
        while stop > self.unstamped_upto + 1:
            start = max(stop - WALK_BACK, self.unstamped_upto + 1)
            for text in reversed(self.source.lines(start, stop)):
                stamp = parse_stamp(text, self.year)
                if stamp is not None:
                    return stamp
            stop = start
        self.unstamped_upto = max(self.unstamped_upto, number)
        return float("-inf")

    def forget(self) -> None:
        """Line numbers changed (a head was put in front, a truncation)."""
        self._cache.clear()
        self.unstamped_upto = -1


class MergedLines:
    """A ``Lines`` view over several sources in merged order, prefixed by source label."""

    def __init__(self, sources: Sequence[Lines], labels: Sequence[str], year: int | None = None):
        """Nothing is merged yet: call ``extend``."""
        self.sources = list(sources)
        self.labels = list(labels)
        self._stamps = [_Stamps(source, year) for source in self.sources]
        self._lock = threading.Lock()
        self._run_row = array("Q")
        """First merged row of each run."""
        self._run_ref = array("Q")
        """source << 48 | local number of the run's first line."""
        self._rows = 0
        self._heads = [0] * len(self.sources)
        """Local lines of each source already in the order."""
        self.shift = [0] * len(self.sources)
        """Lines at the start of each source left out (local = actual - shift)."""

    def __len__(self) -> int:
        return self._rows

    @property
    def runs(self) -> int:
        """How many runs the order holds (a measure of interleaving)."""
        return len(self._run_row)

    def pending(self) -> int:
        """Source lines not merged yet."""
        return sum(self._available(s) - self._heads[s] for s in range(len(self.sources)))

    def _available(self, source: int) -> int:
        return len(self.sources[source]) - self.shift[source]

    def _key(self, source: int, local: int) -> Key:
        return (self._stamps[source].stamp(local + self.shift[source]), source)

    # ------------------------------------------------------------------ reading

    def _locate(self, row: int) -> tuple[int, int]:
        """(source, actual line) of merged ``row``."""
        with self._lock:
            if not 0 <= row < self._rows:
                raise IndexError(row)
            at = bisect_right(self._run_row, row) - 1
            ref, first = self._run_ref[at], self._run_row[at]
            source = ref >> SOURCE_BITS
            return source, (ref & LINE_MASK) + row - first + self.shift[source]

    def line(self, number: int) -> str:
        """The merged line ``number`` with its file label."""
        source, line = self._locate(number)
        return f"{self.labels[source]} │ {self.sources[source].line(line)}"

    def lines(self, start: int, stop: int, *, labelled: bool = True) -> list[str]:
        """Merged lines ``start``..``stop-1``, read a run at a time (labels optional)."""
        found: list[str] = []
        row, stop = max(start, 0), min(stop, self._rows)
        while row < stop:
            with self._lock:
                at = bisect_right(self._run_row, row) - 1
                ref, first = self._run_ref[at], self._run_row[at]
                end = self._run_row[at + 1] if at + 1 < len(self._run_row) else self._rows
            source = ref >> SOURCE_BITS
            line = (ref & LINE_MASK) + row - first + self.shift[source]
            count = min(end, stop) - row
            texts = self.sources[source].lines(line, line + count)
            if labelled:
                texts = [f"{self.labels[source]} │ {text}" for text in texts]
            found.extend(texts)
            row += count
        return found

    def where(self, row: int) -> tuple[int, int]:
        """(source, actual line number) of ``row``; for keeping a position across rebuilds."""
        return self._locate(row)

    def row_of(self, source: int, line: int) -> int:
        """The row of ``source``'s actual ``line``, or of the first line after it in time."""
        target = (*self._key(source, line - self.shift[source]), line)
        low, high = 0, self._rows
        while low < high:
            middle = (low + high) // 2
            there, number = self._locate(middle)
            probe = (*self._key(there, number - self.shift[there]), number)
            if probe < target:
                low = middle + 1
            else:
                high = middle
        return min(low, max(self._rows - 1, 0))

    # ------------------------------------------------------------------ building

    def _run_last_key(self, at: int) -> Key:
        ref = self._run_ref[at]
        end = self._run_row[at + 1] if at + 1 < len(self._run_row) else self._rows
        source = ref >> SOURCE_BITS
        return self._key(source, (ref & LINE_MASK) + end - self._run_row[at] - 1)

    def _keep_upto(self, heads: list[int]) -> int:
        """How many runs stay: those not newer than the oldest line still to merge."""
        keep = len(self._run_row)
        for source, head in enumerate(heads):
            if head >= self._available(source) or keep == 0:
                continue
            oldest = self._key(source, head)
            while keep and self._run_last_key(keep - 1) > oldest:
                keep -= 1
        return keep

    def _gallop(self, source: int, low: int, high: int, bound: Key) -> int:
        """First local line in (low, high] whose key is not below ``bound`` (high if none)."""
        step, before, probe = 1, low, low + 1
        while probe < high and self._key(source, probe) < bound:
            before, step = probe, step * 2
            probe = low + step
        top = min(probe, high)
        while top - before > 1:
            middle = (before + top) // 2
            if self._key(source, middle) < bound:
                before = middle
            else:
                top = middle
        return top

    def _next_run(self, heads: list[int], ends: list[int]) -> tuple[int, int] | None:
        """(source, line count) of the next run, or None when every source is merged."""
        live = [(self._key(s, heads[s]), s) for s in range(len(heads)) if heads[s] < ends[s]]
        if not live:
            return None
        live.sort()
        source = live[0][1]
        if len(live) == 1:
            return source, ends[source] - heads[source]
        stop = self._gallop(source, heads[source], ends[source], live[1][0])
        return source, stop - heads[source]

    def extend(self, budget: int | None = None) -> int | None:
        """Merge lines the sources gained (about ``budget`` at most).

        Returns the first row that changed (rows before it are untouched), or None when
        nothing changed.
        """
        heads = list(self._heads)
        keep = self._keep_upto(heads)
        for at in range(keep, len(self._run_row)):
            ref = self._run_ref[at]
            heads[ref >> SOURCE_BITS] = min(heads[ref >> SOURCE_BITS], ref & LINE_MASK)
        ends = [self._available(s) for s in range(len(self.sources))]
        row = self._run_row[keep] if keep < len(self._run_row) else self._rows
        changed = row
        rows, refs = array("Q"), array("Q")
        last = self._run_ref[keep - 1] >> SOURCE_BITS if keep else -1
        merged = 0
        while budget is None or merged < budget:
            step = self._next_run(heads, ends)
            if step is None:
                break
            source, count = step
            if source != last or rows or keep == 0:
                rows.append(row)
                refs.append(source << SOURCE_BITS | heads[source])
            last = source
            heads[source] += count
            row += count
            merged += count
        if row == changed and keep == len(self._run_row):
            return None
        with self._lock:
            del self._run_row[keep:], self._run_ref[keep:]
            self._run_row.extend(rows)
            self._run_ref.extend(refs)
            self._rows, self._heads = row, heads
        return changed

    def drop_from(self, source: int, line: int) -> int | None:
        """``source`` lost its lines from actual ``line`` on (truncated): remove them.

        Returns the first row that changed, or None when no merged row was affected.
        """
        self._stamps[source].forget()
        local = line - self.shift[source]
        if self._heads[source] <= local:
            return None
        first = self._first_run_at_or_after(source, local)
        rows, refs = array("Q"), array("Q")
        row = self._run_row[first]
        changed: int | None = None
        for at in range(first, len(self._run_row)):
            ref = self._run_ref[at]
            end = self._run_row[at + 1] if at + 1 < len(self._run_row) else self._rows
            start = ref & LINE_MASK
            count = end - self._run_row[at]
            if ref >> SOURCE_BITS == source and start + count > local:
                if changed is None:
                    changed = self._run_row[at] + max(0, local - start)
                count = max(0, local - start)
            if not count:
                continue
            if refs and refs[-1] >> SOURCE_BITS == ref >> SOURCE_BITS:
                row += count  # runs of one source met again: one run
                continue
            rows.append(row)
            refs.append(ref)
            row += count
        heads = list(self._heads)
        heads[source] = local
        with self._lock:
            del self._run_row[first:], self._run_ref[first:]
            self._run_row.extend(rows)
            self._run_ref.extend(refs)
            self._rows, self._heads = row, heads
        return row if changed is None else changed

    def _first_run_at_or_after(self, source: int, local: int) -> int:
        """Index of the first run holding a line of ``source`` at or after ``local``."""
        for at in range(len(self._run_row) - 1, -1, -1):
            ref = self._run_ref[at]
            if ref >> SOURCE_BITS != source:
                continue
            if ref & LINE_MASK < local:
                end = self._run_row[at + 1] if at + 1 < len(self._run_row) else self._rows
                return at if (ref & LINE_MASK) + end - self._run_row[at] > local else at + 1
        return 0

    def shift_source(self, source: int, lines: int) -> None:
        """``lines`` lines were put in front of ``source``: keep the order pointing right."""
        with self._lock:
            self.shift[source] += lines
        self._stamps[source].forget()
