"""Two real engines over loopback UDP: formation, failover, standby, graceful leave."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.control.status import find_node, is_up, parse_status
from tests.control.test_status_doc import mistyped
from tests.integration.loopback import Cluster, held_by, node_status, wait_for


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.close()


def formed(cluster: Cluster) -> None:
    cluster.start()
    for me, peer in (("alpha", "bravo"), ("bravo", "alpha")):
        wait_for(lambda me=me, peer=peer: node_status(cluster[me].status(), peer) == "active", 10)
    # Heartbeat's settle delay (10 s) before the home node takes its group.
    wait_for(lambda: held_by(cluster["alpha"].status()) == "alpha", 20)
    wait_for(lambda: cluster["alpha"].holds("one") and cluster["alpha"].holds("two"), 5)
    assert not cluster["bravo"].holds("one")


def keeps_the_contract(doc: dict[str, Any] | None) -> None:
    """A running engine's status document reads with every declared field of the declared
    type, and is written back byte for byte (engine/control/status.py)."""
    assert doc is not None
    parsed = parse_status(doc)
    assert mistyped(parsed) == []
    assert json.dumps(parsed.to_json()) == json.dumps(doc)
    assert [node.name for node in parsed.nodes] == [node["name"] for node in doc["nodes"]]


@pytest.mark.slow
def test_crash_failover_and_failback(cluster: Cluster) -> None:
    formed(cluster)
    doc = cluster["alpha"].status()
    assert doc and [r["state"] for r in doc["groups"][0]["resources"]] == ["running", "running"]
    keeps_the_contract(doc)
    bravo = find_node(parse_status(doc), "bravo")
    assert bravo is not None and is_up(bravo)
    killed = time.monotonic()
    cluster["alpha"].kill()
    wait_for(lambda: cluster["bravo"].holds("two"), 5)
    took = time.monotonic() - killed
    print(f"crash -> group running on bravo: {took * 1000:.0f} ms")
    assert took < 2.5
    doc = cluster["bravo"].status()
    group = doc["groups"][0] if doc else {}
    assert group.get("held_by") == "bravo"
    assert "alpha declared dead after" in group.get("reason", "")
    keeps_the_contract(doc)
    alpha = find_node(parse_status(doc), "alpha")
    assert alpha is not None and alpha.status == "dead" and not is_up(alpha)
    assert "WARN: node alpha: is dead" in cluster["bravo"].log()
    # alpha comes back with its resources still "running" from before the crash: it
    # stops them before joining, then auto_failback on returns the group exactly once.
    assert cluster["alpha"].holds("one")
    cluster.start("alpha")
    wait_for(
        lambda: "Resource demo-svc::one is active, and should not be!" in cluster["alpha"].log(), 10
    )
    wait_for(lambda: held_by(cluster["bravo"].status()) == "alpha", 30)
    wait_for(lambda: cluster["alpha"].holds("two") and not cluster["bravo"].holds("one"), 10)
    assert "Heartbeat restart on node alpha" in cluster["bravo"].log()


@pytest.mark.slow
def test_standby_refused_then_moves_and_graceful_leave(cluster: Cluster) -> None:
    formed(cluster)
    out = cluster["alpha"].ctl("standby", "bogus")
    assert out.returncode != 0
    out = cluster["alpha"].ctl("standby")
    assert out.returncode == 0, out.stderr
    wait_for(lambda: held_by(cluster["bravo"].status()) == "bravo", 15)
    wait_for(lambda: cluster["bravo"].holds("two") and not cluster["alpha"].holds("one"), 5)
    # Graceful stop of the holder: the peer sees a shutdown, not a death first.
    time.sleep(0.5)
    assert cluster["bravo"].stop() == 0
    wait_for(lambda: cluster["alpha"].holds("two"), 10)
    log = cluster["alpha"].log()
    assert "Received shutdown notice from 'bravo'." in log
    notice = log.index("Received shutdown notice from 'bravo'.")
    assert "node bravo: is dead" not in log[:notice]
    # With the peer gone, standby is refused with a reason.
    wait_for(lambda: node_status(cluster["alpha"].status(), "bravo") == "dead", 5)
    out = cluster["alpha"].ctl("standby")
    assert out.returncode == 1
    assert "bravo" in out.stderr


def test_bad_control_requests_and_garbage_change_nothing(cluster: Cluster) -> None:
    import socket as sk

    cluster.start()
    for me, peer in (("alpha", "bravo"), ("bravo", "alpha")):
        wait_for(lambda me=me, peer=peer: node_status(cluster[me].status(), peer) == "active", 10)
    alpha = cluster["alpha"]
    with sk.socket(sk.AF_UNIX, sk.SOCK_STREAM) as conn:
        conn.connect(str(alpha.state_dir / "control.sock"))
        conn.sendall(b"not json\n")
        reply = conn.recv(4096)
    assert b"bad_request" in reply
    port = int((alpha.config_dir / "ha.cf").read_text().split("udpport ")[1].split()[0])
    with sk.socket(sk.AF_INET, sk.SOCK_DGRAM) as udp:
        for i in range(2000):
            udp.sendto(bytes([i % 256]) * (i % 300 + 1), (alpha.address, port))
            if i % 20 == 19:
                time.sleep(0.01)  # stay under the socket buffer: we count, not flood
    time.sleep(1.0)
    doc = alpha.status()
    assert doc is not None
    assert node_status(doc, "bravo") == "active"
    assert doc["counters"]["rejected_total"] >= 1900, doc["counters"]
    assert doc["counters"]["control_bad_requests"] >= 1
    assert doc["counters"]["control_dropped_events"] == 0  # nobody subscribed


def test_one_node_cluster_runs_its_groups_and_stops(tmp_path: Path) -> None:
    """ha.cf names only alpha: nobody can answer its ``starting``, so it takes its group
    at comm-up (it used to wait in STARTING for ever) and a graceful stop completes."""
    alone = Cluster(tmp_path, names=("alpha",))
    try:
        alone.start()
        wait_for(lambda: held_by(alone["alpha"].status()) == "alpha", 10)
        wait_for(lambda: alone["alpha"].holds("one") and alone["alpha"].holds("two"), 5)
        doc = alone["alpha"].status()
        assert doc and doc["resources"]["state"] == "stable"
        assert "no other node in ha.cf" in doc["groups"][0]["reason"]
        assert alone["alpha"].stop() == 0
        assert not alone["alpha"].holds("one") and not alone["alpha"].holds("two")
        assert "All HA resources relinquished." in alone["alpha"].log()
    finally:
        alone.close()
