"""``hatui demo``: two real engines on loopback, no root and no config needed.

Rules of this module: everything lives in one temporary directory; every process we
start is remembered and stopped on exit (quit, Ctrl-C, exception: try/finally plus
atexit). The engines are long-running daemons, so they are started with ``Popen`` in
their own session rather than through ``engine.process.runner`` (which runs programs to
completion, and which ``hatui`` may not import anyway).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from textual.binding import Binding, BindingType

from engine.control.client import default_socket_path
from engine.control.schema import ControlError
from hatui.app import HaTuiApp
from hatui.bridge import call_once, describe_error
from hatui.screens.modals import ChoiceModal

logger = logging.getLogger(__name__)

NODES = ("alpha", "bravo")
HOST_PART = {"alpha": 11, "bravo": 12}
"""Last octet of each node's loopback address inside the demo's private 127.x.y.0/24."""
SCRIPTS = ("demo-web", "demo-db")
SCRIPT_DIR = Path(__file__).parent / "demo_scripts"
STOP_GRACE_S = 4.0
HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
"""Signals that end the demo through its cleanup (SIGHUP: SSH or tmux went away)."""
PR_SET_PDEATHSIG = 1
"""prctl(2) option: the signal a child gets when its parent thread dies."""
PORT_RANGE = (20000, 32000)
"""Random ports come from below Linux's ephemeral range (32768+), so the kernel never
hands one of them to an outgoing connection between our probe and the engine's bind."""


def port_is_free(port: int, kind: int, addresses: tuple[str, ...]) -> bool:
    """True when ``port`` can be bound on every address for this socket kind."""
    for address in addresses:
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind((address, port))
            except OSError:
                return False
    return True


def random_free_port(kind: int, addresses: tuple[str, ...], taken: tuple[int, ...] = ()) -> int:
    """A random port of PORT_RANGE that is free on ``addresses``.

    Random rather than fixed: two demos (or two test runs) started at the same moment
    would both find a fixed port free and then share it. The engines bind their UDP
    sockets with SO_REUSEPORT, so sharing would not even fail: the kernel would split
    the heartbeats between the two clusters.
    """
    low, high = PORT_RANGE
    while True:
        port = low + secrets.randbelow(high - low)
        if port not in taken and port_is_free(port, kind, addresses):
            return port


def random_subnet() -> str:
    """A private ``127.x.y.`` prefix: the engines bind there, away from other engines.

    All of 127.0.0.0/8 is local on Linux; other loopback tests use 127.0.x.y, so the demo
    picks x in 100..199 of the second octet.
    """
    return f"127.{100 + secrets.randbelow(100)}.{secrets.randbelow(256)}."


@dataclass(frozen=True, slots=True)
class DemoPorts:
    """Where a demo cluster lives: loopback subnet, UDP ports, web port, mcast group."""

    udp: int = 17694
    mcast: int = 17695
    web: int = 18080
    group: str = "239.0.0.9"
    """Multicast group: random per demo, so two demos on one machine never mix."""
    subnet: str = "127.0.0."
    """Prefix of the nodes' loopback addresses (``127.x.y.``; the node adds 11 or 12)."""

    def address(self, node: str) -> str:
        """The loopback address the node's engine binds to."""
        return f"{self.subnet}{HOST_PART[node]}"

    @classmethod
    def choose(cls) -> DemoPorts:
        """A random private subnet, random free ports and a random multicast group."""
        subnet = random_subnet()
        addresses = ("127.0.0.1", *(f"{subnet}{part}" for part in HOST_PART.values()))
        udp = random_free_port(socket.SOCK_DGRAM, addresses)
        mcast = random_free_port(socket.SOCK_DGRAM, addresses, (udp,))
        web = random_free_port(socket.SOCK_STREAM, ("127.0.0.1",))
        group = f"239.255.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}"
        return cls(udp, mcast, web, group, subnet)


def ha_cf(node: str, peer_address: str, ports: DemoPorts, state_dir: Path) -> str:
    """The ha.cf of one demo node (timings short enough to watch a failover)."""
    return "\n".join(
        [
            "# hatui demo cluster: two engines on one machine, talking over loopback",
            "keepalive 200ms",
            "deadtime 1",
            "warntime 600ms",
            "initdead 3",
            f"udpport {ports.udp}",
            "auto_failback on",
            f"mcast lo {ports.group} {ports.mcast} 1 1",
            f"ucast lo {peer_address}",
            f"logfile {state_dir / 'ha-log'}",
            *(f"node {name}" for name in NODES),
            "",
        ]
    )


class DemoCluster:
    """The two demo engines: configuration, start, kill, link cuts, and cleanup."""

    def __init__(self, base: Path | None = None, ports: DemoPorts | None = None) -> None:
        self.base = base or Path(tempfile.mkdtemp(prefix="hatui-demo-"))
        self._own_base = base is None
        self.ports = ports or DemoPorts.choose()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._stopped = False

    def config_dir(self, node: str) -> Path:
        """``ha.d`` of one node."""
        return self.base / node / "ha.d"

    def state_dir(self, node: str) -> Path:
        """State dir (control.sock, ha-log, pid files) of one node."""
        return self.base / node / "state"

    def socket_path(self, node: str) -> Path:
        """Control socket of one node."""
        return default_socket_path(self.state_dir(node))

    def write_config(self) -> None:
        """Write ha.cf, authkeys (0600), haresources and resource.d for both nodes."""
        secret = secrets.token_hex(24)
        for node in NODES:
            peer = next(self.ports.address(name) for name in NODES if name != node)
            conf, state = self.config_dir(node), self.state_dir(node)
            (conf / "resource.d").mkdir(parents=True, exist_ok=True)
            state.mkdir(parents=True, exist_ok=True)
            (conf / "ha.cf").write_text(ha_cf(node, peer, self.ports, state))
            keys = conf / "authkeys"
            keys.write_text(f"auth 1\n1 sha256 {secret}\n")
            keys.chmod(0o600)
            (conf / "haresources").write_text(f"alpha demo-db demo-web::{self.ports.web}\n")
            for script in SCRIPTS:
                self._install_script(script, conf / "resource.d" / script, state)

    @staticmethod
    def _install_script(name: str, target: Path, state: Path) -> None:
        text = (SCRIPT_DIR / name).read_text()
        text = text.replace("@STATE_DIR@", str(state))
        if text.startswith("#!/usr/bin/env python3"):
            text = text.replace("#!/usr/bin/env python3", f"#!{sys.executable}", 1)
        target.write_text(text)
        target.chmod(0o755)

    def engine_argv(self, node: str) -> list[str]:
        """The command line of one demo engine."""
        return [
            sys.executable, "-m", "engine.programs.haengine",
            "--config-dir", str(self.config_dir(node)),
            "--state-dir", str(self.state_dir(node)),
            "--node", node,
            "--bind-address", self.ports.address(node),
            "--allow-fault-injection",
            "--quiet",
        ]  # fmt: skip

    def start(self, node: str) -> None:
        """Start (or restart) one engine; its output goes to ``STATE/engine.out``."""
        if self.running(node):
            return
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        with open(self.state_dir(node) / "engine.out", "ab") as out:
            self.processes[node] = subprocess.Popen(
                self.engine_argv(node),
                stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                start_new_session=True, env=env, cwd=self.base,
                preexec_fn=_die_with_parent,
            )  # fmt: skip
        logger.info("demo: started %s (pid %d)", node, self.processes[node].pid)

    def start_all(self) -> None:
        """Write the configuration and start both engines."""
        self.write_config()
        for node in NODES:
            self.start(node)

    def running(self, node: str) -> bool:
        """True while the node's engine process is alive."""
        process = self.processes.get(node)
        return process is not None and process.poll() is None

    def kill(self, node: str) -> None:
        """SIGKILL one engine and its demo servers, as a power cut would.

        Killing only the engine would leave its web server holding the demo port, and
        the survivor's takeover would then fail with "port busy": a crashed node's
        services do not outlive it.
        """
        process = self.processes.get(node)
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        for pid_file in self.state_dir(node).glob("demo-web-*.pid"):
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)
            pid_file.unlink(missing_ok=True)

    def toggle(self, node: str) -> str:
        """Kill a running node or restart a dead one; says which it did."""
        if self.running(node):
            self.kill(node)
            return f"killed {node} (SIGKILL of its engine and services, like a power cut)"
        self.start(node)
        return f"restarted {node}"

    async def set_link(self, link: str, up: bool) -> list[str]:
        """Cut or restore ``link`` on every running engine (both directions)."""
        outcomes = []
        for node in NODES:
            if not self.running(node):
                continue
            try:
                await call_once(self.socket_path(node), "debug_link", link=link, up=up)
                outcomes.append(f"{node}: {'restored' if up else 'cut'}")
            except (OSError, ControlError) as exc:
                outcomes.append(f"{node}: {describe_error(exc)}")
        return outcomes

    async def wait_ready(self, node: str, timeout: float = 30.0) -> bool:
        """Wait until the node answers on its control socket (False: died or timed out)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.running(node):
            with contextlib.suppress(OSError, ControlError):
                await call_once(self.socket_path(node), "hello")
                return True
            await asyncio.sleep(0.1)
        return False

    def engine_output(self, node: str, limit: int = 2000) -> str:
        """The tail of the node's engine output (why it did not come up)."""
        try:
            return (self.state_dir(node) / "engine.out").read_text(errors="replace")[-limit:]
        except OSError as exc:
            return f"(no engine output: {exc})"

    def stop(self) -> None:
        """Stop every engine (TERM, then KILL) and every demo server; remove the dir."""
        if self._stopped:
            return
        self._stopped = True
        for process in self.processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self._kill_leftover_servers()
        if self._own_base:
            shutil.rmtree(self.base, ignore_errors=True)

    def _kill_leftover_servers(self) -> None:
        """A SIGKILLed engine never stopped its resources: stop the web servers here."""
        for pid_file in self.base.glob("*/state/demo-web-*.pid"):
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)


KILL_BODY = (
    "SIGKILL a node's engine and its services, as a power cut would. A killed node "
    "stays down until you restart it here (k again). If it is the node this console "
    "is attached to, the console follows the survivor (a attaches elsewhere)."
)


class DemoApp(HaTuiApp):
    """The console attached to alpha, plus keys to break the demo cluster."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("k", "kill_node", "Kill"),
        Binding("K", "kill_node", "Kill/restart node", show=False),
        Binding("c", "cut_link", "Cut link"),
        Binding("a", "attach_node", "Attach to node", show=False),
    ]
    HELP_KEYS: ClassVar[list[tuple[str, str]]] = [
        ("k", "demo: kill a node (SIGKILL, like a power cut), or restart it"),
        ("c", "demo: cut or restore a link on both engines (fault injection)"),
        ("a", "demo: attach this console to the other node"),
    ]

    def __init__(self, cluster: DemoCluster) -> None:
        super().__init__(cluster.socket_path("alpha"))
        self.cluster = cluster
        self.attached = "alpha"
        """The node whose engine this console shows."""

    def action_kill_node(self) -> None:
        """Pick a node to SIGKILL (or to restart when it is down)."""
        choices = [
            (node, f"{'kill' if self.cluster.running(node) else 'restart'} {node}")
            for node in NODES
        ]

        def chosen(node: str | None) -> None:
            if node:
                self.add_timeline("demo", self.cluster.toggle(node))
                self._follow_survivor(node)

        self.push_screen(ChoiceModal("Kill or restart a node", KILL_BODY, choices), chosen)

    def _follow_survivor(self, killed: str) -> None:
        """The attached node was killed: attach to a node that still runs."""
        if killed != self.attached or self.cluster.running(killed):
            return
        survivor = next((n for n in NODES if n != killed and self.cluster.running(n)), None)
        if survivor is None:
            return
        text = f"{killed} is down: this console now follows {survivor} (a attaches elsewhere)"
        self.add_timeline("demo", text)
        self.notify(text, title="demo", markup=False)
        self.attach_to(survivor)

    def attach_to(self, node: str) -> None:
        """Show ``node``'s engine from now on."""
        self.attached = node
        self.run_worker(self.reattach(self.cluster.socket_path(node)), group="demo")

    def action_attach_node(self) -> None:
        """Pick the node whose engine this console shows."""
        choices = [(node, f"attach to {node}") for node in NODES if node != self.attached]

        def chosen(node: str | None) -> None:
            if node:
                self.add_timeline("demo", f"console attached to {node}")
                self.attach_to(node)

        body = f"This console shows {self.attached}'s engine. Show another node's instead."
        self.push_screen(ChoiceModal("Attach to a node", body, choices), chosen)

    def _links(self) -> list[tuple[str, bool]]:
        links = (self.status or {}).get("links", [])
        return [
            (str(link["name"]), bool(link.get("cut")))
            for link in links
            if isinstance(link, dict) and link.get("name")
        ]

    def action_cut_link(self) -> None:
        """Pick a link to cut (or restore) on both engines."""
        links = self._links()
        if not links:
            self.notify("no links known yet", severity="warning", markup=False)
            return
        cut = dict(links)
        choices = [(name, f"{'restore' if is_cut else 'cut'} {name}") for name, is_cut in links]

        def chosen(name: str | None) -> None:
            if name:
                self._set_link(name, cut[name])

        body = "Drop all traffic of a link in both engines (fault injection)."
        self.push_screen(ChoiceModal("Cut or restore a link", body, choices), chosen)

    def _set_link(self, name: str, up: bool) -> None:
        async def run() -> None:
            outcomes = await self.cluster.set_link(name, up)
            self.add_timeline("demo", f"link {name}: {'; '.join(outcomes)}")

        self.run_worker(run(), group="demo", exit_on_error=False)


def run_demo(argv: list[str] | None = None) -> int:
    """Start the demo cluster, attach the console to alpha, and clean up on the way out."""
    cluster = DemoCluster()
    atexit.register(cluster.stop)
    previous = {sig: signal.signal(sig, _exit_on_signal) for sig in HANDLED_SIGNALS}
    try:
        cluster.start_all()
        print(
            f"hatui demo: engines alpha and bravo in {cluster.base}; web page on "
            f"http://127.0.0.1:{cluster.ports.web}/",
            file=sys.stderr,
        )
        DemoApp(cluster).run()
    finally:
        cluster.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _load_prctl() -> Callable[..., int] | None:
    """libc's prctl, looked up in the parent: a forked child must not dlopen."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the demo process dies.

    The demo stops its engines on every orderly exit; this covers the rest (SIGKILL of
    the console, a test runner killed by a timeout), where the engines would otherwise
    keep running, and keep holding their ports, forever. Linux only; skipped elsewhere.
    Engines are started from the main thread, whose exit is what counts.
    """
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGTERM)


def _exit_on_signal(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)
