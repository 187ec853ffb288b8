"""Pacemaker's and Corosync's log files as the console's log records and history.

Line formats (Pacemaker 2.1 ``PCMK_logfile``, corosync ``logging { to_logfile }`` with
``timestamp: hires`` or on)::

    Dec 06 21:38:15.966 alpha pacemaker-controld  [27655] (peer_update_callback) \
        warning: Stonith/shutdown of node bravo was not expected
    Dec 06 21:38:12.814 [27141] alpha corosync info    [KNET  ] link: host: 2 link: 0 is down
    Dec 06 21:36:53  IPaddr2(web-ip)[2344]:    INFO: Bringing device eth0 up

Parsing is pure (:func:`parse_line`, :func:`history_entries`); :class:`LogTail` follows a
file by name across rotation with ``hatui.logs.follow.Follower``. A line that matches
neither format is passed on as it is (level ``info``), never dropped or interpreted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hatui.logs.follow import Follower
from hatui.logs.parse import level_rank, parse_stamp

logger = logging.getLogger(__name__)

PACEMAKER_LOG = Path("/var/log/pacemaker/pacemaker.log")
"""Where Pacemaker logs by default (Debian's ``PCMK_logfile``)."""
COROSYNC_LOG = Path("/var/log/corosync/corosync.log")
"""Debian's corosync.conf default; the node's cmap ``logging.logfile`` wins."""

TAIL_BYTES = 512 * 1024
"""How much of each file's end is read on attach (the history shown)."""

_STAMP = r"(?P<stamp>[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d(?:\.\d+)?)"
_PACEMAKER = re.compile(
    _STAMP + r" (?P<host>\S+) +(?P<daemon>[\w-]+) *\[(?P<pid>\d+)\] (?:\((?P<func>[^)]*)\))?"
    r"\s*(?P<level>[a-z]+): (?P<text>.*)$"
)
_COROSYNC = re.compile(
    _STAMP + r" \[(?P<pid>\d+)\] (?P<host>\S+) (?P<daemon>corosync) (?P<level>[a-z]+) +"
    r"\[(?P<subsys>[A-Z]+) *\] (?P<text>.*)$"
)
_AGENT = re.compile(
    _STAMP + r"\s+(?P<daemon>[^\s\[]+)\[(?P<pid>\d+)\]:\s+(?P<level>[A-Za-z]+): (?P<text>.*)$"
)
"""A resource agent's ``ocf_log`` line in Pacemaker's log (``IPaddr2(web-ip)[2344]:``)."""
_LEVEL_WORDS = {"warning": "WARN", "err": "ERROR", "error": "ERROR", "crit": "CRIT"}


@dataclass(frozen=True, slots=True)
class LogLine:
    """One parsed line: when, how loud, which daemon, what it said."""

    time: float | None
    level: str
    """Upper case, as the console's log panel colours it (``NOTICE``, ``WARN``…)."""
    daemon: str
    text: str

    def record(self) -> dict[str, Any]:
        """The engine's log record shape (``{"time", "level", "text"}``)."""
        return {"time": self.time, "level": self.level, "text": f"{self.daemon}: {self.text}"}


def parse_line(line: str, year: int | None = None) -> LogLine:
    """Read a Pacemaker or Corosync log line (anything else: level INFO, text as is)."""
    line = line.rstrip("\n")
    match = _PACEMAKER.match(line) or _AGENT.match(line)
    if match:
        text, daemon = match.group("text"), match.group("daemon")
    else:
        match = _COROSYNC.match(line)
        if match is None:
            return LogLine(parse_stamp(line, year), "INFO", "log", line)
        text, daemon = match.group("text"), f"corosync [{match.group('subsys')}]"
    word = match.group("level").lower()
    level = _LEVEL_WORDS.get(word, word.upper())
    return LogLine(parse_stamp(match.group("stamp"), year), level, daemon, text.strip())


def loud_enough(line: LogLine, min_level: str) -> bool:
    """True when ``line`` is at ``min_level`` or louder (NOTICE passes WARN, ERROR…)."""
    return level_rank(line.level) <= level_rank(min_level)


_NODE_STATE = re.compile(r"Node (\S+) state is now (lost|member)")


def history_entries(lines: Iterable[LogLine], before: float) -> list[dict[str, Any]]:
    """Deaths and joins from the log lines written before the console attached.

    pacemaker-controld's peer state lines are used (every daemon logs them; one is
    enough, and controld repeats a loss when it reaps the node: repeats are dropped).
    Fencing and failed actions come from crm_mon's own history instead; after attach
    the poll diffs take over.
    """
    found: list[dict[str, Any]] = []
    last: dict[str, str] = {}
    for line in lines:
        state = _NODE_STATE.search(line.text)
        if line.time is None or line.time >= before or not state:
            continue
        if line.daemon != "pacemaker-controld":
            continue
        node, word = state.groups()
        kind = "death" if word == "lost" else "join"
        if last.get(node) == kind:
            continue
        last[node] = kind
        reason = (
            "left the cluster: lost from the corosync membership (log)"
            if kind == "death"
            else "joined the cluster (log)"
        )
        found.append({"time": line.time, "kind": kind, "node": node, "group": "", "reason": reason})
    return found


class LogTail:
    """One log file followed by name: its recent end on attach, then what is appended."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._follower: Follower | None = None
        self._read = 0

    def _open(self) -> bool:
        if self._follower is not None:
            return True
        try:
            self._follower = Follower(self.path)
        except OSError as exc:
            logger.debug("log %s not readable yet: %s", self.path, exc)
            return False
        self._follower.index.start_at_tail(TAIL_BYTES)
        self._read = 0
        return True

    def read(self) -> list[LogLine]:
        """Lines not returned before (every level; the caller filters)."""
        if not self._open():
            return []
        assert self._follower is not None
        event = self._follower.poll()
        start = min(self._read, event.kept)
        lines = self._follower.lines(start, len(self._follower))
        self._read = len(self._follower)
        return [parse_line(text) for text in lines if text.strip()]

    def close(self) -> None:
        """Release the file."""
        if self._follower is not None:
            self._follower.close()
            self._follower = None
