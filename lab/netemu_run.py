"""The network emulator process: one NFQUEUE, one direction of one link.

Started by ``lab.shaping`` inside a node's namespace::

    ip netns exec NS python -m lab.netemu_run --queue N --spec "delay 300ms 200ms"

It binds the queue, prints one JSON line (``{"ready": ...}``), then holds every queued
packet until the time :class:`lab.netemu.Emulator` gave it and issues its verdict
(accept, possibly with a corrupted payload, or drop). Duplicates are injected by the
process itself: on egress through a raw IP socket whose packets carry
``INJECT_MARK`` (the firewall rule skips them), on ingress as Ethernet frames written
to the switch-side veth (a packet socket the parent opened there and passed as
``--inject-fd``) with source MAC ``INJECT_MAC`` (the rule skips those too).

It exits when its standard input closes (the parent went away or stopped it) or on
SIGTERM, and prints one last JSON line with its counters. Packets still held are
dropped by the kernel when the queue's socket closes, as a removed netem qdisc drops
its backlog; if the process dies, the rule's ``bypass`` lets traffic through.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import selectors
import signal
import socket
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

from lab.netemu import Emulator, NetemSpec, Release
from lab.nfqueue import NF_ACCEPT, NF_DROP, NfQueue, QueuedPacket

INJECT_MARK = 0x6E65746D
"""Firewall mark of egress duplicates ("netm"): the queue rule lets them pass."""
INJECT_MAC = "02:6e:65:74:65:6d"
"""Source MAC of ingress duplicates (locally administered): the queue rule skips it."""
SO_MARK = 36
RT_PRIORITY = 60
"""SCHED_FIFO priority: the emulator stands in for the kernel's qdisc, which no task
can delay, so it runs ahead of the engine (realtime on = mid-range priority)."""


@dataclass(order=True)
class _Held:
    at: float
    seq: int
    packet_id: int = field(compare=False)
    """Kernel packet id, or -1 for a duplicate to inject."""
    payload: bytes | None = field(compare=False)
    arrival: int = field(compare=False, default=0)


class Injector:
    """Sends duplicates: raw IP on egress, Ethernet frames on the switch port on ingress."""

    def __init__(self, direction: str, dev: str, inject_fd: int, dst_mac: str) -> None:
        self.direction = direction
        self._sock: socket.socket | None = None
        self._header = b""
        if direction == "egress":
            self._sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
            self._sock.setsockopt(socket.SOL_SOCKET, SO_MARK, INJECT_MARK)
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            self._sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
        else:
            if inject_fd >= 0:
                self._sock = socket.socket(fileno=inject_fd)
            src = bytes.fromhex(INJECT_MAC.replace(":", ""))
            self._header = bytes.fromhex(dst_mac.replace(":", "")) + src + b"\x08\x00"

    def send(self, packet: bytes) -> bool:
        """Put one copy on the wire; False when that is impossible here."""
        if self._sock is None:
            return False
        try:
            if self.direction == "egress":
                self._sock.sendto(packet, (socket.inet_ntoa(packet[16:20]), 0))
            else:
                self._sock.send(self._header + packet)
        except OSError:
            return False
        return True


class Runner:
    """The loop: read packets, decide, keep them in a heap, release them on time."""

    def __init__(self, queue: NfQueue, emulator: Emulator, injector: Injector) -> None:
        self.queue = queue
        self.emulator = emulator
        self.injector = injector
        self.stats: Counter[str] = Counter()
        self._heap: list[_Held] = []
        self._seq = 0
        self._last_arrival = -1

    def packet(self, packet: QueuedPacket, now: float) -> None:
        """Decide one queued packet; immediate verdicts go out now."""
        self.stats["queued"] += 1
        arrival = self.stats["queued"]
        self.emulator.held = len(self._heap)
        fate = self.emulator.decide(packet.payload, now)
        self.stats["corrupted"] += fate.corrupted
        if fate.dropped:
            self.stats["dropped"] += 1
            self.queue.verdict(packet.packet_id, NF_DROP)
        for release in fate.releases:
            self._schedule(packet, release, arrival, now)

    def _schedule(self, packet: QueuedPacket, release: Release, arrival: int, now: float) -> None:
        self._seq += 1
        held = _Held(
            release.at,
            self._seq,
            -1 if release.copy else packet.packet_id,
            release.payload,
            arrival,
        )
        if release.copy:
            self.stats["duplicated"] += 1
        if release.at <= now:
            self._release(held)
        else:
            heapq.heappush(self._heap, held)
            self.stats["held_max"] = max(self.stats["held_max"], len(self._heap))

    def due(self, now: float) -> float | None:
        """Release everything whose time has come; seconds until the next one (or None)."""
        while self._heap and self._heap[0].at <= now:
            self._release(heapq.heappop(self._heap))
        return self._heap[0].at - now if self._heap else None

    def _release(self, held: _Held) -> None:
        if held.packet_id < 0:
            sent = held.payload is not None and self.injector.send(held.payload)
            self.stats["injected" if sent else "inject_failed"] += 1
            return
        if held.arrival < self._last_arrival:
            self.stats["reordered"] += 1
        self._last_arrival = max(self._last_arrival, held.arrival)
        self.stats["accepted"] += 1
        self.queue.verdict(held.packet_id, NF_ACCEPT, held.payload)


def queue_length(spec: NetemSpec) -> int:
    """Packets the kernel may hold for us: beyond that the queue fails open (accepts).

    A margin over netem's ``limit`` (which the emulator enforces itself, by dropping),
    so that the kernel only lets packets by when the emulator cannot keep up.
    """
    return max(spec.limit, 64) + 64


def _realtime() -> None:
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(RT_PRIORITY))
    except OSError:
        pass


def serve(runner: Runner, stop: list[bool]) -> None:
    """Run until stdin closes or ``stop[0]`` is set (SIGTERM)."""
    selector = selectors.DefaultSelector()
    selector.register(runner.queue, selectors.EVENT_READ, "queue")
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "stdin")
    wait: float | None = None
    while not stop[0]:
        for key, _ in selector.select(1.0 if wait is None else min(wait, 1.0)):
            if key.data == "stdin" and not os.read(sys.stdin.fileno(), 4096):
                return
            if key.data == "queue":
                now = time.monotonic()
                for packet in runner.queue.receive():
                    runner.packet(packet, now)
        wait = runner.due(time.monotonic())


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, bind the queue, announce readiness, serve, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queue", type=int, required=True)
    parser.add_argument("--spec", required=True)
    parser.add_argument("--direction", choices=("egress", "ingress"), default="egress")
    parser.add_argument("--dev", default="eth0")
    parser.add_argument("--inject-fd", type=int, default=-1)
    parser.add_argument("--dst-mac", default="ff:ff:ff:ff:ff:ff")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    spec = NetemSpec.parse(args.spec)
    _realtime()
    queue = NfQueue(args.queue, maxlen=queue_length(spec))
    injector = Injector(args.direction, args.dev, args.inject_fd, args.dst_mac)
    runner = Runner(queue, Emulator(spec, random.Random(args.seed)), injector)
    print(json.dumps({"ready": True, "queue": args.queue, "pid": os.getpid()}), flush=True)
    try:
        serve(runner, stop)
    finally:
        runner.stats["netlink_errors"] = queue.errors
        queue.close()
        print(json.dumps({"stats": dict(runner.stats)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
