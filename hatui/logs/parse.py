"""What a Heartbeat log line says: time, level, node, link, resource, timeline event.

The lines the engine and Heartbeat 3.0.6 write (spec §10.1), all understood:

* syslog form (``syslogmsgfmt`` on, the default): ``Nov 25 13:05:33 alpha heartbeat:
  [13783]: info: ...``; our debugfile adds milliseconds (``13:05:33.123``);
* classic form (``syslogmsgfmt off``): ``heartbeat[13783]: 2026/11/25_13:05:33 info:``,
  the stamp after the ``ident[pid]:`` prefix;
* the scripts' ``ha_log`` lines: ``2026/11/25_13:05:44\t ResourceManager(default)[14796]:
  info: ...`` in the log file and ``ResourceManager(default)[14796]:\t2026/11/25_13:05:44
  \tinfo: ...`` in the debug file.

Syslog stamps carry no year; the caller passes one.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
)}  # fmt: skip
_SYSLOG = re.compile(r"([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d)(\.\d{1,6})?")
_SLASHED = re.compile(r"(\d{4})/(\d\d)/(\d\d)_(\d\d):(\d\d):(\d\d)(\.\d{1,6})?")
_PREFIX = re.compile(r"[\w./@+-]+(?:\([^)\s]*\))?\[\d+\]:[ \t]*")
"""``heartbeat[13783]: ``, ``ResourceManager(default)[14796]:\t`` or an OCF agent's
``/usr/lib/ocf/resource.d//heartbeat/IPaddr2(IPaddr2_10.99.0.10)[23631]:\t`` before a
stamp."""
_LEVEL = re.compile(r"\b(EMERG|ALERT|CRIT|ERROR|WARNING|WARN|notice|NOTICE|info|INFO|debug|DEBUG):")
"""Heartbeat's priority words, and the upper-case ones OCF agents' ``ocf_log`` writes."""
_HOST = re.compile(r"^\S+ +\d+ [\d:.]+ (\S+) ")
_LINK = re.compile(r"[Ll]ink (\S+?):(\S+?)[ .]")
_NODE = re.compile(r"[Nn]ode \[?([a-z0-9_][a-z0-9_.-]*?)\]?[:,. ]")
_RESOURCE = re.compile(
    r"(?:resource group:? |Running \S+/resource\.d/|Resource (?!group)|resources? (?!group))\[?"
    r"([A-Za-z0-9_:./@-]+)"
)

LEVELS = ("CRIT", "ERROR", "WARN", "notice", "info", "debug")


def level_rank(word: str) -> int:
    """Severity rank of a level word in any case or length (``WARNING``, ``err``...)."""
    upper = word.upper()
    for prefix, rank in (("EMERG", 0), ("ALERT", 0), ("CRIT", 0), ("ERR", 1), ("WARN", 2),
                         ("NOTICE", 3), ("INFO", 4)):  # fmt: skip
        if upper.startswith(prefix):
            return rank
    return 5


class EventKind(StrEnum):
    """Timeline events one can jump to."""

    LATE = "late"
    DEATH = "death"
    TAKEOVER = "takeover"
    FENCE = "fence"


_EVENTS: tuple[tuple[EventKind, re.Pattern[str]], ...] = (
    (EventKind.LATE, re.compile(r"Late heartbeat", re.I)),
    (EventKind.DEATH, re.compile(r"is dead|[Ll]ink \S+ dead")),
    (EventKind.TAKEOVER, re.compile(r"[Tt]aking over|takeover complete|Acquiring resource")),
    (EventKind.FENCE, re.compile(r"STONITH|Resetting node|now reset|[Mm]eatware")),
)


@dataclass(frozen=True, slots=True)
class LineInfo:
    """The fields of one line (empty strings when absent)."""

    stamp: float | None
    level: str
    host: str
    node: str
    link: str
    resource: str
    event: EventKind | None


def parse_stamp(text: str, year: int | None = None) -> float | None:
    """Epoch seconds of the timestamp that starts ``text`` (local time), or None.

    Merging gigabytes parses millions of stamps that share a few thousand whole seconds:
    the whole-second value is memoised by its text, so a repeat costs a dict lookup.
    """
    memo = _MEMO.get(year)
    if memo is None:
        memo = _MEMO[year] = {}
    stamp = _stamp_at_start(text, year, memo)
    if stamp is None:
        prefix = _PREFIX.match(text)
        if prefix is not None:
            stamp = _stamp_at_start(text[prefix.end() :], year, memo)
    return stamp


def _stamp_at_start(text: str, year: int | None, memo: dict[str, float]) -> float | None:
    for width in (15, 19):
        base = memo.get(text[:width])
        if base is not None:
            return base + _fraction(text, width)
    return _parse_stamp(text, year, memo)


_MEMO: dict[int | None, dict[str, float]] = {}
_MEMO_SIZE = 100_000
_FRACTION = re.compile(r"\.\d{1,6}")


def _fraction(text: str, at: int) -> float:
    if text[at : at + 1] != ".":
        return 0.0
    match = _FRACTION.match(text, at)
    return float(match.group(0)) if match else 0.0


def _parse_stamp(text: str, year: int | None, memo: dict[str, float]) -> float | None:
    match = _SYSLOG.match(text)
    if match:
        month = MONTHS.get(match.group(1))
        if month is None:
            return None
        end = match.end(5)
        when = (year or time.localtime().tm_year, month, int(match.group(2)),
                int(match.group(3)), int(match.group(4)), int(match.group(5)))  # fmt: skip
    else:
        match = _SLASHED.match(text)
        if match is None:
            return None
        end = match.end(6)
        when = tuple(int(match.group(i)) for i in range(1, 7))  # type: ignore[assignment]
    try:
        base = datetime(*when).timestamp()
    except ValueError:
        return None
    if end in (15, 19):
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        memo[text[:end]] = base
    return base + _fraction(text, end)


def level_of(text: str) -> str:
    """The priority word (``WARN``, ``info``...) or "" when none is found."""
    match = _LEVEL.search(text)
    return match.group(1) if match else ""


def event_of(text: str) -> EventKind | None:
    """The timeline event a line reports, if any."""
    for kind, pattern in _EVENTS:
        if pattern.search(text):
            return kind
    return None


def parse_line(text: str, year: int | None = None) -> LineInfo:
    """Every field at once (for filters and the detail line)."""
    host = _HOST.match(text)
    link = _LINK.search(text)
    node = _NODE.search(text)
    resource = _RESOURCE.search(text)
    return LineInfo(
        stamp=parse_stamp(text, year),
        level=level_of(text),
        host=host.group(1) if host else "",
        node=(link.group(1) if link else node.group(1) if node else ""),
        link=link.group(2) if link else "",
        resource=resource.group(1) if resource else "",
        event=event_of(text),
    )


@dataclass(frozen=True, slots=True)
class LineFilter:
    """What the viewer shows: a minimum level and substring matches on fields."""

    max_rank: int = 5
    """Show lines whose level rank is at most this (5 = everything)."""
    node: str = ""
    link: str = ""
    resource: str = ""
    text: str = ""

    @property
    def active(self) -> bool:
        """False when every line passes."""
        return bool(self.max_rank < 5 or self.node or self.link or self.resource or self.text)

    def matches(self, line: str, level: str | None = None) -> bool:
        """Does ``line`` pass (lines without a level pass the level test)?

        ``level`` is the line's level word when the caller knows it (the console's
        panel lines are ``HH:MM:SS LEVEL text``); otherwise it is read from the line.
        """
        if self.text and self.text.lower() not in line.lower():
            return False
        if self.max_rank < 5:
            word = level_of(line) if level is None else level
            if word and level_rank(word) > self.max_rank:
                return False
        if self.node or self.link or self.resource:
            info = parse_line(line)
            if self.node and self.node not in (info.node, info.host) and self.node not in line:
                return False
            if self.link and self.link != info.link:
                return False
            if self.resource and self.resource not in line:
                return False
        return True


def parse_filter(text: str) -> LineFilter:
    """``level:WARN node:bravo link:eth0 res:IPaddr2 free words`` → a ``LineFilter``."""
    fields: dict[str, str] = {}
    words: list[str] = []
    for word in text.split():
        key, sep, value = word.partition(":")
        if sep and key in ("level", "node", "link", "res", "resource") and value:
            fields["resource" if key == "res" else key] = value
        else:
            words.append(word)
    level = fields.pop("level", "")
    rank = level_rank(level) if level else 5
    return LineFilter(max_rank=rank, text=" ".join(words), **fields)
