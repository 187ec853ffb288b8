"""Membership acceptance on real processes: three engines, ucast eth0 + bcast/mcast eth1.

Timers: keepalive 200 ms, deadtime 1 s, warntime 600 ms, initdead 3 s. Times are measured
by polling the engines' control sockets every 20 ms from the root namespace (the log has
one-second resolution); the measured numbers are printed (run with ``-s`` to see them).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from lab import Lab, node_state, nodes_by_name, wait_until
from lab.cluster import Cluster, Timers, ucast_lines
from lab.fuzz import mutated_datagrams

NAMES = ("alpha", "bravo", "charlie")
SECOND_LINK = {"bcast": "bcast eth1", "mcast": "mcast eth1 239.0.0.1 694 1 0"}
TIMERS = Timers(keepalive="200ms", deadtime="1", warntime="600ms", initdead="3")
POLL = 0.02
FUZZ_COUNT = 10_000


@dataclass
class Formed:
    """A running three-node cluster and how long it took to form."""

    cluster: Cluster
    variant: str
    formed_after: float


@pytest.fixture(scope="module", params=sorted(SECOND_LINK))
def formed(request: pytest.FixtureRequest, engine_available: None) -> Iterator[Formed]:
    variant = str(request.param)
    with Lab(NAMES, networks=2) as lab:
        media = [*ucast_lines(lab, "eth0", 0), SECOND_LINK[variant]]
        cluster = Cluster(lab, media, TIMERS)
        cluster.start_all()
        # "started" is when the last engine answers its control socket: the interpreter's
        # own start-up (seconds on a loaded 2-core machine) is not what this measures
        wait_until(lambda: all(cluster.status(n) is not None for n in NAMES), timeout=30)
        last_started = time.monotonic()
        formed_at = cluster.wait_all_active(timeout=15)
        cluster.wait_settled()
        yield Formed(cluster, variant, formed_at - last_started)


def test_a_all_active_within_two_seconds_of_last_start(formed: Formed) -> None:
    print(
        f"\n[{formed.variant}] all three active "
        f"{formed.formed_after * 1000:.0f} ms after the last start"
    )
    assert formed.formed_after <= 2.0
    for name in NAMES:
        links = formed.cluster.links(name)
        for peer in NAMES:
            assert links.get((peer, "eth0")) == "up", f"{name} sees {peer}:eth0 {links}"
            if peer != name:  # own eth1 is up only with bcast / mcast loop 1 (spec §6.7)
                assert links.get((peer, "eth1")) == "up", f"{name} sees {peer}:eth1 {links}"


def test_a_hactl_cli_agrees_with_socket(formed: Formed) -> None:
    engine = formed.cluster.engines["alpha"]
    via_cli = engine.hactl_status()
    assert via_cli["node"] == "alpha"
    assert {name: node_state(via_cli, name) for name in NAMES} == dict.fromkeys(NAMES, "active")
    proc = engine.hactl("nodestatus", "charlie")
    assert (proc.returncode, proc.stdout.strip()) == (0, "active"), proc.stderr
    proc = engine.hactl("hblinkstatus", "bravo", "eth1")
    assert (proc.returncode, proc.stdout.strip()) == (0, "up"), proc.stderr


def _cut_link_expected_dead(observer: str, node: str, link: str) -> bool:
    """Links that must go dead when bravo's eth1 is down (own links are not judged)."""
    if link != "eth1":
        return False
    return (observer != "bravo" and node == "bravo") or (observer == "bravo" and node != "bravo")


def _violations(cluster: Cluster) -> list[str]:
    """Anything beyond the bravo/eth1 links that is not up/active right now.

    A node's view of its own eth1 is not judged: it is up only when its own packets come
    back (bcast, mcast with loop 1), as in Heartbeat (spec §6.7).
    """
    found: list[str] = []
    for observer in NAMES:
        status = cluster.status(observer) or {}
        for name, entry in nodes_by_name(status).items():
            if entry.get("status") != "active":
                found.append(f"{observer} sees {name} {entry.get('status')}")
            for link in entry.get("links", []):
                cut = _cut_link_expected_dead(observer, name, str(link.get("name")))
                own_eth1 = observer == name and link.get("name") == "eth1"
                if link.get("status") != "up" and not (cut or own_eth1):
                    found.append(f"{observer} sees {name}:{link.get('name')} {link.get('status')}")
    return found


def test_c_link_down_only_kills_that_link(formed: Formed) -> None:
    cluster, lab = formed.cluster, formed.cluster.lab
    lab.link_down("bravo", "eth1")
    downed = time.monotonic()
    violations: list[str] = []

    def cut_seen() -> bool:
        violations.extend(_violations(cluster))
        return all(
            cluster.link_is(observer, node, "eth1", "dead")
            for observer in NAMES
            for node in NAMES
            if _cut_link_expected_dead(observer, node, "eth1")
        )

    wait_until(cut_seen, timeout=TIMERS.deadtime_s + 2, interval=0.05, what="bravo eth1 dead")
    print(f"\n[{formed.variant}] eth1 links of bravo dead after {time.monotonic() - downed:.2f} s")
    for _ in range(10):  # stays that way: no node death, no other link affected
        violations.extend(_violations(cluster))
        time.sleep(0.1)
    assert violations == []
    lab.link_up("bravo", "eth1")
    raised = time.monotonic()
    wait_until(
        lambda: (
            not _violations(cluster)
            and all(cluster.link_is(o, n, "eth1", "up") for o in NAMES for n in NAMES if o != n)
        ),
        timeout=5,
        interval=0.05,
        what="every link up again",
    )
    print(f"[{formed.variant}] links up again after {time.monotonic() - raised:.2f} s")
    logs = "\n".join(cluster.engines["alpha"].log_lines())
    assert "Link bravo:eth1 dead." in logs
    assert "is dead" not in logs


def _rejected(cluster: Cluster, name: str) -> int:
    status = cluster.status(name) or {}
    return int(status.get("counters", {}).get("rejected_total", 0))


def test_d_fuzz_port_694_is_rejected_and_counted(formed: Formed) -> None:
    cluster, lab = formed.cluster, formed.cluster.lab
    before = _rejected(cluster, "alpha")
    target = (lab.nodes["alpha"].address(0), 694)
    sent = 0
    errors: dict[str, int] = {}
    with lab.client_socket(kind=socket.SOCK_DGRAM) as sock:
        for index, datagram in enumerate(mutated_datagrams(FUZZ_COUNT)):
            try:
                sock.sendto(datagram, target)
                sent += 1
            except OSError as exc:
                errors[str(exc)] = errors.get(str(exc), 0) + 1
            if index % 40 == 39:
                time.sleep(0.008)  # ≈ 5000/s: the engine's socket buffer must not overflow
    assert sent >= FUZZ_COUNT * 0.99, f"sendto failed: {errors}"

    def settled() -> int | None:
        now = _rejected(cluster, "alpha")
        time.sleep(0.3)
        return now if now == _rejected(cluster, "alpha") else None

    after = wait_until(settled, timeout=20, interval=0, what="rejected_total settles")
    counted = after - before
    print(f"\n[{formed.variant}] sent {sent} bad datagrams, rejected_total +{counted}")
    cluster.check_alive()
    assert cluster.everyone_sees("active", NAMES)
    assert counted >= 0.9 * sent
    for name in NAMES:
        assert not [line for line in cluster.engines[name].log_lines() if "is dead" in line]


@dataclass
class DeathWatch:
    """Polls observers every 20 ms and records charlie's state and last-heard age."""

    cluster: Cluster
    observers: tuple[str, ...]
    victim: str
    polls: dict[str, list[tuple[float, float, str, float | None]]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        for name in self.observers:
            self.polls[name] = []
        while not self._stop.is_set():
            for name in self.observers:
                asked = time.monotonic()
                status = self.cluster.engines[name].try_status()
                answered = time.monotonic()
                if status is not None:
                    entry: dict[str, Any] = nodes_by_name(status).get(self.victim, {})
                    heard = entry.get("last_heard_ms")
                    age = None if heard is None else float(heard) / 1000
                    self.polls[name].append((asked, answered, str(entry.get("status")), age))
            self._stop.wait(POLL)

    def stop(self) -> None:
        self._stop.set()

    def first_dead(self, name: str) -> tuple[float, float]:
        """(time of the last poll still alive, time the first 'dead' answer arrived)."""
        previous = 0.0
        for asked, answered, state, _age in self.polls[name]:
            if state == "dead":
                return previous, answered
            previous = asked
        raise AssertionError(f"{name} never reported {self.victim} dead: {self.polls[name][-5:]}")

    def last_heard(self, name: str, before: float) -> float | None:
        """Latest moment ``name`` had heard the victim, from polls before ``before``."""
        moments = [
            asked - age
            for asked, _answered, state, age in self.polls[name]
            if age is not None and asked < before and state != "dead"
        ]
        return max(moments) if moments else None


def test_b_sigkill_detected_within_window(formed: Formed) -> None:
    cluster, lab = formed.cluster, formed.cluster.lab
    watch = DeathWatch(cluster, ("alpha", "bravo"), "charlie")
    thread = threading.Thread(target=watch.run, daemon=True)
    thread.start()
    time.sleep(0.5)
    killed_wall = time.time()
    killed = lab.kill_node("charlie")
    try:
        wait_until(
            lambda: cluster.everyone_sees("dead", ["charlie"], ["alpha", "bravo"]),
            timeout=5,
            what="charlie dead on alpha and bravo",
        )
        time.sleep(0.1)
    finally:
        watch.stop()
        thread.join(2)
    deadtime, keepalive = TIMERS.deadtime_s, TIMERS.keepalive_s
    upper = deadtime + keepalive + 0.2
    for observer in ("alpha", "bravo"):
        last_alive_poll, dead_seen = watch.first_dead(observer)
        heard = watch.last_heard(observer, dead_seen)
        latency = dead_seen - killed
        print(
            f"\n[{formed.variant}] {observer}: charlie dead seen {latency * 1000:.0f} ms after "
            f"SIGKILL (last alive poll {max(0.0, last_alive_poll - killed) * 1000:.0f} ms); "
            + ("" if heard is None else f"last heard {(killed - heard) * 1000:.0f} ms before kill")
        )
        assert latency <= upper + POLL + 0.05, f"{observer}: too late: {latency:.3f} s > {upper}"
        # Lower bound: never earlier than deadtime after the last packet really received.
        if heard is not None:
            assert dead_seen - heard >= deadtime - POLL, f"{observer}: declared dead too early"
        else:
            assert latency >= deadtime - keepalive - POLL
        lines = cluster.engines[observer].log_entries(r"node charlie: is dead")
        assert lines, f"{observer} did not log 'node charlie: is dead'"
        logged = lines[0].time
        assert logged is not None, lines[0].text
        assert killed_wall - 1 <= logged <= killed_wall + upper + 1.0, lines[0].text
    assert cluster.everyone_sees("active", ["alpha", "bravo"], ["alpha", "bravo"])
