"""Faults on demand beyond netns.py: freezes, per-direction netem, CPU starvation, skew.

Every fault is a context manager that undoes itself, so a failing scenario never leaves
a node frozen or shaped. Faults the machine cannot do raise ``LabUnsupported`` with the
reason (tests turn that into ``pytest.skip``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

from lab.netns import Lab, LabUnsupported, kill_namespace_processes, run
from lab.shaping import Shaping, shaped

logger = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
FAKETIME_LIBS = (
    Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"),
    Path("/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1"),
    Path("/usr/lib/faketime/libfaketime.so.1"),
)


# ----------------------------------------------------------------- netem per direction


@contextlib.contextmanager
def netem(
    lab: Lab, node: str, ifname: str, spec: str, direction: str = "egress"
) -> Iterator[Shaping]:
    """Shape one direction of ``node``'s ``ifname`` with netem (loss/delay/reorder/...).

    ``egress`` shapes what the node sends; ``ingress`` what it receives (the netem qdisc
    on the switch-side veth, or the emulator on the node's input hook); ``both`` does
    both. Uses the netem qdisc when the kernel has it, else the NFQUEUE emulator
    (``lab.shaping``) for every kind; the yielded :class:`Shaping` holds the
    emulator's counters once the block has ended.

    Raises:
        LabUnsupported: neither works here (the message has both reasons).
    """
    with shaped(lab, node, ifname, spec, direction) as shaping:
        yield shaping


# ----------------------------------------------------------------------------- freeze


def _freezer_v1() -> Path | None:
    path = CGROUP_ROOT / "freezer"
    return path if (path / "cgroup.procs").exists() else None


@contextlib.contextmanager
def frozen(lab: Lab, node: str, use_cgroup: bool = False) -> Iterator[float]:
    """Freeze every process of ``node`` (cgroup freezer when usable, else SIGSTOP).

    Yields the monotonic time of the freeze; thaws on exit whatever happened.
    """
    namespace = lab.node(node).namespace
    group = _make_freezer(namespace) if use_cgroup else None
    started = time.monotonic()
    try:
        if group is None:
            kill_namespace_processes(namespace, signal.SIGSTOP)
        else:
            for pid in _namespace_pids(namespace):
                with contextlib.suppress(OSError):
                    (group / "cgroup.procs").write_text(str(pid))
            (group / "freezer.state").write_text("FROZEN")
        yield started
    finally:
        if group is None:
            kill_namespace_processes(namespace, signal.SIGCONT)
        else:
            (group / "freezer.state").write_text("THAWED")
            _drop_cgroup(group)


def _make_freezer(namespace: str) -> Path | None:
    root = _freezer_v1()
    if root is None:
        return None
    group = root / f"hatui-{namespace}"
    try:
        group.mkdir(exist_ok=True)
    except OSError as exc:
        logger.info("cgroup freezer unusable (%s); using SIGSTOP", exc)
        return None
    return group


def _namespace_pids(namespace: str) -> list[int]:
    out = run(["ip", "netns", "pids", namespace], check=False)
    return [int(word) for word in out.split() if word.isdigit()]


def _drop_cgroup(group: Path) -> None:
    """Move members back to the parent and remove the group."""
    parent = group.parent / "cgroup.procs"
    with contextlib.suppress(OSError):
        for pid in (group / "cgroup.procs").read_text().split():
            with contextlib.suppress(OSError):
                parent.write_text(pid)
    with contextlib.suppress(OSError):
        group.rmdir()


# --------------------------------------------------------------------- CPU starvation


def cpu_cgroup_reason() -> str | None:
    """Why CPU starvation cannot be injected here, or None when it can."""
    v2 = CGROUP_ROOT / "cgroup.controllers"
    if v2.exists() and "cpu" in v2.read_text().split():
        return None if os.access(CGROUP_ROOT, os.W_OK) else "/sys/fs/cgroup is read-only"
    v1 = CGROUP_ROOT / "cpu" / "cpu.cfs_quota_us"
    if v1.exists():
        return None if os.access(v1.parent, os.W_OK) else "/sys/fs/cgroup/cpu is read-only"
    return "no cgroup cpu controller (v2 cpu.max or v1 cpu.cfs_quota_us)"


@contextlib.contextmanager
def cpu_starved(lab: Lab, node: str, percent: float) -> Iterator[None]:
    """Limit every process of ``node`` to ``percent`` % of one CPU (cgroup cpu.max)."""
    reason = cpu_cgroup_reason()
    if reason is not None:
        raise LabUnsupported(reason)
    namespace = lab.node(node).namespace
    period = 100_000
    quota = max(1000, int(period * percent / 100))
    v2 = (CGROUP_ROOT / "cgroup.controllers").exists()
    base = CGROUP_ROOT if v2 else CGROUP_ROOT / "cpu"
    group = base / f"hatui-cpu-{namespace}"
    group.mkdir(exist_ok=True)
    try:
        if v2:
            (group / "cpu.max").write_text(f"{quota} {period}")
        else:
            (group / "cpu.cfs_period_us").write_text(str(period))
            (group / "cpu.cfs_quota_us").write_text(str(quota))
        for pid in _namespace_pids(namespace):
            with contextlib.suppress(OSError):
                (group / "cgroup.procs").write_text(str(pid))
        yield
    finally:
        _drop_cgroup(group)


# ------------------------------------------------------------------------ clock skew


def faketime_library() -> Path | None:
    """libfaketime's preload library, or None when the package is not installed."""
    return next((path for path in FAKETIME_LIBS if path.exists()), None)


def faketime_env(offset_seconds: int) -> dict[str, str]:
    """Environment that shifts the wall clock (only) of a process by ``offset_seconds``.

    Raises:
        LabUnsupported: libfaketime is not installed (Debian ``faketime``).
    """
    library = faketime_library()
    if library is None:
        raise LabUnsupported("libfaketime not installed (apt-get install faketime)")
    return {
        "LD_PRELOAD": str(library),
        "FAKETIME": f"{offset_seconds:+d}",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "FAKETIME_NO_CACHE": "1",
    }


@contextlib.contextmanager
def skewed_environment(offset_seconds: int) -> Iterator[None]:
    """Processes started inside this block (e.g. ``Cluster.start``) run with a skewed clock.

    The lab builds the engine's environment from ``os.environ``, so the variables are
    set there for the block only (tests start engines from one thread).
    """
    extra = faketime_env(offset_seconds)
    saved = {key: os.environ.get(key) for key in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def tc_available() -> bool:
    """True when ``tc`` exists (netem itself may still be missing from the kernel)."""
    return shutil.which("tc") is not None
