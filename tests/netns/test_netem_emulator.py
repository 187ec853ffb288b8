"""The NFQUEUE network emulator on real namespaces: delay, jitter, loss, corruption, copies.

Always the emulator (``shaping.emulate``), even on kernels that have the netem qdisc, so
that these tests check the code the lab falls back to. UDP between alpha and bravo on
eth0; each test shapes alpha's egress or ingress.
"""

from __future__ import annotations

import itertools
import math
import os
import random
import signal
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from lab import Lab, LabUnsupported, lab_unavailable_reason
from lab.netemu import NetemSpec
from lab.netemu_run import queue_length
from lab.netns import run
from lab.nsutil import socket_in_netns
from lab.shaping import EmulatedShaper, emulate

PORT = 7100


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    """One two-node lab for the whole module (each test removes its own shaping)."""
    reason = lab_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with Lab(["alpha", "bravo"], networks=1, client=False) as lab:
        yield lab


@contextmanager
def shaped(lab: Lab, spec: str, direction: str = "egress") -> Iterator[EmulatedShaper]:
    try:
        shaper = emulate(lab, "alpha", "eth0", spec, direction, seed=7)
    except LabUnsupported as exc:
        pytest.skip(str(exc))
    try:
        yield shaper
    finally:
        shaper.stop()


def udp(lab: Lab, node: str, port: int = 0) -> socket.socket:
    """A UDP socket in ``node`` bound to its eth0 address."""
    sock = socket_in_netns(lab.nodes[node].namespace, socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, 33, 4 << 20)  # SO_RCVBUFFORCE: hold a whole burst
    sock.bind((lab.nodes[node].address(0), port))
    return sock


@contextmanager
def echo(lab: Lab) -> Iterator[tuple[str, int]]:
    """A UDP echo on bravo for the block."""
    sock = udp(lab, "bravo", PORT)
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(2048)
            except TimeoutError:
                continue
            sock.sendto(data, peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield (lab.nodes["bravo"].address(0), PORT)
    finally:
        stop.set()
        thread.join(2)
        sock.close()


def round_trips(lab: Lab, count: int) -> list[float]:
    """``count`` UDP round trips alpha -> bravo -> alpha, in milliseconds."""
    times: list[float] = []
    with echo(lab) as peer, udp(lab, "alpha") as sock:
        sock.settimeout(2.0)
        for i in range(count):
            started = time.monotonic()
            sock.sendto(i.to_bytes(4, "big"), peer)
            while sock.recv(64) != i.to_bytes(4, "big"):
                pass
            times.append((time.monotonic() - started) * 1000)
    return times


def one_way(
    lab: Lab, payloads: list[bytes], gap: float = 0.0, wait: float = 0.3, to: str = "bravo"
) -> list[bytes]:
    """Send ``payloads`` to ``to`` from the other node (``gap`` s apart); what arrived."""
    sender = "alpha" if to == "bravo" else "bravo"
    with udp(lab, to, PORT + 1) as rx, udp(lab, sender) as tx:
        rx.setblocking(False)
        for index, payload in enumerate(payloads):
            tx.sendto(payload, (lab.nodes[to].address(0), PORT + 1))
            if gap:
                time.sleep(gap)
            elif index % 50 == 49:
                time.sleep(0.002)  # let the emulator keep up: its queue must not fail open
        return _drain(rx, wait)


def _drain(rx: socket.socket, wait: float, expect: int = 0) -> list[bytes]:
    """Datagrams arriving within ``wait`` s (``expect`` of them end it 20 ms early)."""
    got: list[bytes] = []
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            got.append(rx.recv(2048))
        except BlockingIOError:
            time.sleep(0.002)
            continue
        if expect and len(got) == expect:
            deadline = min(deadline, time.monotonic() + 0.02)
    return got


def through(lab: Lab, direction: str, payload: bytes, expect: int) -> list[bytes]:
    """``payload`` sent across alpha's shaped direction, and what came out (0.5 s max)."""
    to = "bravo" if direction == "egress" else "alpha"
    sender = "alpha" if to == "bravo" else "bravo"
    with udp(lab, to, PORT + 2) as rx, udp(lab, sender) as tx:
        rx.setblocking(False)
        tx.sendto(payload, (lab.nodes[to].address(0), PORT + 2))
        return _drain(rx, 0.5, expect)


def test_delay_adds_100ms_to_the_round_trip(lab: Lab) -> None:
    base = statistics.median(round_trips(lab, 10))
    with shaped(lab, "delay 100ms") as shaper:
        delayed = round_trips(lab, 10)
    added = statistics.median(delayed) - base
    assert 98 <= added <= 115, f"added {added:.1f} ms (samples {delayed})"
    assert shaper.stats["accepted"] >= 10


def test_ingress_delay_adds_100ms_too(lab: Lab) -> None:
    base = statistics.median(round_trips(lab, 5))
    with shaped(lab, "delay 100ms", "ingress"):
        added = statistics.median(round_trips(lab, 5)) - base
    assert 98 <= added <= 115, f"added {added:.1f} ms"


def test_jitter_spreads_the_delay_and_reorders(lab: Lab) -> None:
    with shaped(lab, "delay 100ms 50ms") as shaper:
        times = round_trips(lab, 16)
        order = one_way(lab, [i.to_bytes(2, "big") for i in range(60)], gap=0.001, wait=0.4)
    assert min(times) >= 48 and max(times) <= 170, f"{min(times):.0f}..{max(times):.0f} ms"
    assert max(times) - min(times) >= 40 and statistics.stdev(times) >= 10
    received = [int.from_bytes(data, "big") for data in order]
    assert sorted(received) == list(range(60))
    inversions = sum(a > b for a, b in itertools.pairwise(received))
    assert inversions >= 5, f"expected reordering, got order {received}"
    assert shaper.stats["reordered"] >= 5


def test_loss_30_percent_of_2000_datagrams(lab: Lab) -> None:
    count = 2000
    with shaped(lab, "loss 30%") as shaper:
        got = one_way(lab, [i.to_bytes(4, "big") for i in range(count)])
    assert shaper.stats["queued"] == count, "every datagram went through the emulator"
    sigma = math.sqrt(count * 0.3 * 0.7)
    lost = count - len(got)
    assert abs(lost - count * 0.3) <= 4 * sigma, f"lost {lost} of {count}"
    assert shaper.stats["dropped"] == lost


@pytest.mark.parametrize("direction", ["egress", "ingress"])
def test_corrupt_100_percent_flips_exactly_one_bit(lab: Lab, direction: str) -> None:
    rng = random.Random(21)
    with shaped(lab, "corrupt 100%", direction) as shaper:
        for _ in range(30):
            sent = rng.randbytes(64)
            [got] = through(lab, direction, sent, 1)
            diff = int.from_bytes(sent, "big") ^ int.from_bytes(got, "big")
            assert len(got) == len(sent) and diff.bit_count() == 1
    assert shaper.stats["corrupted"] >= 30


@pytest.mark.parametrize("direction", ["egress", "ingress"])
def test_duplicate_100_percent_delivers_two_copies(lab: Lab, direction: str) -> None:
    with shaped(lab, "duplicate 100%", direction) as shaper:
        for i in range(20):
            payload = f"copy {i}".encode()
            assert through(lab, direction, payload, 2) == [payload, payload]
    assert shaper.stats["injected"] >= 20 and not shaper.stats.get("inject_failed")


def _rules(lab: Lab) -> str:
    namespace = lab.nodes["alpha"].namespace
    tables = run(["ip", "netns", "exec", namespace, "nft", "list", "ruleset"], check=False)
    chains = run(["ip", "netns", "exec", namespace, "iptables-save"], check=False)
    return tables + "\n".join(line for line in chains.splitlines() if "HATUI" in line)


def test_rules_and_process_are_gone_afterwards(lab: Lab) -> None:
    with shaped(lab, "delay 50ms", "egress") as egress, shaped(lab, "loss 1%", "ingress"):
        assert "queue" in _rules(lab) or "NFQUEUE" in _rules(lab)
        pids = set(lab.nodes["alpha"].pids())
        assert egress.pid in pids
    assert _rules(lab).strip() == ""
    assert not lab.nodes["alpha"].pids()
    assert egress.stats["alive_at_stop"] is True


def test_a_killed_emulator_lets_traffic_through(lab: Lab) -> None:
    with shaped(lab, "delay 300ms") as shaper:
        os.kill(shaper.pid, signal.SIGKILL)
        time.sleep(0.1)
        assert max(round_trips(lab, 5)) < 50, "bypass: nobody on the queue, packets pass"
    assert shaper.stats["alive_at_stop"] is False
    assert _rules(lab).strip() == ""


def test_a_full_queue_fails_open(lab: Lab) -> None:
    """A stopped emulator: the kernel holds up to its queue length, lets the rest through."""
    count = 300
    with shaped(lab, "delay 20ms limit 50") as shaper:
        os.kill(shaper.pid, signal.SIGSTOP)
        try:
            early = one_way(lab, [i.to_bytes(2, "big") for i in range(count)], wait=0.2)
        finally:
            os.kill(shaper.pid, signal.SIGCONT)
        time.sleep(0.3)  # the held ones get their verdict now
    maxlen = queue_length(NetemSpec.parse("delay 20ms limit 50"))
    assert len(early) >= count - maxlen - 5, "beyond the queue length packets pass"
    assert shaper.stats["queued"] <= maxlen + 5


def test_only_namespaces_of_an_open_lab(lab: Lab) -> None:
    with pytest.raises(LabUnsupported, match="not a namespace of an open lab"):
        EmulatedShaper("somebody-else", "eth0", "egress", "delay 1ms").start()
    with pytest.raises(LabUnsupported, match="unsupported option"):
        emulate(lab, "alpha", "eth0", "rate 1mbit", "egress")
    assert not lab.nodes["alpha"].pids()
