"""Ping nodes and ipfail in namespaces: the lab's client namespace plays the router."""

from __future__ import annotations

import time
from typing import Any

import pytest

from engine.core.ipfail import MIN_GIVEUP_DELAY
from lab import wait_until
from lab.cluster import Cluster, Timers, ucast_lines
from lab.netns import CLIENT_ADDRESS, run
from tests.integration.loopback import RESOURCE_SCRIPT
from tests.netns.conftest import LabFactory, engine_available, lab_available, make_lab

__all__ = ["engine_available", "lab_available", "make_lab"]
pytestmark = [pytest.mark.netns, pytest.mark.slow]

DEADPING = 1.5
TIMERS = Timers(keepalive="200ms", deadtime="2", warntime="1", initdead="4")
GIVEUP_DELAY = max(2 * TIMERS.keepalive_s, MIN_GIVEUP_DELAY)
"""ipfail's delayed give-up as the engine computes it from this keepalive."""
MARGIN = 0.4
"""Messages of the standby exchange, the engine's timer and our 20 ms status polls."""
SECOND_ROUTER = "10.99.0.101"
"""A second address of the router namespace, for ping_group."""


def held_by(status: dict[str, Any] | None) -> str | None:
    if not status or not status.get("groups"):
        return None
    value = status["groups"][0].get("held_by")
    return None if value is None else str(value)


def node_state(status: dict[str, Any] | None, name: str) -> str | None:
    for node in (status or {}).get("nodes", []):
        if node["name"] == name:
            return str(node["status"])
    return None


def start(make_lab: LabFactory, ping_line: str, ping_node: str) -> Cluster:
    lab = make_lab(["alpha", "bravo"], networks=1)
    if ping_line.startswith("ping_group"):
        run(["ip", "-n", lab.client, "addr", "add", f"{SECOND_ROUTER}/24", "dev", "eth0"])
    cluster = Cluster(
        lab,
        media=[*ucast_lines(lab, "eth0", 0), ping_line],
        timers=TIMERS,
        haresources="alpha demo-svc::one\n",
        extra=f"deadping {int(DEADPING * 1000)}ms\n"
        "respawn hacluster /usr/libexec/heartbeat/ipfail\n",
        scripts={"demo-svc": RESOURCE_SCRIPT},
    )
    cluster.start_all()
    for me in ("alpha", "bravo"):
        wait_until(lambda me=me: node_state(cluster.status(me), ping_node) == "ping", 15)
    wait_until(lambda: held_by(cluster.status("bravo")) == "alpha", 30)
    wait_until(lambda: held_by(cluster.status("alpha")) == "alpha", 10)
    return cluster


def cut_route(cluster: Cluster, name: str, address: str = CLIENT_ADDRESS) -> None:
    cluster.lab.node(name).exec(["ip", "route", "add", "blackhole", f"{address}/32"])
    assert not cluster.lab.ping(name, address), f"{name} still reaches {address}"


def span(cluster: Cluster, node: str, begin: str, end: str, after: float) -> float | None:
    """Seconds between the last ``begin`` and the following ``end`` debug-log lines."""
    entries = [e for e in cluster.engines[node].log_entries(f"{begin}|{end}", True) if e.time]
    starts = [e.time for e in entries if begin in e.text and e.time and e.time >= after]
    if not starts:
        return None
    ends = [e.time for e in entries if end in e.text and e.time and e.time >= starts[-1]]
    return ends[0] - starts[-1] if ends else None


def running_on(cluster: Cluster, name: str) -> bool:
    status = cluster.status(name) or {}
    groups = status.get("groups") or [{}]
    return held_by(status) == name and groups[0].get("state") == "running"


def handover_spans(cluster: Cluster, after: float) -> tuple[float, float] | None:
    """(release on alpha, start on bravo) in seconds, once both are in the debug logs."""
    release = span(cluster, "alpha", "Releasing resource group", "release completed", after)
    acquire = span(cluster, "bravo", "Acquiring resource group", "acquisition completed", after)
    return None if release is None or acquire is None else (release, acquire)


def wait_handover(cluster: Cluster, cut_wall: float, cut: float) -> None:
    """The group runs on bravo within deadping + give-up delay + measured stop/start."""
    wait_until(lambda: running_on(cluster, "bravo"), DEADPING + 15, 0.02, "group on bravo")
    took = time.monotonic() - cut
    release, acquire = wait_until(lambda: handover_spans(cluster, cut_wall), 5, 0.05, "logs")
    bound = DEADPING + GIVEUP_DELAY + release + acquire + MARGIN
    print(
        f"alpha lost the router -> group on bravo after {took * 1000:.0f} ms; bound "
        f"{bound * 1000:.0f} ms = deadping {DEADPING * 1000:.0f} + give-up delay "
        f"{GIVEUP_DELAY * 1000:.0f} + release on alpha {release * 1000:.0f} + start on bravo "
        f"{acquire * 1000:.0f} (measured, debug log) + margin {MARGIN * 1000:.0f}"
    )
    assert node_state(cluster.status("bravo"), "alpha") == "active"  # no death, a hand-over
    # the last echo reply came at most a keepalive (+ scheduling) before the cut
    earliest = DEADPING + GIVEUP_DELAY - TIMERS.keepalive_s - 0.1
    assert earliest <= took <= bound


def test_active_node_losing_the_router_hands_over(
    make_lab: LabFactory, engine_available: None
) -> None:
    cluster = start(make_lab, f"ping {CLIENT_ADDRESS}", CLIENT_ADDRESS)
    status = cluster.status("alpha")
    ping = next(n for n in status["nodes"] if n["name"] == CLIENT_ADDRESS) if status else {}
    assert ping["type"] == "ping" and [lk["name"] for lk in ping["links"]] == [CLIENT_ADDRESS]
    cut_wall, cut = time.time(), time.monotonic()
    cut_route(cluster, "alpha")
    wait_handover(cluster, cut_wall, cut)


def test_ping_group_is_reachable_while_any_member_answers(
    make_lab: LabFactory, engine_available: None
) -> None:
    cluster = start(make_lab, f"ping_group routers {CLIENT_ADDRESS} {SECOND_ROUTER}", "routers")
    status = cluster.status("alpha") or {}
    group = next(n for n in status["nodes"] if n["name"] == "routers")
    assert group["type"] == "ping" and [lk["name"] for lk in group["links"]] == ["routers"]
    # one member gone: the group still answers, nothing moves
    cut_route(cluster, "alpha", SECOND_ROUTER)
    quiet_until = time.monotonic() + DEADPING + GIVEUP_DELAY + 1.0
    while time.monotonic() < quiet_until:
        for me in ("alpha", "bravo"):
            status = cluster.status(me)
            assert node_state(status, "routers") == "ping", f"{me}: group lost with one member"
            assert held_by(status) == "alpha", f"{me}: group moved with one member left"
        time.sleep(0.05)
    # every member gone: alpha hands over like with a single ping node
    cut_wall, cut = time.time(), time.monotonic()
    cut_route(cluster, "alpha", CLIENT_ADDRESS)
    wait_handover(cluster, cut_wall, cut)
    assert node_state(cluster.status("alpha"), "routers") == "dead"
    assert node_state(cluster.status("bravo"), "routers") == "ping"


def test_both_losing_the_router_moves_nothing(make_lab: LabFactory, engine_available: None) -> None:
    cluster = start(make_lab, f"ping {CLIENT_ADDRESS}", CLIENT_ADDRESS)
    cut_route(cluster, "alpha")
    cut_route(cluster, "bravo")
    wait_until(lambda: node_state(cluster.status("alpha"), CLIENT_ADDRESS) == "dead", 10)
    wait_until(lambda: node_state(cluster.status("bravo"), CLIENT_ADDRESS) == "dead", 10)
    time.sleep(3)
    assert held_by(cluster.status("alpha")) == "alpha"
    assert held_by(cluster.status("bravo")) == "alpha"
