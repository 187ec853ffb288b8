"""The log watcher's model, kept off the UI thread: files, merge order and filter.

One thread (a Textual thread worker running ``LogFeed.run``) does every piece of heavy
work, in slices of a few tens of milliseconds so none of it starves the others:

1. follow: poll each file (new lines, rotation, truncation) and merge what changed;
2. open: index the heads of the files (the tails were indexed first, so the end of a
   huge file is on screen at once) and, for several files, build the full merge in the
   background while the merge of the tails is shown;
3. filter: test the lines not tested yet against the current filter.

A second thread runs watchfiles on the files' directories and only wakes the first.
The UI reads ``snapshot`` (replaced, never mutated, after each step that changed
anything) on its 10 Hz timer; the arrays a snapshot points to only grow, and its
``rows``/``shown_rows`` say how far they may be read.
"""

from __future__ import annotations

import logging
import threading
import time
from array import array
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from watchfiles import watch

from hatui.logs.follow import Change, Follower
from hatui.logs.merge import Lines, ListLines, MergedLines
from hatui.logs.parse import LineFilter

logger = logging.getLogger(__name__)

HEAD_SLICE = 32 << 20
"""Bytes of a head indexed per step (~30 ms)."""
MERGE_SLICE = 100_000
"""Lines merged per step of the background merge."""
FOLLOW_BUDGET = 2_000_000
"""Lines merged per step while following (more than a poll can bring)."""
FILTER_SLICE = 20_000
"""Lines filtered per step."""
SAFETY_POLL_S = 1.0
"""Poll the files at least this often, even when watchfiles says nothing."""

Remap = Callable[[int], int]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the UI shows: the source, the filtered rows, progress."""

    version: int
    source: Lines
    rows: int
    shown: array[int] | None
    """Rows that pass the filter (None: no filter)."""
    shown_rows: int
    note: str
    complete: bool
    """Every file fully indexed (and merged)."""
    remaps: tuple[tuple[int, Remap], ...] = ()
    """Recent renumberings (version, where an old row is now): a viewer that last saw
    version v applies, in order, those with a later version to its position."""


class LogFeed:
    """Follows ``paths`` and keeps the rows the viewer shows; ``run`` is its thread."""

    def __init__(self, paths: Sequence[Path], *, follow: bool = True) -> None:
        """Open the files (raises OSError when one cannot be opened); nothing is read yet."""
        self.paths = list(paths)
        self.followers = [Follower(path) for path in self.paths]
        self.follow = follow
        self.merged = len(self.followers) > 1
        labels = [path.name for path in self.paths]
        self.display: Lines = (
            MergedLines(self.followers, labels) if self.merged else self.followers[0]
        )
        self._building: MergedLines | None = None
        self._labels = labels
        self.filter = LineFilter()
        self._wanted: LineFilter | None = None
        self._shown: array[int] | None = None
        self._filtered = 0
        self._version = 0
        self._remaps: list[tuple[int, Remap]] = []
        self._dirty = False
        """Something the UI shows changed without rows changing (filter, progress)."""
        self.changes: list[Change] = []
        self.opened_at = time.monotonic()
        self.indexed_at: float | None = None
        self.complete_at: float | None = None
        self.snapshot = Snapshot(0, ListLines([]), 0, None, 0, "opening…", False)
        self._wake = threading.Event()
        self._stop = threading.Event()

    # ------------------------------------------------------------------ control

    def stop(self) -> None:
        """End ``run`` and ``watch_files`` (from any thread)."""
        self._stop.set()
        self._wake.set()

    def set_filter(self, wanted: LineFilter) -> None:
        """Filter from now on by ``wanted`` (from the UI thread)."""
        self._wanted = wanted
        self._wake.set()

    def wake(self) -> None:
        """Poll the files now."""
        self._wake.set()

    # ------------------------------------------------------------------ threads

    def watch_files(self) -> None:
        """Wake the feed whenever watchfiles sees one of the files' directories change."""
        names = {path.name for path in self.paths}
        folders = sorted({str(path.parent) for path in self.paths})

        def relevant(_change: object, path: str) -> bool:
            return Path(path).name in names

        for _changes in watch(
            *folders,
            watch_filter=relevant,
            stop_event=self._stop,
            debounce=50,
            step=20,
            rust_timeout=int(SAFETY_POLL_S * 1000),
            yield_on_timeout=True,
            raise_interrupt=False,
        ):
            self._wake.set()

    def open(self) -> None:
        """Index the end of each file (and merge those ends): the first screen."""
        for follower in self.followers:
            follower.index.start_at_tail()
        if isinstance(self.display, MergedLines):
            self.display.extend()
        self._publish()

    def run(self) -> None:
        """``open``, then loop over the steps until ``stop``; closes the files."""
        try:
            self.open()
            while not self._stop.is_set():
                if not self.step():
                    self._wake.wait(SAFETY_POLL_S)
                    self._wake.clear()
        finally:
            for follower in self.followers:
                follower.close()

    def step(self) -> bool:
        """One slice of each kind of work; True when more work is waiting."""
        changed: int | None = None
        more = False
        if self._wanted is not None:
            self._new_filter(self._wanted)
        if self.follow:
            followed, more = self._poll()
            changed = _lowest(changed, followed)
        opening = self._open_step()
        if opening:
            more = True
        if changed is not None:
            self._rows_changed(changed)
        filtering = self._filter_step()
        if changed is not None or opening or filtering or self._dirty:
            self._publish()
        return more or opening or filtering

    # ------------------------------------------------------------------ follow

    def _poll(self) -> tuple[int | None, bool]:
        """Poll every file; the first row that changed, and whether more is waiting."""
        changed: int | None = None
        more = False
        for number, follower in enumerate(self.followers):
            event = follower.poll()
            if event.change is Change.NONE:
                continue
            self.changes.append(event.change)
            del self.changes[:-100]
            more = more or event.more
            if isinstance(self.display, MergedLines):
                if event.change is Change.TRUNCATED:
                    changed = _lowest(changed, self.display.drop_from(number, event.kept))
                    if self._building is not None:
                        self._building.drop_from(number, event.kept)
            else:
                changed = _lowest(changed, event.kept)
        if isinstance(self.display, MergedLines):
            changed = _lowest(changed, self.display.extend(FOLLOW_BUDGET))
            more = more or self.display.pending() > 0
        return changed, more

    # ------------------------------------------------------------------ open

    def _open_step(self) -> bool:
        """Index a slice of a head, or merge a slice in the background; True if busy."""
        for number, follower in enumerate(self.followers):
            if follower.index.complete:
                continue
            spliced = follower.index.scan_head(HEAD_SLICE)
            if spliced is not None:
                self._head_spliced(number, spliced)
            return True
        if self.indexed_at is None:
            self.indexed_at = time.monotonic()
        if isinstance(self.display, MergedLines) and self.complete_at is None:
            return self._build_step()
        if self.complete_at is None:
            self.complete_at = time.monotonic()
            self._dirty = True
        return False

    def _head_spliced(self, number: int, lines: int) -> None:
        """File ``number`` grew ``lines`` lines in front: renumber what depends on it."""
        if isinstance(self.display, MergedLines):
            self.display.shift_source(number, lines)
            return
        self._renumbered(lambda row: row + lines)

    def _build_step(self) -> bool:
        """Merge a slice of every file from its start; swap it in once caught up."""
        assert isinstance(self.display, MergedLines)
        if self._building is None:
            self._building = MergedLines(self.followers, self._labels)
        building = self._building
        building.extend(MERGE_SLICE)
        if building.pending():
            return True
        old = self.display
        self.display, self._building = building, None
        self._renumbered(lambda row: _same_line(old, building, row))
        self.complete_at = time.monotonic()
        return False

    def _renumbered(self, remap: Remap) -> None:
        """Every row may have moved: tell the viewer how, and filter from scratch."""
        self._remaps.append((self._version + 1, remap))
        del self._remaps[:-16]
        self._reset_filter()

    # ------------------------------------------------------------------ filter

    def _new_filter(self, wanted: LineFilter) -> None:
        self._wanted = None
        self.filter = wanted
        self._reset_filter()

    def _reset_filter(self) -> None:
        self._shown = array("Q") if self.filter.active else None
        self._filtered = 0
        self._dirty = True

    def _rows_changed(self, row: int) -> None:
        """Rows from ``row`` on are new or different: filter them again."""
        if self._shown is not None and row < self._filtered:
            keep = bisect_left(self._shown, row)
            self._shown = self._shown[:keep]
            self._filtered = row

    def _filter_step(self) -> bool:
        """Filter up to ``FILTER_SLICE`` lines not tested yet; True if more are waiting."""
        if self._shown is None:
            return False
        total = len(self.display)
        start = self._filtered
        if start >= total:
            return False
        stop = min(total, start + FILTER_SLICE)
        wanted = self.filter
        display = self.display
        texts = (
            display.lines(start, stop, labelled=False)
            if isinstance(display, MergedLines)
            else display.lines(start, stop)
        )
        self._shown.extend(row for row, text in enumerate(texts, start) if wanted.matches(text))
        self._filtered = start + len(texts)
        return self._filtered < total

    # ------------------------------------------------------------------ publish

    def _note(self) -> str:
        pending = [f for f in self.followers if not f.index.complete]
        if pending:
            done = sum(f.index.head_progress() for f in pending) / len(pending)
            return f"indexing… {done:.0%} (showing the end)"
        if self._building is not None:
            total = sum(len(f) for f in self.followers) or 1
            return f"merging… {len(self._building) / total:.0%} (showing the ends)"
        if self._shown is not None and self._filtered < len(self.display):
            return f"filtering… {self._filtered / max(len(self.display), 1):.0%}"
        return ""

    def _publish(self) -> None:
        self._version += 1
        shown = self._shown
        self.snapshot = Snapshot(
            version=self._version,
            source=self.display,
            rows=len(self.display),
            shown=shown,
            shown_rows=len(shown) if shown is not None else 0,
            note=self._note(),
            complete=self.complete_at is not None,
            remaps=tuple(self._remaps),
        )
        self._dirty = False


def _lowest(first: int | None, second: int | None) -> int | None:
    if first is None:
        return second
    return first if second is None else min(first, second)


def _same_line(old: MergedLines, new: MergedLines, row: int) -> int:
    """The row of ``new`` showing what ``row`` of ``old`` showed."""
    if not len(old) or not len(new):
        return 0
    source, line = old.where(min(row, len(old) - 1))
    return new.row_of(source, line)
