"""The real Heartbeat 3.0.6 as a lab node: its own mount, UTS and IPC namespaces.

Why so much machinery (running-real-heartbeat.md): Heartbeat insists that its node name
is ``uname -n``, keeps state in fixed paths (``/etc/ha.d``, ``/var/lib/heartbeat``,
``/run``, ``/var/log``) and uses SysV shared memory. A lab network namespace alone shares
all of that with the host, so every real node also gets persistent mount/UTS/IPC
namespaces (``unshare --mount=FILE ...``) entered with ``nsenter`` from the root mount
namespace (``ip netns exec`` makes a throw-away mount namespace and cannot be used).

Host-side layout per node (``<lab workdir>/<node>/realhb/``)::

    ns/          private bind mount holding the mnt, uts and ipc namespace files
    etc-ha.d/    copy of /etc/ha.d + ha.cf, authkeys, haresources, resource.d/hbweb
    var-lib/     the node's /var/lib/heartbeat (no uuid/generation: each node gets its own)
    var-log/     the node's /var/log

Logs go where ``ha.cf`` says; the lab writes the same ``logfile`` path shape for both
implementations (``<lab workdir>/<node>/state/ha-log``), visible from inside the node.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from lab.hostns import CLEAN_PATH, HostNode, comm_of
from lab.netns import Lab, Node, wait_until

logger = logging.getLogger(__name__)

HEARTBEAT = Path("/usr/libexec/heartbeat/heartbeat")
HB_STANDBY = Path("/usr/share/heartbeat/hb_standby")
HB_TAKEOVER = Path("/usr/share/heartbeat/hb_takeover")
_STATE_FILES = ("hb_uuid", "hb_generation", "hostcache", "fifo", "delhostcache")


def realhb_unavailable_reason() -> str | None:
    """Return why a real Heartbeat node cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return "real Heartbeat nodes need root (namespaces, mounts)"
    for tool in ("unshare", "nsenter", "cl_status", "ip", "mount"):
        if shutil.which(tool) is None:
            return f"real Heartbeat nodes need `{tool}` (Debian packages heartbeat, util-linux)"
    for path in (HEARTBEAT, HB_STANDBY, Path("/etc/ha.d/resource.d/IPaddr2")):
        if not path.exists():
            return f"{path} is missing (install Debian packages heartbeat, resource-agents)"
    return None


def heartbeat_version() -> str:
    """The installed Debian heartbeat version, e.g. ``1:3.0.6-13+b2`` ("" if unknown)."""
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "heartbeat"], capture_output=True, text=True
    )
    return proc.stdout.strip() if proc.returncode == 0 else ""


class RealNode(HostNode):
    """One real Heartbeat 3.0.6 "host" living in a lab node's network namespace.

    Call :meth:`prepare` once (namespaces, mounts), write the configuration into
    :attr:`config_dir`, then :meth:`start`. :meth:`close` must run before the lab closes
    (it unmounts the namespace files so the lab can delete its work directory).
    """

    def __init__(self, lab: Lab, node: Node | str) -> None:
        name = lab.node(node).name
        super().__init__(lab, node, lab.workdir / name / "realhb")
        self.config_dir = self.root / "etc-ha.d"
        self.lib_dir = self.root / "var-lib"
        self.log_dir = self.root / "var-log"
        self.state_dir = lab.workdir / name / "state"

    # -- namespaces -----------------------------------------------------------------

    def _copy_trees(self) -> None:
        if not self.config_dir.exists():
            shutil.copytree("/etc/ha.d", self.config_dir, symlinks=True)
        if not self.lib_dir.exists():
            shutil.copytree(
                "/var/lib/heartbeat",
                self.lib_dir,
                symlinks=True,
                ignore=shutil.ignore_patterns(*_STATE_FILES),
            )
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir.mkdir(parents=True, exist_ok=True)

    def _setup_script(self) -> str:
        run_dirs = "/run/heartbeat/ccm /run/heartbeat/crm /run/heartbeat/dopd"
        return "\n".join(
            [
                f"hostname {self.name}",
                "mount -t sysfs sysfs /sys",
                "mount -t tmpfs -o mode=0755 tmpfs /run",
                f"mkdir -p {run_dirs} /run/resource-agents /run/lock",
                "chown -R hacluster:haclient /run/heartbeat",
                "chmod 0750 /run/heartbeat/ccm /run/heartbeat/crm /run/heartbeat/dopd",
                "chmod 0755 /run/heartbeat",
                f"mount --bind {self.config_dir} /etc/ha.d",
                f"mount --bind {self.lib_dir} /var/lib/heartbeat",
                f"mount --bind {self.log_dir} /var/log",
            ]
        )

    def daemon_pids(self) -> list[int]:
        """See :meth:`HostNode.daemon_pids`."""
        return self.heartbeat_pids()

    # -- the daemon -----------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> None:
        """Start ``heartbeat`` in the node (it daemonizes); wait until its API answers.

        After a crash the killed daemon may linger as a zombie for a moment, and
        Heartbeat refuses to start while the pid in its pid file exists ("already
        running"); a rebooted host has an empty /run, so a stale pid file goes.
        """
        self.prepare()
        if not self.heartbeat_pids():
            self.exec(["rm", "-f", "/run/heartbeat.pid"], check=False)
        proc = self.exec(
            ["env", "-i", f"PATH={CLEAN_PATH}", "LANG=C", str(HEARTBEAT)],
            check=False,
            timeout=timeout,
        )
        if proc.returncode != 0:
            tail = "\n".join(self.log_lines()[-15:])
            raise RuntimeError(
                f"[{self.name}] heartbeat exited {proc.returncode}: "
                f"{(proc.stderr or proc.stdout).strip()}\n--- ha-log ---\n{tail}"
            )
        wait_until(self.running, timeout, 0.1, f"{self.name}: heartbeat API answering")

    def running(self) -> bool:
        """True when ``cl_status hbstatus`` says the daemon runs."""
        if not self.prepared:
            return False
        return self.exec(["cl_status", "hbstatus"], check=False).returncode == 0

    def stop(self, timeout: float = 60.0) -> None:
        """Graceful stop: ``heartbeat -k`` inside the node, then wait for every process."""
        self.exec([str(HEARTBEAT), "-k"], check=False, timeout=timeout)
        wait_until(lambda: not self.heartbeat_pids(), timeout, 0.1, f"{self.name}: heartbeat gone")

    def heartbeat_pids(self) -> list[int]:
        """Pids of Heartbeat's own processes in the node (not the resources it started)."""
        return [pid for pid in self.node.pids() if comm_of(pid) == "heartbeat"]

    # -- administration -------------------------------------------------------------

    def cl_status(self, *args: str, timeout: float = 10.0) -> subprocess.CompletedProcess[str]:
        """Run ``cl_status ARGS...`` inside the node."""
        return self.exec(["cl_status", *args], check=False, timeout=timeout)

    def nodestatus(self, name: str) -> str | None:
        """``cl_status nodestatus NAME`` (active/up/dead/init), None when it fails."""
        proc = self.cl_status("nodestatus", name)
        text = proc.stdout.strip()
        return text or None if proc.returncode in (0, 1, 2) else None

    def rscstatus(self) -> str | None:
        """``cl_status rscstatus`` (none/local/foreign/all/transition)."""
        proc = self.cl_status("rscstatus")
        return proc.stdout.strip() or None if proc.returncode == 0 else None

    def hb_standby(self, what: str = "all") -> subprocess.CompletedProcess[str]:
        """``hb_standby [all|foreign|local|failback]`` inside the node."""
        return self.exec([str(HB_STANDBY), what], check=False)

    def hb_takeover(self, what: str = "all") -> subprocess.CompletedProcess[str]:
        """``hb_takeover [all|foreign|local|failback]`` inside the node."""
        return self.exec([str(HB_TAKEOVER), what], check=False)

    # -- logs -----------------------------------------------------------------------

    def log_lines(self, debug: bool = False) -> list[str]:
        """Lines of ``logfile`` (or ``debugfile``) as configured by the lab."""
        path = self.state_dir / ("ha-debug" if debug else "ha-log")
        return path.read_text(errors="replace").splitlines() if path.exists() else []

    def log_since(self, mark: int, debug: bool = False) -> list[str]:
        """Log lines after the first ``mark`` lines (take ``mark = len(log_lines())``)."""
        return self.log_lines(debug)[mark:]


def wait_gone(pids: Sequence[int], timeout: float) -> None:
    """Wait until none of ``pids`` exists any more."""

    def gone() -> bool:
        return not any(Path(f"/proc/{pid}").exists() for pid in pids)

    wait_until(gone, timeout, 0.05, "processes gone")


def monotonic_ms() -> float:
    """``time.monotonic()`` in milliseconds (benchmarks report ms)."""
    return time.monotonic() * 1000.0
