"""engine.shell.logsetup: Heartbeat's log-file lines (spec §10.1) and which file gets what."""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.config.model import LogConfig
from engine.hblog import NOTICE, hb_log
from engine.shell import logsetup
from engine.shell.logsetup import HeartbeatFormatter, flush_logging, setup_logging

CREATED = time.mktime((2026, 11, 25, 13, 5, 33, 0, 0, -1)) + 0.25
"""Nov 25 13:05:33.250 local time."""
PID = 13783


def record(level: int, text: str) -> logging.LogRecord:
    rec = logging.LogRecord("heartbeat", level, __file__, 1, text, None, None)
    rec.created, rec.msecs, rec.process = CREATED, 250.0, PID
    return rec


@pytest.mark.parametrize(
    ("precise", "syslog_format", "expected"),
    [
        (False, True, "Nov 25 13:05:33 alpha heartbeat: [13783]: info: Link bravo:eth0 up."),
        (True, True, "Nov 25 13:05:33.250 alpha heartbeat: [13783]: info: Link bravo:eth0 up."),
        (False, False, "heartbeat[13783]: 2026/11/25_13:05:33 info: Link bravo:eth0 up."),
        (True, False, "heartbeat[13783]: 2026/11/25_13:05:33.250 info: Link bravo:eth0 up."),
    ],
)
def test_formatter_lines(precise: bool, syslog_format: bool, expected: str) -> None:
    formatter = HeartbeatFormatter("alpha", precise, syslog_format)
    assert formatter.format(record(logging.INFO, "Link bravo:eth0 up.")) == expected


@pytest.mark.parametrize(
    ("level", "word"),
    [
        (logging.CRITICAL, "CRIT"),
        (logging.ERROR, "ERROR"),
        (logging.WARNING, "WARN"),
        (NOTICE, "notice"),
        (logging.INFO, "info"),
        (logging.DEBUG, "debug"),
    ],
)
def test_formatter_priority_words(level: int, word: str) -> None:
    line = HeartbeatFormatter("alpha").format(record(level, "node bravo: is dead"))
    assert line.endswith(f"heartbeat: [{PID}]: {word}: node bravo: is dead")


@pytest.fixture
def restore_loggers() -> Iterator[None]:
    """setup_logging reconfigures process-wide loggers; put them back for other tests."""
    saved = {
        name: (lg.handlers[:], lg.level, lg.propagate)
        for name in ("heartbeat", "engine")
        for lg in [logging.getLogger(name)]
    }
    yield
    for name, (handlers, level, propagate) in saved.items():
        lg = logging.getLogger(name)
        for handler in lg.handlers:
            if handler not in handlers:
                handler.close()
        lg.handlers, lg.level, lg.propagate = handlers, level, propagate


def _log_three_lines() -> None:
    hb_log("debug", "debug: a debug line")
    hb_log("info", "Link bravo:eth0 up.")
    logging.getLogger("engine.core.policy").warning("a line from an engine module")
    flush_logging()  # the writer thread wrote them


@pytest.mark.usefixtures("restore_loggers")
def test_logfile_gets_all_but_debug_and_debugfile_gets_everything(tmp_path: Path) -> None:
    log = LogConfig(logfile=str(tmp_path / "ha-log"), debugfile=str(tmp_path / "ha-debug"))
    setup_logging(log, "alpha", stderr=False)
    _log_three_lines()
    logfile = (tmp_path / "ha-log").read_text().splitlines()
    debugfile = (tmp_path / "ha-debug").read_text().splitlines()
    stamp = r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d"
    assert [re.sub(stamp, "T", line) for line in logfile] == [
        f"T alpha heartbeat: [{os.getpid()}]: info: Link bravo:eth0 up.",
        f"T alpha heartbeat: [{os.getpid()}]: WARN: a line from an engine module",
    ]
    assert [re.sub(stamp + r"\.\d{3}", "T", line) for line in debugfile] == [
        f"T alpha heartbeat: [{os.getpid()}]: debug: debug: a debug line",
        f"T alpha heartbeat: [{os.getpid()}]: info: Link bravo:eth0 up.",
        f"T alpha heartbeat: [{os.getpid()}]: WARN: a line from an engine module",
    ]


@pytest.mark.usefixtures("restore_loggers")
def test_syslogmsgfmt_false_writes_heartbeats_other_format(tmp_path: Path) -> None:
    log = LogConfig(
        logfile=str(tmp_path / "ha-log"), debugfile=str(tmp_path / "ha-debug"), syslogmsgfmt=False
    )
    setup_logging(log, "alpha", stderr=False)
    _log_three_lines()
    stamp = r"\d{4}/\d\d/\d\d_\d\d:\d\d:\d\d"
    logfile = (tmp_path / "ha-log").read_text().splitlines()
    assert [re.sub(stamp, "T", line) for line in logfile] == [
        f"heartbeat[{os.getpid()}]: T info: Link bravo:eth0 up.",
        f"heartbeat[{os.getpid()}]: T WARN: a line from an engine module",
    ]
    debugfile = (tmp_path / "ha-debug").read_text().splitlines()
    assert re.sub(stamp + r"\.\d{3}", "T", debugfile[0]) == (
        f"heartbeat[{os.getpid()}]: T debug: debug: a debug line"
    )


@pytest.mark.usefixtures("restore_loggers")
def test_dev_null_and_absent_files_get_no_handler(tmp_path: Path) -> None:
    setup_logging(LogConfig(logfile="/dev/null"), "alpha", stderr=False)
    listener = logsetup._WRITER.listener
    assert listener is not None
    assert not [h for h in listener.handlers if isinstance(h, logging.FileHandler)]
    ring = setup_logging(LogConfig(), "alpha", stderr=False)
    hb_log("info", "still kept for the console")
    assert ring.lines[-1]["text"] == "still kept for the console"
    assert ring.lines[-1]["level"] == "info"


@pytest.mark.usefixtures("restore_loggers")
def test_files_are_written_by_a_thread_and_a_full_queue_drops_and_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop only queues a line; a writer that cannot keep up loses lines, counted."""
    import threading

    log = LogConfig(logfile=str(tmp_path / "ha-log"))
    setup_logging(log, "alpha", stderr=False)
    listener = logsetup._WRITER.listener
    assert listener is not None
    writing = threading.Event()
    release = threading.Event()
    [handler] = listener.handlers
    original = handler.handle

    def slow_handle(record: logging.LogRecord) -> bool:
        writing.set()
        release.wait(10)  # the disk hangs
        return original(record)

    monkeypatch.setattr(handler, "handle", slow_handle)
    monkeypatch.setattr(logsetup._WRITER.lines, "maxsize", 3)
    hb_log("info", "first")
    assert writing.wait(5)
    started = time.monotonic()
    for number in range(10):
        hb_log("info", f"line {number}")
    assert time.monotonic() - started < 0.5  # the loop never waited for the disk
    release.set()
    flush_logging()
    hb_log("info", "after")
    flush_logging()
    text = (tmp_path / "ha-log").read_text()
    assert "first" in text and "line 0" in text and "line 9" not in text
    assert "log lines dropped: the log file or syslog did not keep up" in text
    assert text.rstrip().endswith("info: after")


@pytest.mark.usefixtures("restore_loggers")
def test_writer_thread_follows_the_loop_into_realtime(tmp_path: Path) -> None:
    """With ``realtime on`` the writer runs SCHED_FIFO one below the loop: ordinary
    processes never preempt it while it holds the interpreter lock the loop needs."""
    setup_logging(LogConfig(logfile=str(tmp_path / "ha-log")), "alpha", stderr=False)
    listener = logsetup._WRITER.listener
    assert listener is not None
    tid = listener._thread.native_id  # type: ignore[attr-defined]
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(50))
    except PermissionError:
        pytest.skip("SCHED_FIFO needs root (or CAP_SYS_NICE)")
    try:
        logsetup.logging_follows_realtime()
        assert os.sched_getscheduler(tid) == os.SCHED_FIFO
        assert os.sched_getparam(tid).sched_priority == 49
    finally:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
