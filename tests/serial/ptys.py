"""Pseudo-terminal pairs from socat, and two-engine clusters joined by them."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.integration.loopback import RESOURCE_SCRIPT, Node, free_port

_PTY_LINE = re.compile(rb"PTY is (\S+)")


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


def serial_cluster(
    tmp: Path,
    ttys: tuple[Path, Path],
    *,
    baud: int = 19200,
    keepalive: str = "1",
    deadtime: str = "4",
    warntime: str = "2",
    initdead: str = "8",
    ucast: bool = False,
) -> dict[str, Node]:
    """Two nodes, alpha on ``ttys[0]`` and bravo on ``ttys[1]`` (optionally plus ucast)."""
    port = free_port()
    names = ("alpha", "bravo")
    nodes: dict[str, Node] = {}
    for i, name in enumerate(names):
        address = f"127.0.{port % 200 + 20}.{i + 11}"
        nodes[name] = Node(name, address, tmp / name / "etc", tmp / name / "state")
    for i, node in enumerate(nodes.values()):
        node.config_dir.mkdir(parents=True)
        node.state_dir.mkdir(parents=True)
        other = next(n for n in nodes.values() if n is not node)
        udp = f"udpport {port}\nucast lo {other.address}\n" if ucast else ""
        (node.config_dir / "ha.cf").write_text(
            f"logfile {node.state_dir}/ha-log\ndebugfile {node.state_dir}/ha-debug\n"
            f"logfacility none\nkeepalive {keepalive}\ndeadtime {deadtime}\n"
            f"warntime {warntime}\ninitdead {initdead}\nbaud {baud}\nserial {ttys[i]}\n"
            f"{udp}auto_failback on\nnode alpha\nnode bravo\n"
        )
        keys = node.config_dir / "authkeys"
        keys.write_text("auth 1\n1 sha1 serial-test-secret\n")
        keys.chmod(0o600)
        (node.config_dir / "haresources").write_text("alpha demo-svc::one\n")
        rd = node.config_dir / "resource.d"
        rd.mkdir()
        (rd / "demo-svc").write_text(RESOURCE_SCRIPT)
        (rd / "demo-svc").chmod(0o755)
    return nodes
