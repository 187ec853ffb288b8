"""One-way loss on real engines (issue 15.3): real UDP, real cluster IPs, nft faults.

alpha is home of VIP_A, bravo of VIP_B (auto_failback on, no STONITH), two media
(ucast eth0, eth1). A fault drops everything one node sends to the other, on one
medium or on both, in the sender's output hook (a one-way firewall rule) or in the
receiver's input hook (a broken transmit path). Two samplers record every 20 ms who
holds each VIP over the whole fault and the heal. The numbers are printed (``-s``).

* All media: the receiver declares the sender dead and takes its VIP; the sender,
  which still hears it, sees the claim and that it is not heard, and releases its VIP.
  No dual owner after deadtime + 2 keepalives from the start of the fault, exactly one
  owner when it ends, and after the heal the VIP goes home without a dual owner.
* One medium of two: nothing fails over, nobody is declared dead, nothing released.

One lab and one cluster serve the whole module; each test starts from (and leaves)
the cluster at rest with each VIP at home. HATUI_SOAK=1 holds each fault 30 s.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from lab import Lab, VipSampler, wait_until
from lab.cluster import Cluster, Timers, ucast_lines
from lab.oneway import dual_owner_spans, holders_at, one_way_loss

VIP = {"alpha": "10.99.0.10", "bravo": "10.99.0.20"}
HARESOURCES = "".join(f"{node} IPaddr2::{ip}/24/eth0\n" for node, ip in VIP.items())
TIMERS = Timers(keepalive="200ms", deadtime="1", warntime="600ms", initdead="3")
SOAK = os.environ.get("HATUI_SOAK") == "1"
FAULT_S = 30.0 if SOAK else 3.0
"""How long each fault lasts: well past deadtime + the release."""
BOUND_S = TIMERS.deadtime_s + 2 * TIMERS.keepalive_s
"""No dual owner later than this after the fault starts (the issue's bound)."""
OTHER = {"alpha": "bravo", "bravo": "alpha"}


@dataclass
class Pair:
    """The module's lab and cluster."""

    lab: Lab
    cluster: Cluster

    def status(self, node: str) -> dict[str, Any]:
        status = self.cluster.status(node)
        assert status is not None, f"{node} does not answer status"
        return status

    def one_way(self, node: str) -> dict[str, Any]:
        view = self.status(node)["resources"].get("one_way")
        assert isinstance(view, dict), f"{node}: no resources.one_way in status --json"
        return view

    def at_rest(self) -> bool:
        """Each VIP held at home only, both stable, nobody releasing for one-way loss."""
        for node in VIP:
            status = self.cluster.status(node)
            if status is None or not status["resources"].get("stable"):
                return False
            if status["resources"]["one_way"]["state"] != "watching":
                return False
            held = {g["key"].split("::")[1].split("/")[0]: g["held_by"] for g in status["groups"]}
            if held != {ip: home for home, ip in VIP.items()}:
                return False
        return all(self.lab.holders_via_ip(ip) == {home} for home, ip in VIP.items())

    def wait_at_rest(self, timeout: float) -> None:
        wait_until(self.at_rest, timeout, 0.1, "each VIP at home, both nodes stable")

    def counter(self, node: str, name: str) -> int:
        return int(self.status(node)["counters"].get(name, 0))


@pytest.fixture(scope="module")
def pair(lab_available: None, engine_available: None) -> Iterator[Pair]:
    lab = Lab(["alpha", "bravo"], networks=2, client=False)
    lab.start()
    try:
        media = [*ucast_lines(lab, "eth0", 0), *ucast_lines(lab, "eth1", 1)]
        cluster = Cluster(lab, media, TIMERS, haresources=HARESOURCES, auto_failback="on")
        cluster.start_all()
        cluster.wait_all_active(timeout=15)
        cluster.wait_settled()
        pair = Pair(lab, cluster)
        pair.wait_at_rest(timeout=40)  # the first acquisition waits out RSCRCVD (10 s)
        yield pair
    finally:
        lab.close()


@dataclass
class Watch:
    """Samplers of both VIPs over a fault, and the fault's times."""

    samplers: dict[str, VipSampler]
    start: float = 0.0
    end: float = 0.0


def _sampled_fault(
    pair: Pair, sender: str, ifnames: list[str], at: str, hold: float
) -> tuple[Watch, dict[str, Any]]:
    """Run the fault for ``hold`` s with both VIPs sampled; returns the samples and the
    sender's ``resources.one_way`` just before the fault ends. Sampling goes on until
    the cluster is at rest again (after the heal)."""
    samplers = {node: pair.lab.vip_sampler(ip) for node, ip in VIP.items()}
    watch = Watch(samplers)
    for sampler in samplers.values():
        sampler.start()
    try:
        time.sleep(0.1)
        with one_way_loss(pair.lab, sender, OTHER[sender], ifnames, at=at) as started:
            watch.start = started
            time.sleep(hold)
            view = pair.one_way(sender)
            watch.end = time.monotonic()
        pair.wait_at_rest(timeout=20)
        time.sleep(0.2)
    finally:
        for sampler in samplers.values():
            sampler.stop()
    return watch, view


def _report(title: str, watch: Watch) -> None:
    for node, sampler in watch.samplers.items():
        spans = dual_owner_spans(sampler.samples)
        longest = max((s.seconds for s in spans), default=0.0)
        where = ", ".join(
            f"{s.start - watch.start:+.2f} s for {s.seconds * 1000:.0f} ms" for s in spans
        )
        print(
            f"\n{title}: {node}'s VIP {VIP[node]}: {len(sampler.samples)} samples, "
            f"owners {[sorted(h) for h in sampler.owner_sequence()]}, dual owner "
            f"{len(spans)} time(s), max {longest * 1000:.0f} ms ({where or 'never'})"
        )


@pytest.mark.parametrize(
    ("sender", "at"),
    [("alpha", "sender"), ("bravo", "receiver")],
    ids=["alpha-output-drop", "bravo-input-drop"],
)
def test_one_way_loss_on_all_media_leaves_one_owner(pair: Pair, sender: str, at: str) -> None:
    pair.wait_at_rest(timeout=20)
    receiver = OTHER[sender]
    releases = int(pair.one_way(sender)["releases"])
    watch, view = _sampled_fault(pair, sender, ["eth0", "eth1"], at, FAULT_S)
    _report(f"one-way loss {sender} -> {receiver}, all media ({at})", watch)
    samples = watch.samplers[sender].samples
    late = [s for s in samples if s.time > watch.start + BOUND_S and len(s.holders) > 1]
    assert not late, f"{VIP[sender]} held by two nodes {late[0].time - watch.start:.2f} s in"
    assert holders_at(samples, watch.end) == {receiver}, "one owner, the peer, at the fault's end"
    after = [s for s in samples if s.time >= watch.end]
    assert max(len(s.holders) for s in after) <= 1, "a dual owner during the heal"
    others = watch.samplers[receiver]
    assert others.owner_sequence() == [frozenset({receiver})], "the peer's own VIP moved"
    assert view["state"] == "released" and view["peer_hears_us"] is False, view
    assert view["groups"] == [f"IPaddr2::{VIP[sender]}/24/eth0"], view
    assert f"{receiver} claims IPaddr2::{VIP[sender]}" in view["reason"], view
    assert int(pair.one_way(sender)["releases"]) == releases + 1
    log = "\n".join(pair.cluster.engines[sender].log_lines())
    assert f"One-way communication: {receiver} took over IPaddr2::{VIP[sender]}" in log
    assert f"{receiver} hears us again after one-way communication: rejoining." in log


@pytest.mark.parametrize(
    ("sender", "ifname", "at"),
    [("alpha", "eth0", "sender"), ("bravo", "eth1", "receiver")],
    ids=["alpha-eth0-output-drop", "bravo-eth1-input-drop"],
)
def test_one_way_loss_on_one_medium_moves_nothing(
    pair: Pair, sender: str, ifname: str, at: str
) -> None:
    pair.wait_at_rest(timeout=20)
    deaths = {node: pair.counter(node, "deaths") for node in VIP}
    releases = int(pair.one_way(sender)["releases"])
    watch, view = _sampled_fault(pair, sender, [ifname], at, max(FAULT_S / 2, 2.0))
    _report(f"one-way loss {sender} -> {OTHER[sender]} on {ifname} only ({at})", watch)
    for node, sampler in watch.samplers.items():
        assert sampler.owner_sequence() == [frozenset({node})], f"{VIP[node]} moved"
    assert {node: pair.counter(node, "deaths") for node in VIP} == deaths
    assert view["state"] == "watching" and view["peer_hears_us"] is True, view
    assert int(pair.one_way(sender)["releases"]) == releases


def test_two_way_partition_heal_is_not_taken_for_one_way_loss(pair: Pair) -> None:
    """Both directions lost on all media: each node declares the other dead and runs
    both VIPs (no STONITH). On the heal each node's first heartbeats from the other
    predate hearing it and the hold reports claim its groups; the one-way rule must not
    act (the ordinary resolution does: the non-home node releases)."""
    pair.wait_at_rest(timeout=20)
    releases = {node: int(pair.one_way(node)["releases"]) for node in VIP}
    samplers = {node: pair.lab.vip_sampler(ip) for node, ip in VIP.items()}
    for sampler in samplers.values():
        sampler.start()
    try:
        media = ["eth0", "eth1"]
        with (
            one_way_loss(pair.lab, "alpha", "bravo", media, at="receiver"),
            one_way_loss(pair.lab, "bravo", "alpha", media, at="receiver") as started,
        ):
            wait_until(
                lambda: all(pair.lab.holders_via_ip(ip) == set(VIP) for ip in VIP.values()),
                10,
                0.05,
                "both nodes run both VIPs (split brain, no STONITH)",
            )
        healed = time.monotonic()
        pair.wait_at_rest(timeout=20)
        time.sleep(0.5)
    finally:
        for sampler in samplers.values():
            sampler.stop()
    watch = Watch(samplers, start=started, end=healed)
    _report("two-way partition, then heal", watch)
    assert {node: int(pair.one_way(node)["releases"]) for node in VIP} == releases
    for node, sampler in samplers.items():
        assert sampler.owner_sequence()[-1] == {node}, f"{VIP[node]} not back home"
        assert holders_at(sampler.samples, sampler.samples[-1].time) == {node}
