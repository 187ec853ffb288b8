"""``realtime on``: SCHED_FIFO and locked memory, so load cannot delay heartbeats.

Heartbeat's MCP runs SCHED_FIFO with ``mlockall`` (spec §2.4 ``realtime``/``rtprio``).
Our loop sleeps between events, so a realtime priority only makes it run first when it
has work, never spin. Children (resource scripts) are put back to normal scheduling by
``engine.process.runner``. Failures are logged, not fatal (containers often forbid both).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os

logger = logging.getLogger("heartbeat")

MCL_CURRENT = 1
MCL_FUTURE = 2


def default_priority() -> int:
    """Mid-range SCHED_FIFO priority, as Heartbeat picks when ``rtprio`` is unset."""
    low = os.sched_get_priority_min(os.SCHED_FIFO)
    high = os.sched_get_priority_max(os.SCHED_FIFO)
    return (low + high) // 2


def make_realtime(priority: int = 0, *, lock_memory: bool | None = None) -> list[str]:
    """Raise scheduling priority (and lock memory if asked); returns what failed.

    ``mlockall`` is opt-in (``HATUI_MLOCKALL=1``): it faults in every mapped page of the
    interpreter and its libraries (RSS 30 → 48 MB) for protection against swapping that
    a cluster node should not be doing anyway.
    """
    if lock_memory is None:
        lock_memory = os.environ.get("HATUI_MLOCKALL") == "1"
    problems: list[str] = []
    prio = priority or default_priority()
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(prio))
        logger.info("Set realtime priority: SCHED_FIFO %d", prio)
    except OSError as exc:
        problems.append(f"cannot set SCHED_FIFO priority {prio}: {exc.strerror}")
    libc_name = ctypes.util.find_library("c") if lock_memory else None
    if libc_name:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        if libc.mlockall(MCL_CURRENT | MCL_FUTURE) != 0:
            err = ctypes.get_errno()
            problems.append(f"mlockall failed: {os.strerror(err)} (memlock limit?)")
        else:
            logger.info("locked all memory (mlockall)")
    for problem in problems:
        logger.warning("realtime: %s", problem)
    return problems


def quiet_garbage_collector() -> None:
    """Freeze start-up objects and collect young garbage less often.

    A full collection walks every object; freezing what exists after start-up keeps the
    collections the heartbeat loop pays for small and short.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(5000, 20, 50)
