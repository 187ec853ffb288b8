"""Two real engines joined only by a socat pty pair (a null-modem cable), then by pty + UDP."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.control.client import ControlClient
from engine.transport.serial import line_capacity
from tests.integration.loopback import Node, node_status, wait_for
from tests.serial.ptys import PtyBridge, serial_cluster

pytestmark = pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed")


def link_of(doc: dict[str, Any] | None, node: str, link: str) -> dict[str, Any] | None:
    for entry in (doc or {}).get("nodes", []):
        if entry["name"] == node:
            for item in entry["links"]:
                if item["name"] == link:
                    return dict(item)
    return None


def medium(doc: dict[str, Any] | None, name: str) -> dict[str, Any]:
    for item in (doc or {}).get("links", []):
        if item["name"] == name:
            return dict(item)
    raise AssertionError(f"no link {name} in status")


@pytest.fixture
def bridge(tmp_path: Path) -> Iterator[PtyBridge]:
    b = PtyBridge((tmp_path / "ttyA", tmp_path / "ttyB"))
    b.start()
    try:
        yield b
    finally:
        b.kill()


@contextlib.contextmanager
def running(nodes: dict[str, Node]) -> Iterator[dict[str, Node]]:
    for node in nodes.values():
        node.start()
    try:
        yield nodes
    finally:
        for node in nodes.values():
            node.kill()


def wait_formed(nodes: dict[str, Node], timeout: float = 15) -> None:
    for me, peer in (("alpha", "bravo"), ("bravo", "alpha")):
        wait_for(
            lambda me=me, peer=peer: node_status(nodes[me].status(), peer) == "active", timeout, 0.2
        )


@pytest.mark.slow
def test_serial_only_cluster_at_19200_fits_and_detects_cut(
    tmp_path: Path, bridge: PtyBridge
) -> None:
    assert all(p.startswith("/dev/pts/") for p in bridge.ptys), bridge.ptys
    nodes = serial_cluster(tmp_path, bridge.links, baud=19200, keepalive="1", deadtime="4")
    with running(nodes):
        wait_formed(nodes)
        bravo = nodes["bravo"]
        assert "Starting serial heartbeat on tty" in bravo.log()
        tty = str(bridge.links[1])
        # heartbeat traffic over a measured window, alpha -> bravo direction of the line
        first = medium(bravo.status(), tty)
        t0 = time.monotonic()
        time.sleep(5)
        second = medium(bravo.status(), tty)
        elapsed = time.monotonic() - t0
        rate = (second["bytes_received"] - first["bytes_received"]) / elapsed
        capacity = line_capacity(19200)
        print(
            f"serial heartbeat traffic at keepalive 1 s: {rate:.0f} B/s of {capacity:.0f} B/s "
            f"({100 * rate / capacity:.1f} % of 19200 baud)"
        )
        assert rate > 0
        assert rate <= 0.5 * capacity, "less than 50 % headroom on the serial line"
        up = link_of(bravo.status(), "alpha", tty)
        assert up and up["status"] == "up"
        # pull the cable: socat dies, both ptys vanish
        cut = time.monotonic()
        bridge.kill()
        wait_for(lambda: node_status(bravo.status(), "alpha") == "dead", 10, 0.1)
        detected = time.monotonic() - cut
        print(
            f"bridge killed -> alpha dead on bravo after {detected * 1000:.0f} ms "
            f"(deadtime 4000 ms + keepalive 1000 ms)"
        )
        assert detected <= 4 + 1 + 0.5
        assert "port lost" in bravo.log()


@pytest.mark.slow
def test_serial_port_comes_back_and_link_recovers(tmp_path: Path, bridge: PtyBridge) -> None:
    nodes = serial_cluster(
        tmp_path,
        bridge.links,
        baud=115200,
        keepalive="500ms",
        deadtime="3",
        warntime="1500ms",
        initdead="6",
        ucast=True,
    )
    with running(nodes):
        wait_formed(nodes)
        bravo, tty = nodes["bravo"], str(bridge.links[1])
        wait_for(lambda: (link_of(bravo.status(), "alpha", tty) or {}).get("status") == "up", 5)
        bridge.kill()
        wait_for(
            lambda: (link_of(bravo.status(), "alpha", tty) or {}).get("status") == "dead", 8, 0.1
        )
        assert node_status(bravo.status(), "alpha") == "active"  # ucast keeps it alive
        bridge.start()
        wait_for(
            lambda: (link_of(bravo.status(), "alpha", tty) or {}).get("status") == "up", 20, 0.2
        )
        assert "port is back; reopened" in bravo.log()


@pytest.mark.slow
def test_serial_plus_ucast_cutting_either_marks_only_that_link(
    tmp_path: Path, bridge: PtyBridge
) -> None:
    nodes = serial_cluster(
        tmp_path,
        bridge.links,
        baud=115200,
        keepalive="500ms",
        deadtime="3",
        warntime="1500ms",
        initdead="6",
        ucast=True,
    )
    with running(nodes):
        wait_formed(nodes)
        alpha, bravo = nodes["alpha"], nodes["bravo"]
        tty = str(bridge.links[1])

        def state(link: str) -> str | None:
            return (link_of(bravo.status(), "alpha", link) or {}).get("status")

        wait_for(lambda: state(tty) == "up" and state("lo") == "up", 5)
        # cut ucast on alpha (fault injection): serial carries on
        _cut(alpha, "lo", False)
        wait_for(lambda: state("lo") == "dead", 8, 0.1)
        assert state(tty) == "up"
        time.sleep(1)
        assert node_status(bravo.status(), "alpha") == "active"
        _cut(alpha, "lo", True)
        wait_for(lambda: state("lo") == "up", 5)
        # cut serial: ucast carries on
        _cut(alpha, str(bridge.links[0]), False)
        wait_for(lambda: state(tty) == "dead", 8, 0.1)
        assert state("lo") == "up"
        time.sleep(1)
        assert node_status(bravo.status(), "alpha") == "active"


def _cut(node: Node, link: str, up: bool) -> None:
    """Fault injection through the control socket (engines run --allow-fault-injection)."""

    async def call() -> Any:
        client = ControlClient()
        await client.connect(node.state_dir / "control.sock")
        try:
            return await client.call("debug_link", link=link, up=up)
        finally:
            await client.aclose()

    result = asyncio.run(call())
    assert result["up"] is up
