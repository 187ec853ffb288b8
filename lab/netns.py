"""A throw-away cluster of network namespaces: nodes, a switch, a client.

Layout (``N`` = network index, ``k`` = 1-based node index)::

    <prefix>-sw       bridges br0, br1, ... (one per heartbeat network, 10.99.N.0/24)
    <prefix>-<node>   eth0, eth1, ... with 10.99.N.k/24, each a veth into brN
    <prefix>-client   eth0 with 10.99.0.100/24 on br0 (probes the service, sends fuzz)

The prefix is ``hl<pid>x<counter>`` so parallel runs never clash and leftovers of dead
test processes can be recognised and removed. Every namespace is deleted (after killing
everything inside it) when the lab closes, whatever happened in the test.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from lab.engine import EngineHandle
from lab.namespaces import (
    NAMESPACE_PATTERN,
    LabUnavailable,
    LabUnsupported,
    Node,
    _open_prefixes,
    delete_namespace,
    kill_namespace_processes,
    lab_unavailable_reason,
    list_namespaces,
    remove_leftover_namespaces,
    run,
    wait_until,
)
from lab.nsutil import AddressWatcher, socket_in_netns
from lab.shaping import Shaper, start_shaper

logger = logging.getLogger(__name__)

CLIENT_ADDRESS = "10.99.0.100"
_lab_counter = itertools.count(1)


@dataclass
class Sample:
    """One observation of the VIP sampler: when, and which nodes held the address."""

    time: float
    holders: frozenset[str]


@dataclass
class VipSampler:
    """Records, every ``interval`` seconds, which node namespaces hold ``ip``.

    Uses one route-netlink socket per node (no process per sample), so 20 ms is cheap.
    """

    lab: Lab
    ip: str
    interval: float = 0.02
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> VipSampler:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start sampling on a daemon thread."""
        watchers = {node.name: AddressWatcher(node.namespace) for node in self.lab.nodes.values()}
        self._thread = threading.Thread(
            target=self._loop, args=(watchers,), name=f"vip-sampler-{self.ip}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self, watchers: dict[str, AddressWatcher]) -> None:
        next_at = time.monotonic()
        try:
            while not self._stop.is_set():
                self.samples.append(Sample(time.monotonic(), self._holders(watchers)))
                next_at += self.interval
                delay = next_at - time.monotonic()
                if delay < 0:
                    next_at = time.monotonic()
                    delay = 0
                self._stop.wait(delay)
        finally:
            for watcher in watchers.values():
                watcher.close()

    def _holders(self, watchers: dict[str, AddressWatcher]) -> frozenset[str]:
        holders: set[str] = set()
        for name, watcher in watchers.items():
            try:
                if self.ip in watcher.addresses():
                    holders.add(name)
            except OSError as exc:
                self.errors.append(f"{name}: {exc}")
        return frozenset(holders)

    def current(self) -> frozenset[str]:
        """Holders in the latest sample (empty before the first sample)."""
        return self.samples[-1].holders if self.samples else frozenset()

    def changes(self) -> list[Sample]:
        """The samples where the set of holders changed (the first sample included)."""
        result: list[Sample] = []
        for sample in list(self.samples):
            if not result or sample.holders != result[-1].holders:
                result.append(sample)
        return result

    def owner_sequence(self) -> list[frozenset[str]]:
        """The successive holder sets, e.g. ``[{}, {alpha}, {}, {bravo}]``."""
        return [sample.holders for sample in self.changes()]

    def max_holders(self) -> int:
        """The largest number of nodes that held the address in one sample."""
        return max((len(sample.holders) for sample in list(self.samples)), default=0)

    def first_time(self, predicate: Callable[[frozenset[str]], bool], after: float = 0.0) -> float:
        """Monotonic time of the first sample at/after ``after`` whose holders match.

        Raises:
            LookupError: no such sample.
        """
        for sample in list(self.samples):
            if sample.time >= after and predicate(sample.holders):
                return sample.time
        raise LookupError(f"no sample of {self.ip} matched after t={after:.3f}")


@dataclass
class HttpReply:
    """A reply read from the client namespace."""

    status: int
    body: str
    elapsed: float


class Lab:
    """The namespaces of one test: nodes, a switch with one bridge per network, a client.

    Use as a context manager (or through the ``lab`` fixtures); teardown always kills
    every process inside the namespaces and deletes them.
    """

    def __init__(
        self,
        node_names: Sequence[str],
        networks: int = 2,
        client: bool = True,
        workdir: Path | None = None,
        prefix: str | None = None,
    ) -> None:
        if (reason := lab_unavailable_reason()) is not None:
            raise LabUnavailable(reason)
        if not 1 <= networks <= 9 or not 1 <= len(node_names) <= 99:
            raise ValueError("lab supports 1-9 networks and 1-99 nodes")
        # A fixed prefix outlives this process (``python -m lab.pacemaker up``): it must
        # not look like ``hl<pid>x<n>``, or the next lab would remove it as a leftover.
        if prefix is not None and NAMESPACE_PATTERN.match(f"{prefix}-"):
            raise ValueError(f"prefix {prefix!r} is reserved for per-process labs")
        self.prefix = prefix or f"hl{os.getpid()}x{next(_lab_counter)}"
        self.networks = networks
        self.switch = f"{self.prefix}-sw"
        self.client = f"{self.prefix}-client" if client else ""
        self.nodes: dict[str, Node] = {
            name: Node(name, index, f"{self.prefix}-{name}", networks)
            for index, name in enumerate(node_names, start=1)
        }
        self._own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix=f"{self.prefix}-"))
        self.engines: list[EngineHandle] = []
        self._created: list[str] = []
        self._shapers: dict[tuple[str, str], Shaper] = {}

    # -- lifecycle ------------------------------------------------------------------

    def __enter__(self) -> Lab:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        """Create the namespaces, bridges and veths (cleans a failed half-setup)."""
        _open_prefixes.add(self.prefix)
        removed = remove_leftover_namespaces()
        if removed:
            logger.info("removed leftover namespaces: %s", ", ".join(removed))
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stop engines, kill every process in the lab and delete all namespaces."""
        for shaper in self._shapers.values():
            try:
                shaper.stop()
            except Exception:  # teardown goes on: the namespaces go away below
                logger.exception("could not remove shaping %s", shaper)
        self._shapers.clear()
        for engine in self.engines:
            engine.kill()
        for namespace in reversed(self._created):
            delete_namespace(namespace)
        self._created.clear()
        _open_prefixes.discard(self.prefix)
        if self._own_workdir and not os.environ.get("HBLAB_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _add_namespace(self, namespace: str) -> None:
        run(["ip", "netns", "add", namespace])
        self._created.append(namespace)
        run(["ip", "-n", namespace, "link", "set", "lo", "up"])

    def _build(self) -> None:
        self._add_namespace(self.switch)
        for net in range(self.networks):
            bridge = f"br{net}"
            # Snooping off: deterministic multicast without an IGMP querier (reliability §3.2).
            run(
                [
                    "ip",
                    "-n",
                    self.switch,
                    "link",
                    "add",
                    bridge,
                    "type",
                    "bridge",
                    "mcast_snooping",
                    "0",
                ]
            )
            run(["ip", "-n", self.switch, "link", "set", bridge, "up"])
        for node in self.nodes.values():
            self._add_namespace(node.namespace)
            for net in range(self.networks):
                self._plug(node.namespace, f"n{node.index}e{net}", net, node.address(net))
        if self.client:
            self._add_namespace(self.client)
            self._plug(self.client, "client0", 0, CLIENT_ADDRESS)

    def _plug(self, namespace: str, switch_port: str, net: int, address: str) -> None:
        """Create a veth ``switch_port`` <-> ``eth<net>`` and attach it to ``br<net>``."""
        sw = ["ip", "-n", self.switch, "link"]
        run(
            [
                *sw,
                "add",
                switch_port,
                "type",
                "veth",
                "peer",
                "name",
                f"eth{net}",
                "netns",
                namespace,
            ]
        )
        run([*sw, "set", switch_port, "master", f"br{net}"])
        run([*sw, "set", switch_port, "up"])
        run(["ip", "-n", namespace, "addr", "add", f"{address}/24", "brd", "+", "dev", f"eth{net}"])
        run(["ip", "-n", namespace, "link", "set", f"eth{net}", "up"])

    # -- faults ---------------------------------------------------------------------

    def node(self, node: Node | str) -> Node:
        """Return the Node for a name (or the Node itself)."""
        return node if isinstance(node, Node) else self.nodes[node]

    def link_down(self, node: Node | str, ifname: str) -> None:
        """Take ``ifname`` down inside the node (carrier drops on the bridge side too)."""
        run(["ip", "-n", self.node(node).namespace, "link", "set", ifname, "down"])

    def link_up(self, node: Node | str, ifname: str) -> None:
        """Bring ``ifname`` back up inside the node."""
        run(["ip", "-n", self.node(node).namespace, "link", "set", ifname, "up"])

    def netem(self, node: Node | str, ifname: str, spec: str) -> None:
        """Shape the node's egress on ``ifname`` (``"loss 10%"``, ``"delay 300ms"``...).

        The netem qdisc when the kernel has it, else the NFQUEUE emulator
        (``lab.shaping``); replaces earlier shaping of that interface.

        Raises:
            LabUnsupported: neither is usable (the message says why).
        """
        self.netem_clear(node, ifname)
        target = self.node(node)
        self._shapers[(target.namespace, ifname)] = start_shaper(
            self, target, ifname, spec, "egress"
        )

    def netem_clear(self, node: Node | str, ifname: str) -> dict[str, Any]:
        """Remove shaping set by :meth:`netem` on ``ifname``; the emulator's counters."""
        shaper = self._shapers.pop((self.node(node).namespace, ifname), None)
        return {} if shaper is None else shaper.stop()

    def kill_node(self, node: Node | str) -> float:
        """Crash a node: SIGKILL every process in it, then take all its links down.

        Returns:
            ``time.monotonic()`` just before the first SIGKILL (the moment of the crash).
        """
        target = self.node(node)
        crashed_at = time.monotonic()
        kill_namespace_processes(target.namespace)
        for ifname in target.interfaces:
            self.link_down(target, ifname)
        for engine in self.engines:
            if engine.node is target:
                engine.reap()
        return crashed_at

    def revive_node(self, node: Node | str, forget: Sequence[str] = ()) -> None:
        """Bring a killed node's links back up (start its engine again yourself).

        ``forget`` lists addresses (a VIP) the dead node still has configured: a reboot
        would lose them, so they are flushed before the links come up.
        """
        target = self.node(node)
        for address in forget:
            for ifname in target.interfaces:
                flush = ["ip", "-n", target.namespace, "addr", "flush", "dev", ifname]
                run([*flush, "to", f"{address}/32"])
        for ifname in target.interfaces:
            self.link_up(target, ifname)

    def sigstop(self, node: Node | str) -> list[int]:
        """Freeze every process in the node; returns the pids."""
        return kill_namespace_processes(self.node(node).namespace, signal.SIGSTOP)

    def sigcont(self, node: Node | str) -> list[int]:
        """Resume every process in the node; returns the pids."""
        return kill_namespace_processes(self.node(node).namespace, signal.SIGCONT)

    # -- observation ----------------------------------------------------------------

    def holders_via_ip(self, ip: str) -> frozenset[str]:
        """Which nodes hold ``ip``, asked with ``ip -n NS -j addr`` (slow, for cross-checks)."""
        holders: set[str] = set()
        for node in self.nodes.values():
            data = json.loads(run(["ip", "-n", node.namespace, "-j", "addr"]))
            for link in data:
                if any(info.get("local") == ip for info in link.get("addr_info", [])):
                    holders.add(node.name)
        return frozenset(holders)

    def vip_sampler(self, ip: str, interval: float = 0.02) -> VipSampler:
        """Return an (unstarted) sampler of who holds ``ip``; use it as a context manager."""
        return VipSampler(self, ip, interval)

    def client_socket(
        self, family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM
    ) -> socket.socket:
        """A socket in the client namespace (needs ``client=True``)."""
        if not self.client:
            raise LabUnavailable("this lab has no client namespace")
        return socket_in_netns(self.client, family, kind)

    def http_get(
        self, ip: str, port: int, path: str = "/", timeout: float = 1.0
    ) -> HttpReply | None:
        """GET ``http://ip:port/path`` from the client namespace; None when nothing answers."""
        started = time.monotonic()
        try:
            with self.client_socket() as sock:
                sock.settimeout(timeout)
                sock.connect((ip, port))
                sock.sendall(f"GET {path} HTTP/1.0\r\nHost: {ip}\r\n\r\n".encode())
                data = _read_all(sock)
        except OSError:
            return None
        head, _, body = data.partition(b"\r\n\r\n")
        status_line = head.split(b"\r\n", 1)[0].split()
        if len(status_line) < 2 or not status_line[1].isdigit():
            return None
        return HttpReply(
            int(status_line[1]), body.decode(errors="replace"), time.monotonic() - started
        )

    def wait_http_body(
        self,
        ip: str,
        port: int,
        body: str,
        timeout: float,
        interval: float = 0.01,
        probe_timeout: float = 0.2,
    ) -> float:
        """Monotonic time of the first GET on ``ip:port`` answered 200 with ``body``.

        A new probe starts every ``interval`` whether or not earlier ones have finished:
        a probe sent while the address still resolves to a dead node's MAC hangs until
        its own timeout, and a serial poller would report the service up to
        ``probe_timeout`` late. Returns when the first good answer arrives.
        """
        answered = threading.Event()
        first: list[float] = []
        lock = threading.Lock()

        def probe() -> None:
            reply = self.http_get(ip, port, timeout=probe_timeout)
            if reply is not None and reply.status == 200 and reply.body == body:
                with lock:
                    first.append(time.monotonic())
                answered.set()

        deadline = time.monotonic() + timeout
        while not answered.is_set():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{ip}:{port} did not answer {body!r} within {timeout} s")
            threading.Thread(target=probe, name="http-probe", daemon=True).start()
            answered.wait(interval)
        with lock:
            return min(first)

    def ping(self, node: Node | str, address: str, count: int = 1, timeout: float = 1.0) -> bool:
        """True when ``address`` answers ICMP echo from inside the node."""
        proc = self.node(node).exec(
            ["ping", "-n", "-q", "-c", str(count), "-W", str(max(1, round(timeout))), address],
            check=False,
            timeout=timeout * count + 5,
        )
        return proc.returncode == 0

    def node_dirs(self, node: Node | str) -> tuple[Path, Path]:
        """Create and return ``(config_dir, state_dir)`` for a node under the lab workdir."""
        name = self.node(node).name
        config_dir = self.workdir / name / "config"
        state_dir = self.workdir / name / "state"
        config_dir.mkdir(parents=True, exist_ok=True)
        state_dir.mkdir(parents=True, exist_ok=True)
        return config_dir, state_dir

    def start_engine(
        self,
        node: Node | str,
        config_dir: Path,
        state_dir: Path,
        extra_args: Sequence[str] = (),
    ) -> EngineHandle:
        """Start ``haengine`` inside the node; it is killed at teardown."""
        handle = EngineHandle.launch(self.node(node), config_dir, state_dir, extra_args)
        self.engines.append(handle)
        return handle


def _read_all(sock: socket.socket, limit: int = 1 << 20) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = sock.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


__all__ = [  # the Lab, and the ground floor's names its users have always imported from here
    "CLIENT_ADDRESS",
    "NAMESPACE_PATTERN",
    "HttpReply",
    "Lab",
    "LabUnavailable",
    "LabUnsupported",
    "Node",
    "Sample",
    "VipSampler",
    "delete_namespace",
    "kill_namespace_processes",
    "lab_unavailable_reason",
    "list_namespaces",
    "remove_leftover_namespaces",
    "run",
    "wait_until",
]
