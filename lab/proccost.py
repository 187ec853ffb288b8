"""CPU time and memory of processes, for the idle-cost benchmarks.

CPU comes from the scheduler's ``se.sum_exec_runtime`` of every thread
(``/proc/PID/task/*/sched``, microsecond resolution) when the kernel exports it, else
from ``utime + stime`` in clock ticks (10 ms: an idle engine uses a handful of ticks
in a 20 s window, too coarse to compare two daemons).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _sched_seconds(pid: int) -> float | None:
    """Run time of every thread of ``pid`` from sched stats, or None when unavailable."""
    total = 0.0
    found = False
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return 0.0  # the process is gone: it uses nothing any more
    for task in tasks:
        try:
            text = (task / "sched").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("se.sum_exec_runtime"):
                total += float(line.split(":", 1)[1]) / 1000.0
                found = True
                break
    return total if found else None


def _tick_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def cpu_seconds(pids: Sequence[int]) -> float:
    """CPU time used so far by ``pids`` (all threads), in seconds."""
    total = 0.0
    for pid in pids:
        sched = _sched_seconds(pid)
        total += _tick_seconds(pid) if sched is None else sched
    return total


def _kib_field_mb(pids: Sequence[int], file: str, key: str) -> float:
    """``key:`` (a value in kB) of ``/proc/PID/FILE`` summed over ``pids``, in MB
    (vanished pids count 0)."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
                if line.startswith(f"{key}:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def rss_mb(pids: Sequence[int]) -> float:
    """VmRSS summed over ``pids``, in MB (vanished pids count 0)."""
    return _kib_field_mb(pids, "status", "VmRSS")


def pss_mb(pids: Sequence[int]) -> float:
    """Pss summed over ``pids``, in MB: shared pages are divided among the processes that
    map them, so a multi-process daemon is not counted several times for the libraries
    its processes share (vanished pids count 0)."""
    return _kib_field_mb(pids, "smaps_rollup", "Pss")
