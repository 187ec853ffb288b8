"""Heartbeat-style logging (spec §10.1) to logfile, debugfile, syslog and the console.

``logfile`` gets every priority but debug, in Heartbeat's exact format: syslog-like
(``Nov 25 13:05:33 alpha heartbeat: [13783]: info: Link bravo:eth0 up.``), or with
``syslogmsgfmt false`` ``heartbeat[13783]: 2026/11/25_13:05:33 info: ...``. ``debugfile``
gets everything in the same format, with millisecond timestamps (our addition: ordering
of resource steps and failover timings must be readable from the log). A ring buffer and
a listener hook feed the control socket's ``log`` topic.

Rules of this module: the loop never writes a log file, syslog or stderr itself. Those
handlers run in one writer thread behind a bounded queue (``logging``'s QueueHandler and
QueueListener): a log file on a slow disk or NFS, a stalled syslog daemon or a storm of
lines costs the loop a few microseconds a line, never a late heartbeat. When the queue
is full, lines are dropped and counted, and the first line after says how many. The
ring buffer (console clients) stays on the loop: it only appends to memory.
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import os
import queue
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from engine.config.model import LogConfig
from engine.hblog import LOGGER_NAME, PRIORITY_WORDS

QUEUE_LINES = 100_000
"""Log records waiting for the writer thread before new ones are dropped."""

_FACILITY_NAMES = (
    *("auth", "authpriv", "cron", "daemon", "ftp", "kern", "lpr", "mail", "news"),
    *("syslog", "user", "uucp"),
    *(f"local{i}" for i in range(8)),
)
FACILITIES = {
    name: getattr(logging.handlers.SysLogHandler, f"LOG_{name.upper()}") for name in _FACILITY_NAMES
}


def priority_word(levelno: int) -> str:
    """Heartbeat's priority word for a logging level."""
    for level in sorted(PRIORITY_WORDS, reverse=True):
        if levelno >= level:
            return PRIORITY_WORDS[level]
    return "debug"


class HeartbeatFormatter(logging.Formatter):
    """Heartbeat's log-file lines (spec §10.1), as ``syslogmsgfmt`` chooses:

    * true (the default): ``<Mon DD HH:MM:SS> <host> heartbeat: [<pid>]: <prio>: <text>``
    * false: ``heartbeat[<pid>]: YYYY/MM/DD_HH:MM:SS <prio>: <text>``

    ``precise`` adds milliseconds to the time (our debugfile).
    """

    def __init__(self, host: str, precise: bool = False, syslog_format: bool = True) -> None:
        super().__init__()
        self.host = host
        self.precise = precise
        self.syslog_format = syslog_format

    def format(self, record: logging.LogRecord) -> str:
        """Render one record."""
        local = time.localtime(record.created)
        millis = f".{int(record.msecs):03d}" if self.precise else ""
        said = f"{priority_word(record.levelno)}: {record.getMessage()}"
        if self.syslog_format:
            stamp = time.strftime("%b %d %H:%M:%S", local)
            line = f"{stamp}{millis} {self.host} heartbeat: [{record.process}]: {said}"
        else:
            stamp = time.strftime("%Y/%m/%d_%H:%M:%S", local)
            line = f"heartbeat[{record.process}]: {stamp}{millis} {said}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class SyslogFormatter(logging.Formatter):
    """``[<pid>]: <prio>: <text>`` with ident ``heartbeat``."""

    def format(self, record: logging.LogRecord) -> str:
        """Render one record for syslog."""
        return (
            f"heartbeat: [{record.process}]: {priority_word(record.levelno)}: {record.getMessage()}"
        )


LogListener = Callable[[dict[str, Any]], None]


class RingHandler(logging.Handler):
    """Keeps the last lines for new console clients and forwards each line live."""

    def __init__(self, size: int = 500) -> None:
        super().__init__(logging.DEBUG)
        self.lines: deque[dict[str, Any]] = deque(maxlen=size)
        self.listener: LogListener | None = None

    def emit(self, record: logging.LogRecord) -> None:
        """Store and forward one record."""
        entry = {
            "time": record.created,
            "level": priority_word(record.levelno),
            "text": record.getMessage(),
        }
        self.lines.append(entry)
        if self.listener is not None:
            try:
                self.listener(entry)
            except Exception:  # a broken listener must never break logging
                self.listener = None


def _file_handler(path: str, level: int, formatter: HeartbeatFormatter) -> logging.Handler | None:
    if not path or path == "/dev/null":
        return None
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    handler = logging.handlers.WatchedFileHandler(path)
    handler.setLevel(level)
    handler.setFormatter(formatter)
    return handler


def _syslog_handler(facility: str) -> logging.Handler | None:
    if not facility or facility == "none" or facility not in FACILITIES:
        return None
    if not os.path.exists("/dev/log"):
        return None
    handler = logging.handlers.SysLogHandler(address="/dev/log", facility=FACILITIES[facility])
    handler.setLevel(logging.INFO)
    handler.setFormatter(SyslogFormatter())
    return handler


class _QueueToWriter(logging.handlers.QueueHandler):
    """Hands records to the writer thread; counts (never blocks on) a full queue."""

    def __init__(self, lines: queue.Queue[logging.LogRecord]) -> None:
        super().__init__(lines)
        self.dropped = 0

    def enqueue(self, record: logging.LogRecord) -> None:
        """Queue a record, or drop it when the writer is behind by QUEUE_LINES."""
        try:
            if self.dropped:
                note = logging.LogRecord(
                    LOGGER_NAME, logging.WARNING, __file__, 0,
                    "%d log lines dropped: the log file or syslog did not keep up",
                    (self.dropped,), None,
                )  # fmt: skip
                self.queue.put_nowait(self.prepare(note))
                self.dropped = 0
            self.queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1


class _Writer:
    """The writer thread of the file, syslog and stderr handlers (one per process)."""

    def __init__(self) -> None:
        self.lines: queue.Queue[logging.LogRecord] = queue.Queue(QUEUE_LINES)
        self.listener: logging.handlers.QueueListener | None = None

    def start(self, handlers: list[logging.Handler]) -> _QueueToWriter:
        """Stop the previous writer (after it wrote everything), start one for ``handlers``."""
        self.stop()
        self.listener = logging.handlers.QueueListener(
            self.lines, *handlers, respect_handler_level=True
        )
        self.listener.start()
        return _QueueToWriter(self.lines)

    def follow_realtime(self) -> None:
        """Give the writer thread the realtime priority of the calling (loop) thread,
        one below it. The two share the interpreter lock: a writer preempted by ordinary
        processes while it holds the lock would hold the realtime loop too."""
        thread = getattr(self.listener, "_thread", None)
        tid = getattr(thread, "native_id", None)
        if tid is None or os.sched_getscheduler(0) != os.SCHED_FIFO:
            return
        priority = max(
            os.sched_get_priority_min(os.SCHED_FIFO), os.sched_getparam(0).sched_priority - 1
        )
        try:
            os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(priority))
        except OSError as exc:
            logging.getLogger(LOGGER_NAME).warning(
                "realtime: cannot raise the log writer thread: %s", exc.strerror
            )

    def flush(self) -> None:
        """Wait until every queued line is written."""
        if self.listener is not None:
            self.lines.join()

    def stop(self) -> None:
        """Write what is queued, then end the thread."""
        if self.listener is not None:
            self.listener.stop()
            for handler in self.listener.handlers:
                handler.close()
            self.listener = None


_WRITER = _Writer()
atexit.register(_WRITER.stop)


def logging_follows_realtime() -> None:
    """After ``realtime on`` made the loop thread SCHED_FIFO: the writer thread follows."""
    _WRITER.follow_realtime()


def flush_logging() -> None:
    """Wait until the writer thread has written every line logged so far."""
    _WRITER.flush()


def setup_logging(
    log: LogConfig, host: str, *, stderr: bool = True, debug: bool = False
) -> RingHandler:
    """Configure the ``heartbeat`` logger as ``ha.cf`` says; returns the ring buffer."""
    root = logging.getLogger(LOGGER_NAME)
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(logging.DEBUG)
    root.propagate = False
    syslog_format = log.syslogmsgfmt
    handlers: list[logging.Handler | None] = [
        _file_handler(log.logfile, logging.INFO, HeartbeatFormatter(host, False, syslog_format)),
        _file_handler(log.debugfile, logging.DEBUG, HeartbeatFormatter(host, True, syslog_format)),
        _syslog_handler(log.logfacility),
    ]
    if stderr:
        console = logging.StreamHandler(sys.stderr)
        console.setLevel(logging.DEBUG if debug or log.debug else logging.INFO)
        console.setFormatter(HeartbeatFormatter(host, precise=True))
        handlers.append(console)
    writer = _WRITER.start([h for h in handlers if h is not None])
    ring = RingHandler()
    active = [writer, ring]
    for handler in active:
        root.addHandler(handler)
    # Other engine modules log under their own names; route them to the same place.
    engine_logger = logging.getLogger("engine")
    engine_logger.handlers = list(active)
    engine_logger.setLevel(logging.DEBUG)
    engine_logger.propagate = False
    return ring
