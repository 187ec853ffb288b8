"""Ping nodes and ipfail in namespaces: the lab's client namespace plays the router."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.integration.loopback import RESOURCE_SCRIPT
from tests.lab import wait_until
from tests.lab.cluster import Cluster, Timers, ucast_lines
from tests.lab.netns import CLIENT_ADDRESS
from tests.netns.conftest import LabFactory, engine_available, lab_available, make_lab

__all__ = ["engine_available", "lab_available", "make_lab"]
pytestmark = [pytest.mark.netns, pytest.mark.slow]

DEADPING = 1.5


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


def start(make_lab: LabFactory) -> Cluster:
    lab = make_lab(["alpha", "bravo"], networks=1)
    cluster = Cluster(
        lab,
        media=[*ucast_lines(lab, "eth0", 0), f"ping {CLIENT_ADDRESS}"],
        timers=Timers(keepalive="200ms", deadtime="2", warntime="1", initdead="4"),
        haresources="alpha demo-svc::one\n",
        extra=f"deadping {int(DEADPING * 1000)}ms\n"
        "respawn hacluster /usr/libexec/heartbeat/ipfail\n",
        scripts={"demo-svc": RESOURCE_SCRIPT},
    )
    cluster.start_all()
    for me in ("alpha", "bravo"):
        wait_until(lambda me=me: node_state(cluster.status(me), CLIENT_ADDRESS) == "ping", 15)
    wait_until(lambda: held_by(cluster.status("bravo")) == "alpha", 30)
    return cluster


def cut_route(cluster: Cluster, name: str) -> None:
    cluster.lab.node(name).exec(["ip", "route", "add", "blackhole", f"{CLIENT_ADDRESS}/32"])


def test_active_node_losing_the_router_hands_over(
    make_lab: LabFactory, engine_available: None
) -> None:
    cluster = start(make_lab)
    status = cluster.status("alpha")
    ping = next(n for n in status["nodes"] if n["name"] == CLIENT_ADDRESS) if status else {}
    assert ping["type"] == "ping" and [lk["name"] for lk in ping["links"]] == [CLIENT_ADDRESS]
    cut = time.monotonic()
    cut_route(cluster, "alpha")
    wait_until(lambda: held_by(cluster.status("bravo")) == "bravo", DEADPING + 15)
    took = time.monotonic() - cut
    print(
        f"alpha lost the router -> group on bravo after {took * 1000:.0f} ms "
        f"(deadping {DEADPING * 1000:.0f} ms)"
    )
    assert node_state(cluster.status("bravo"), "alpha") == "active"  # no death, a hand-over
    assert took < DEADPING + 10


def test_both_losing_the_router_moves_nothing(make_lab: LabFactory, engine_available: None) -> None:
    cluster = start(make_lab)
    cut_route(cluster, "alpha")
    cut_route(cluster, "bravo")
    wait_until(lambda: node_state(cluster.status("alpha"), CLIENT_ADDRESS) == "dead", 10)
    wait_until(lambda: node_state(cluster.status("bravo"), CLIENT_ADDRESS) == "dead", 10)
    time.sleep(3)
    assert held_by(cluster.status("alpha")) == "alpha"
    assert held_by(cluster.status("bravo")) == "alpha"
