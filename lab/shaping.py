"""Shape one direction of a lab link: the netem qdisc if the kernel has it, else an emulator.

The emulator (``lab.netemu_run``) is a process in the node's namespace behind an
NFQUEUE rule on that interface: the ``postrouting`` hook matched by ``oifname`` for
egress, ``input`` matched by ``iifname`` for ingress (the switch namespace only bridges
frames, which skip the inet hooks). The rule is ``nft ... queue`` when the kernel has
``nft_queue``, else iptables' ``NFQUEUE`` target; either way it has ``bypass``, so a
dead emulator lets traffic through instead of wedging the lab, and the queue fails open
when full. Only IPv4 is shaped (the lab's networks; ARP and IPv6 pass untouched).

Both kinds of shaper work only in namespaces of a lab open in this process, and undo
themselves in :meth:`Shaper.stop` (rules first, then the process).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import selectors
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from lab.engine import REPO_ROOT
from lab.namespaces import NAMESPACE_PATTERN, LabUnsupported, Node, _open_prefixes, run
from lab.netemu import NetemSpec
from lab.netemu_run import INJECT_MAC, INJECT_MARK
from lab.nsutil import socket_in_netns

logger = logging.getLogger(__name__)

MODE_ENV = "HATUI_LAB_NETEM"
"""``qdisc`` or ``emulator`` forces one kind of shaper; unset: the qdisc when it works."""
READY_TIMEOUT = 15.0
_queue_numbers = itertools.count(4200)
_nft_queue_works: bool | None = None


class Lab(Protocol):
    """What shaping needs of a ``lab.netns.Lab`` (which builds on this module)."""

    switch: str
    workdir: Path

    def node(self, node: Node | str) -> Node:
        """The Node for a name (or the Node itself)."""
        ...


def switch_port(lab: Lab, node: str | Node, ifname: str) -> str:
    """The switch-side veth of ``node``'s ``ifname`` (its egress is the node's ingress)."""
    return f"n{lab.node(node).index}e{int(ifname.removeprefix('eth'))}"


def _check_owned(namespace: str) -> None:
    """Refuse any namespace that is not part of a lab this process has open."""
    match = NAMESPACE_PATTERN.match(namespace)
    if match is None or namespace.split("-", 1)[0] not in _open_prefixes:
        raise LabUnsupported(f"refusing to shape {namespace!r}: not a namespace of an open lab")


def _ns(
    namespace: str, argv: list[str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", namespace, *argv],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=20,
    )


class Shaper:
    """One shaped direction; :meth:`stop` undoes it and returns the counters (if any)."""

    kind = "none"
    direction: str
    stats: dict[str, Any]

    def stop(self) -> dict[str, Any]:
        """Remove the shaping."""
        raise NotImplementedError


@dataclass
class QdiscShaper(Shaper):
    """``tc qdisc replace ... root netem SPEC`` on ``dev`` of ``namespace``."""

    namespace: str
    dev: str
    spec: str
    direction: str = "egress"
    kind = "qdisc"
    stats: dict[str, Any] = field(default_factory=dict)

    def start(self) -> str:
        """Apply the qdisc; returns "" or tc's complaint."""
        _check_owned(self.namespace)
        if shutil.which("tc") is None:
            return "tc not installed"
        argv = ["tc", "-n", self.namespace, "qdisc", "replace", "dev", self.dev, "root"]
        proc = subprocess.run([*argv, "netem", *self.spec.split()], capture_output=True, text=True)
        return "" if proc.returncode == 0 else proc.stderr.strip() or "tc failed"

    def stop(self) -> dict[str, Any]:
        """Delete the root qdisc (back to the default)."""
        argv = ["tc", "-n", self.namespace, "qdisc", "del", "dev", self.dev, "root"]
        subprocess.run(argv, capture_output=True)
        return self.stats


@dataclass
class EmulatedShaper(Shaper):
    """The NFQUEUE emulator for one direction of ``dev`` in ``namespace``.

    Args:
        inject: for ingress, the switch namespace and switch-side port where duplicates
            are written (they then arrive on ``dev`` like the original).
        log: the emulator's stderr goes there.
    """

    namespace: str
    dev: str
    direction: str
    spec: str
    inject: tuple[str, str] | None = None
    log: Path | None = None
    seed: int | None = None
    kind = "emulator"
    queue: int = field(default_factory=lambda: next(_queue_numbers))
    backend: str = ""
    pid: int = 0
    """The emulator process (inside the namespace), once it is ready."""
    stats: dict[str, Any] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    _inject_sock: socket.socket | None = None

    @property
    def table(self) -> str:
        """The nft table (or iptables chain) holding this shaper's rule."""
        return f"hatui_emu_{self.queue}" if self.backend == "nft" else f"HATUI-EMU-{self.queue}"

    def start(self) -> None:
        """Start the emulator, then route the traffic to it.

        Raises:
            LabUnsupported: the spec has an option the emulator lacks, or the process,
                the queue or the rule could not be set up (the reason says which).
        """
        _check_owned(self.namespace)
        try:
            NetemSpec.parse(self.spec)
        except ValueError as exc:
            raise LabUnsupported(str(exc)) from exc
        try:
            self._spawn()
            self._install()
        except BaseException:
            self.stop()
            raise

    def _spawn(self) -> None:
        argv = [sys.executable, "-m", "lab.netemu_run", "--queue", str(self.queue),
                "--spec", self.spec, "--direction", self.direction, "--dev", self.dev]  # fmt: skip
        if self.seed is not None:
            argv += ["--seed", str(self.seed)]
        fds: tuple[int, ...] = ()
        if self.direction == "ingress" and self.inject is not None:
            self._inject_sock = self._packet_socket(*self.inject)
            fds = (self._inject_sock.fileno(),)
            argv += ["--inject-fd", str(fds[0]), "--dst-mac", self._mac()]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        err: IO[bytes] | int = subprocess.DEVNULL
        if self.log is not None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            err = self.log.open("ab")
        try:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.namespace, *argv],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                pass_fds=fds,
                cwd=REPO_ROOT,
                env=env,
            )
        finally:
            if not isinstance(err, int):
                err.close()
        line = self._read_line(READY_TIMEOUT)
        if not line.get("ready"):
            tail = self.log.read_text()[-600:] if self.log is not None and self.log.exists() else ""
            raise LabUnsupported(f"netem emulator did not start on {self.dev}: {tail.strip()}")
        self.pid = int(line.get("pid", 0))

    @staticmethod
    def _packet_socket(namespace: str, port: str) -> socket.socket:
        _check_owned(namespace)
        sock = socket_in_netns(namespace, socket.AF_PACKET, socket.SOCK_RAW, 0)
        sock.bind((port, 0))
        return sock

    def _mac(self) -> str:
        out = run(["ip", "-n", self.namespace, "-j", "link", "show", "dev", self.dev])
        return str(json.loads(out)[0]["address"])

    def _read_line(self, timeout: float) -> dict[str, Any]:
        """The next JSON line the emulator prints ({} on timeout, EOF or garbage)."""
        assert self.proc is not None and self.proc.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        buffer = b""
        try:
            while b"\n" not in buffer and (left := deadline - time.monotonic()) > 0:
                if not selector.select(left):
                    break
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                buffer += chunk
        finally:
            selector.close()
        try:
            value = json.loads(buffer.split(b"\n", 1)[0] or b"{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def _install(self) -> None:
        global _nft_queue_works
        problems: list[str] = []
        if _nft_queue_works is not False and shutil.which("nft") is not None:
            self.backend = "nft"
            proc = _ns(self.namespace, ["nft", "-f", "-"], self._nft_script())
            if proc.returncode == 0:
                _nft_queue_works = True
                return
            problems.append(f"nft: {proc.stderr.strip().splitlines()[0] if proc.stderr else '?'}")
            if "No such file or directory" in proc.stderr:
                _nft_queue_works = False  # no nft_queue in this kernel: iptables from now on
        if shutil.which("iptables-restore") is not None:
            self.backend = "iptables"
            proc = _ns(self.namespace, ["iptables-restore", "-w", "--noflush"], self._xt_script())
            if proc.returncode == 0:
                return
            problems.append(f"iptables: {proc.stderr.strip()}")
        self.backend = ""
        raise LabUnsupported(f"no NFQUEUE rule possible on {self.dev}: {'; '.join(problems)}")

    def _nft_script(self) -> str:
        hook, match, skip = (
            ("postrouting", "oifname", f"meta mark != {INJECT_MARK:#x}")
            if self.direction == "egress"
            else ("input", "iifname", f"ether saddr != {INJECT_MAC}")
        )
        return (
            f"add table inet {self.table}\n"
            f"add chain inet {self.table} c {{ type filter hook {hook} priority 0; }}\n"
            f'add rule inet {self.table} c meta nfproto ipv4 {match} "{self.dev}" {skip} '
            f"queue num {self.queue} bypass\n"
        )

    def _xt_script(self) -> str:
        chain = self.table
        if self.direction == "egress":
            hook, rule = "POSTROUTING", f"-o {self.dev} -m mark ! --mark {INJECT_MARK:#x}"
        else:
            hook, rule = "INPUT", f"-i {self.dev} -m mac ! --mac-source {INJECT_MAC}"
        return (
            f"*mangle\n:{chain} - [0:0]\n"
            f"-A {chain} {rule} -j NFQUEUE --queue-num {self.queue} --queue-bypass\n"
            f"-I {hook} 1 -j {chain}\nCOMMIT\n"
        )

    def _uninstall(self) -> None:
        if self.backend == "nft":
            _ns(self.namespace, ["nft", "delete", "table", "inet", self.table])
        elif self.backend == "iptables":
            hook = "POSTROUTING" if self.direction == "egress" else "INPUT"
            ipt = ["iptables", "-w", "-t", "mangle"]
            for argv in (["-D", hook, "-j", self.table], ["-F", self.table], ["-X", self.table]):
                _ns(self.namespace, [*ipt, *argv])
            _drop_empty_mangle(self.namespace)
        self.backend = ""

    def stop(self) -> dict[str, Any]:
        """Remove the rule, stop the process (its held packets are dropped), report."""
        self._uninstall()
        proc, self.proc = self.proc, None
        if proc is not None:
            alive = proc.poll() is None
            self.stats = self._finish(proc) if alive else {}
            self.stats["alive_at_stop"] = alive
        if self._inject_sock is not None:
            self._inject_sock.close()
            self._inject_sock = None
        return self.stats

    def _finish(self, proc: subprocess.Popen[bytes]) -> dict[str, Any]:
        assert proc.stdin is not None
        with contextlib.suppress(OSError):
            proc.stdin.close()  # the emulator exits on end of input
        self.proc = proc
        stats: dict[str, Any] = {}
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            line = self._read_line(deadline - time.monotonic())
            if not line:
                break
            stats = dict(line.get("stats", stats))
        self.proc = None
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(2)
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()
        return stats


def _drop_empty_mangle(namespace: str) -> None:
    """iptables-nft leaves an ``ip mangle`` nft table behind: remove it when it is empty."""
    saved = _ns(namespace, ["iptables-save", "-t", "mangle"])
    if saved.returncode != 0 or any(line.startswith("-A") for line in saved.stdout.splitlines()):
        return
    if "nf_tables" in _ns(namespace, ["iptables", "-V"]).stdout:
        _ns(namespace, ["nft", "delete", "table", "ip", "mangle"])


# ------------------------------------------------------------------------------ choice


def emulate(
    lab: Lab, node: str | Node, ifname: str, spec: str, direction: str, seed: int | None = None
) -> EmulatedShaper:
    """Start the NFQUEUE emulator on one direction of ``node``'s ``ifname`` (never the qdisc).

    Raises:
        LabUnsupported: the emulator cannot do it here (the reason says why).
    """
    target = lab.node(node)
    inject = (lab.switch, switch_port(lab, target, ifname)) if direction == "ingress" else None
    log = lab.workdir / "netemu" / f"{target.name}-{ifname}-{direction}.log"
    shaper = EmulatedShaper(target.namespace, ifname, direction, spec, inject, log, seed)
    shaper.start()
    return shaper


def start_shaper(lab: Lab, node: str | Node, ifname: str, spec: str, direction: str) -> Shaper:
    """Shape one direction (``egress``/``ingress``) of ``node``'s ``ifname`` with ``spec``.

    Raises:
        LabUnsupported: neither the netem qdisc nor the emulator can do it (both reasons).
    """
    target = lab.node(node)
    mode = os.environ.get(MODE_ENV, "")
    problems: list[str] = []
    if mode != "emulator":
        if direction == "egress":
            qdisc = QdiscShaper(target.namespace, ifname, spec, direction)
        else:
            qdisc = QdiscShaper(lab.switch, switch_port(lab, target, ifname), spec, direction)
        problem = qdisc.start()
        if not problem:
            return qdisc
        problems.append(f"netem qdisc: {problem}")
    if mode != "qdisc":
        try:
            return emulate(lab, target, ifname, spec, direction)
        except LabUnsupported as exc:
            problems.append(f"emulator: {exc}")
    raise LabUnsupported(f"cannot apply netem {spec!r} on {ifname}: {'; '.join(problems)}")


@dataclass
class Shaping:
    """The shapers of one :func:`shaped` block; ``stats`` is filled when it ends."""

    shapers: list[Shaper] = field(default_factory=list)
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Direction -> the emulator's counters (queued, dropped, corrupted, ...)."""

    def stop(self) -> None:
        """Undo every shaper, last first, keeping their counters."""
        while self.shapers:
            shaper = self.shapers.pop()
            self.stats[shaper.direction] = {"kind": shaper.kind, **shaper.stop()}


@contextlib.contextmanager
def shaped(
    lab: Lab, node: str | Node, ifname: str, spec: str, direction: str = "egress"
) -> Iterator[Shaping]:
    """Shape ``egress``, ``ingress`` or ``both`` directions for the block."""
    if direction not in ("egress", "ingress", "both"):
        raise ValueError(f"direction must be egress, ingress or both, not {direction!r}")
    shaping = Shaping()
    try:
        for one in ("egress", "ingress"):
            if direction in (one, "both"):
                shaping.shapers.append(start_shaper(lab, node, ifname, spec, one))
        yield shaping
    finally:
        shaping.stop()
