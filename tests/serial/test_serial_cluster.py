"""Two real engines in two network namespaces joined by a socat pty pair (a null-modem
cable), then by pty + ucast. The pty pair lives in the root namespace; /dev/pts is shared,
so each engine opens its end from inside its namespace."""

from __future__ import annotations

import shutil
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.transport.serial import line_capacity
from hatui.viewmodel import link_rows
from lab import wait_until
from lab.cluster import Cluster, Timers
from lab.engine import link_state, node_state
from tests.netns.conftest import LabFactory, engine_available, lab_available, make_lab
from tests.serial.ptys import (
    PtyBridge,
    bridge_links,
    lock_file,
    remove_dead_locks,
    serial_lab_cluster,
)

__all__ = ["engine_available", "lab_available", "make_lab"]
pytestmark = [
    pytest.mark.netns,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed"),
]

POLL = 0.02
"""Status poll period while timing a cut (direct control-socket requests)."""
SLACK = 0.15
"""What a detection may exceed deadtime by: the engine's timer plus our polling."""


@pytest.fixture
def bridge(tmp_path: Path) -> Iterator[PtyBridge]:
    b = PtyBridge(bridge_links(tmp_path))
    b.start()
    try:
        yield b
    finally:
        b.kill()
        remove_dead_locks((*b.ptys, *map(str, b.links)))


def medium(doc: dict[str, Any] | None, name: str) -> dict[str, Any]:
    for item in (doc or {}).get("links", []):
        if item["name"] == name:
            return dict(item)
    raise AssertionError(f"no link {name} in status")


def peer_link(doc: dict[str, Any], node: str, link: str) -> dict[str, Any]:
    for entry in doc.get("nodes", []):
        if entry["name"] == node:
            for item in entry["links"]:
                if item["name"] == link:
                    return dict(item)
    raise AssertionError(f"no link {link} of {node} in status")


def line_rates(cluster: Cluster, ttys: tuple[str, str], window: float) -> dict[str, float]:
    """Bytes per second each engine received on its serial link over ``window`` seconds."""

    def received() -> tuple[int, int]:
        return (
            medium(cluster.status("alpha"), ttys[0])["bytes_received"],
            medium(cluster.status("bravo"), ttys[1])["bytes_received"],
        )

    first, start = received(), time.monotonic()
    time.sleep(window)
    last, elapsed = received(), time.monotonic() - start
    return {
        "bravo->alpha": (last[0] - first[0]) / elapsed,
        "alpha->bravo": (last[1] - first[1]) / elapsed,
    }


def check_serial_link_is_listed(cluster: Cluster, tty: str) -> None:
    """``hactl status --json`` and the console's link table show the serial link by name."""
    doc = cluster.engines["bravo"].hactl_status()
    assert medium(doc, tty)["kind"] == "serial"
    link = peer_link(doc, "alpha", tty)
    assert link["status"] == "up"
    assert link["last_heard_ms"] is not None and link["last_heard_ms"] < 2500
    assert link["intervals_ms"], "no heartbeat timing on the serial link"
    # a status goes out every keepalive, plus an extra one on each change of our state
    assert 800 <= statistics.median(link["intervals_ms"]) <= 1200, link["intervals_ms"]
    rows = [r for r in link_rows(doc, time.monotonic(), time.monotonic()) if r.link == tty]
    assert [(r.node, r.medium, r.state.split()[-1]) for r in rows] == [("alpha", "serial", "up")]
    text = cluster.engines["bravo"].hactl("status")
    assert f"link {tty}" in text.stdout, text.stdout


def test_serial_only_cluster_at_19200_fits_and_detects_cut(
    make_lab: LabFactory, engine_available: None, bridge: PtyBridge
) -> None:
    assert all(p.startswith("/dev/pts/") for p in bridge.ptys), bridge.ptys
    timers = Timers(keepalive="1", deadtime="4", warntime="2", initdead="8")
    lab = make_lab(["alpha", "bravo"], networks=1, client=False)
    cluster = serial_lab_cluster(lab, bridge.ptys, baud=19200, timers=timers)
    cluster.wait_all_active(20)
    alpha_tty, bravo_tty = bridge.ptys
    for name, tty in zip(("alpha", "bravo"), bridge.ptys, strict=True):
        engine = cluster.engines[name]
        started = f"Starting serial heartbeat on tty {tty} (19200 baud)"
        assert any(started in line for line in engine.log_lines())
        assert lock_file(tty).read_text() == f"{engine.pid:10d}\n"

    rates = line_rates(cluster, bridge.ptys, 4.0)
    capacity = line_capacity(19200)
    for direction, rate in rates.items():
        print(
            f"serial {direction} at keepalive 1 s: {rate:.0f} B/s of {capacity:.0f} B/s "
            f"({100 * rate / capacity:.1f} % of 19200 baud 8N1, headroom "
            f"{100 * (1 - rate / capacity):.1f} %)"
        )
        assert rate > 0, direction
        assert rate <= 0.5 * capacity, f"{direction}: less than 50 % headroom"
    check_serial_link_is_listed(cluster, bravo_tty)
    cluster.wait_settled()

    # pull the cable: socat dies, both ptys vanish
    cut_wall, cut = time.time(), time.monotonic()
    bridge.kill()
    wait_until(
        lambda: node_state(cluster.status("bravo") or {}, "alpha") == "dead",
        timers.deadtime_s + 5,
        POLL,
        "bravo declares alpha dead",
    )
    seen = time.monotonic() - cut
    logged = [e.time for e in cluster.engines["bravo"].log_entries("node alpha: is dead", True)]
    declared = (logged[-1] - cut_wall) if logged and logged[-1] else float("nan")
    print(
        f"bridge killed -> alpha dead on bravo: declared after {declared * 1000:.0f} ms "
        f"(debug log), seen after {seen * 1000:.0f} ms (poll {POLL * 1000:.0f} ms); "
        f"deadtime {timers.deadtime_s * 1000:.0f} ms"
    )
    # not before deadtime after the last heartbeat (at most a keepalive before the cut)
    assert timers.deadtime_s - timers.keepalive_s - SLACK <= seen <= timers.deadtime_s + SLACK
    for name, tty in zip(("alpha", "bravo"), bridge.ptys, strict=True):
        assert any("port lost" in line for line in cluster.engines[name].log_lines())
        assert not lock_file(tty).exists(), f"{name} kept the lock of a lost port"
    assert alpha_tty != bravo_tty


def test_serial_plus_ucast_cutting_either_marks_only_that_link(
    make_lab: LabFactory, engine_available: None, bridge: PtyBridge
) -> None:
    timers = Timers(keepalive="500ms", deadtime="2", warntime="1", initdead="4")
    lab = make_lab(["alpha", "bravo"], networks=1, client=False)
    ttys = (str(bridge.links[0]), str(bridge.links[1]))
    cluster = serial_lab_cluster(lab, ttys, baud=115200, timers=timers, ucast=True)
    cluster.wait_all_active(20)
    cluster.wait_settled()
    own = {"alpha": ttys[0], "bravo": ttys[1]}
    peer = {"alpha": "bravo", "bravo": "alpha"}

    def links(state_serial: str, state_ucast: str) -> bool:
        for me, other in peer.items():
            doc = cluster.status(me) or {}
            if link_state(doc, other, own[me]) != state_serial:
                return False
            if link_state(doc, other, "eth0") != state_ucast:
                return False
        return True

    def both_active() -> None:
        for me, other in peer.items():
            assert node_state(cluster.status(me) or {}, other) == "active", (me, other)

    wait_until(lambda: links("up", "up"), 10, 0.05, "serial and ucast up")
    # ucast: alpha's veth goes down; the serial cable carries the cluster
    lab.link_down("alpha", "eth0")
    wait_until(lambda: links("up", "dead"), timers.deadtime_s + 3, 0.05, "only eth0 dead")
    time.sleep(timers.keepalive_s * 2)
    assert links("up", "dead")
    both_active()
    lab.link_up("alpha", "eth0")
    wait_until(lambda: links("up", "up"), 10, 0.05, "eth0 back up")

    # serial: the bridge dies; ucast carries the cluster
    bridge.kill()
    wait_until(lambda: links("dead", "up"), timers.deadtime_s + 3, 0.05, "only serial dead")
    time.sleep(timers.keepalive_s * 2)
    assert links("dead", "up")
    both_active()
    bridge.start()  # same symlink names, new /dev/pts numbers: the adapter came back
    wait_until(lambda: links("up", "up"), 20, 0.1, "serial back up after reopen")
    both_active()
    for name in peer:
        assert any("port is back; reopened" in x for x in cluster.engines[name].log_lines())
