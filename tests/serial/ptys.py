"""Pseudo-terminal pairs from socat, and two-engine lab clusters joined by them."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from lab.cluster import Cluster, Timers, ucast_lines
from lab.netns import Lab
from tests.integration.loopback import RESOURCE_SCRIPT

_PTY_LINE = re.compile(rb"PTY is (\S+)")
_bridges = itertools.count(1)


@dataclass
class PtyBridge:
    """``socat -d -d pty,raw,echo=0 pty,raw,echo=0``: two ttys joined like a null modem.

    ``links`` are stable symlinks to the two ptys (socat's ``link=``) so a bridge that is
    killed and started again reappears under the same names, like a USB adapter.
    """

    links: tuple[Path, Path]
    proc: subprocess.Popen[bytes] | None = None
    ptys: tuple[str, str] = ("", "")

    def start(self, timeout: float = 5.0) -> tuple[str, str]:
        """Start socat and return the two pty paths parsed from its stderr."""
        if shutil.which("socat") is None:
            raise RuntimeError("socat is not installed")
        a, b = self.links
        argv = ["socat", "-d", "-d", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert self.proc.stderr is not None
        found: list[str] = []
        deadline = time.monotonic() + timeout
        while len(found) < 2 and time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            match = _PTY_LINE.search(line)
            if match:
                found.append(match.group(1).decode())
        if len(found) < 2:
            self.kill()
            raise RuntimeError(f"socat did not report two ptys: {found}")
        while not (a.exists() and b.exists()) and time.monotonic() < deadline:
            time.sleep(0.02)
        self.ptys = (found[0], found[1])
        return self.ptys

    def kill(self) -> None:
        """Kill the bridge: both ptys disappear, as when a cable adapter is pulled."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)
        self.proc = None


def bridge_links(directory: Path) -> tuple[Path, Path]:
    """Two symlink paths for a bridge, unique per test process.

    The engine's UUCP lock is named after the last path component (``LCK..<name>`` in
    /var/lock), so two test runs on one machine must not both call their ports ``ttyA``.
    """
    stem = f"hbtty{os.getpid()}x{next(_bridges)}"
    return directory / f"{stem}a", directory / f"{stem}b"


def serial_lab_cluster(
    lab: Lab,
    ttys: tuple[str, str],
    *,
    baud: int,
    timers: Timers,
    ucast: bool = False,
) -> Cluster:
    """alpha on ``ttys[0]``, bravo on ``ttys[1]`` (plus ucast on eth0 when asked); started.

    Heartbeat names a serial medium after the path in ``ha.cf``, so each node's link
    carries its own end's name (``/dev/pts/N`` or the bridge's symlink).
    """
    alpha, bravo = lab.nodes
    cluster = Cluster(
        lab,
        media=[f"baud {baud}", *(ucast_lines(lab, "eth0", 0) if ucast else [])],
        node_media={alpha: [f"serial {ttys[0]}"], bravo: [f"serial {ttys[1]}"]},
        timers=timers,
        haresources=f"{alpha} demo-svc::one\n",
        scripts={"demo-svc": RESOURCE_SCRIPT},
    )
    cluster.start_all()
    return cluster


def lock_file(tty: str) -> Path:
    """Where the engine (root, default lock directory) locks ``tty``."""
    return Path("/var/lock") / f"LCK..{os.path.basename(tty)}"


def remove_dead_locks(ttys: tuple[str, ...]) -> None:
    """Remove the lock files killed engines left behind (their pid is gone)."""
    for tty in ttys:
        path = lock_file(tty)
        try:
            pid = int(path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
