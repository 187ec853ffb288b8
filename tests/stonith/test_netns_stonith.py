"""STONITH acceptance on real engines in network namespaces (root only).

Two nodes, heartbeat on eth0+eth1, a power switch (lab/powerswitch.py) on a third
network driven by ``external/labswitch``; group ``alpha IPaddr2::10.99.0.10/24/eth0
hbweb``. A sampler records every 20 ms who holds the VIP. ``HATUI_DEATHMATCH_REPS``
sets the repetitions of the symmetric-cut test: 5 by default (one takes ~11.5 s, most of
it waiting for the restarted node's deadtime to settle), 10 with ``HATUI_SOAK=1``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from lab import Lab, VipSampler, engine_importable, lab_unavailable_reason, wait_until
from lab.cluster import Cluster, Timers, ucast_lines
from lab.hbweb import PORT, hbweb_script
from lab.powerswitch import PORT as SWITCH_PORT
from lab.powerswitch import PowerSwitch, install_plugin

VIP = "10.99.0.10"
HARESOURCES = f"alpha IPaddr2::{VIP}/24/eth0 hbweb\n"
TIMERS = Timers(keepalive="200ms", deadtime="1", warntime="600ms", initdead="3")
ACQUIRE_TIMEOUT = 30.0
REPS = int(
    os.environ.get("HATUI_DEATHMATCH_REPS", "10" if os.environ.get("HATUI_SOAK") == "1" else "3")
)

pytestmark = pytest.mark.netns


@dataclass
class FencedPair:
    """alpha + bravo with STONITH through the lab power switch."""

    lab: Lab
    cluster: Cluster
    switch: PowerSwitch
    sampler: VipSampler

    def served_by(self) -> str | None:
        reply = self.lab.http_get(VIP, PORT, timeout=0.2)
        return None if reply is None or reply.status != 200 else reply.body

    def wait_served_by(self, node: str, timeout: float) -> float:
        wait_until(lambda: self.served_by() == node, timeout, 0.02, f"VIP served by {node}")
        return time.monotonic()

    def log(self, node: str) -> list[str]:
        return self.cluster.engines[node].log_lines()


@pytest.fixture
def fenced_pair() -> Iterator[Callable[..., FencedPair]]:
    reason = lab_unavailable_reason() or engine_importable()
    if reason is not None:
        pytest.skip(f"namespace lab not available: {reason}")
    made: list[tuple[Lab, FencedPair]] = []

    def factory(
        stonith: str = "",
        hatui_conf: str = "",
        haresources: str = HARESOURCES,
        scripts: dict[str, str] | None = None,
    ) -> FencedPair:
        lab = Lab(["alpha", "bravo"], networks=3)
        lab.start()
        switch = PowerSwitch(lab, network=2)
        switch.start()
        line = stonith or f"external/labswitch {switch.address} {SWITCH_PORT} alpha bravo"
        cluster = Cluster(
            lab,
            [*ucast_lines(lab, "eth0", 0), *ucast_lines(lab, "eth1", 1)],
            TIMERS,
            haresources=haresources,
            extra=f"stonith_host * {line}\n",
            scripts={"hbweb": hbweb_script(), **(scripts or {})},
        )
        for name in cluster.names:
            cluster.configure(name)
            config_dir = lab.node_dirs(name)[0]
            install_plugin(config_dir)
            conf = "stonith_retry_min = 500ms\nstonith_retry_max = 2\nstonith_timeout = 5\n"
            (config_dir / "hatui.conf").write_text(conf + hatui_conf)
        sampler = lab.vip_sampler(VIP)
        sampler.start()
        pair = FencedPair(lab, cluster, switch, sampler)
        made.append((lab, pair))
        cluster.start_all()
        cluster.wait_all_active(timeout=15)
        pair.wait_served_by("alpha", ACQUIRE_TIMEOUT)
        cluster.wait_settled()
        return pair

    yield factory
    for lab, pair in reversed(made):
        pair.sampler.stop()
        pair.switch.stop()
        lab.close()


def _index(lines: list[str], text: str, start: int = 0) -> int:
    return next((i for i, line in enumerate(lines) if i >= start and text in line), -1)


def _assert_fenced_then_acquired(lines: list[str], node: str) -> None:
    resetting = _index(lines, f"Resetting node {node} with [lab power switch]")
    reset = _index(lines, f"node {node} now reset.", resetting)
    acquiring = _index(lines, "Acquiring resource group", reset)
    assert 0 <= resetting < reset < acquiring, "\n".join(lines[-40:])


def test_crash_of_active_peer_fences_then_takes_over(
    fenced_pair: Callable[..., FencedPair],
) -> None:
    pair = fenced_pair()
    pair.lab.kill_node("alpha")
    pair.wait_served_by("bravo", TIMERS.deadtime_s + 8)
    assert pair.switch.resets() == ["alpha"]
    _assert_fenced_then_acquired(pair.log("bravo"), "alpha")
    stonith = pair.cluster.status("bravo")["stonith"]  # type: ignore[index]
    assert stonith["last"]["alpha"]["ok"] is True
    assert pair.sampler.max_holders() <= 1


def test_frozen_active_is_fenced_and_never_serves_again(
    fenced_pair: Callable[..., FencedPair],
) -> None:
    pair = fenced_pair()
    frozen_at = time.monotonic()
    pair.lab.sigstop("alpha")
    pair.wait_served_by("bravo", TIMERS.deadtime_s + 8)
    time.sleep(max(0.0, frozen_at + 3 * TIMERS.deadtime_s - time.monotonic()))
    pair.lab.sigcont("alpha")
    for _ in range(20):  # 2 s after the resume: only bravo ever answers
        assert pair.served_by() == "bravo"
        time.sleep(0.1)
    assert pair.switch.resets() == ["alpha"]
    _assert_fenced_then_acquired(pair.log("bravo"), "alpha")
    assert pair.sampler.max_holders() <= 1
    assert not pair.cluster.engines["alpha"].alive()


def test_fencing_device_down_blocks_takeover_until_it_returns(
    fenced_pair: Callable[..., FencedPair],
) -> None:
    pair = fenced_pair()
    pair.switch.stop()
    pair.lab.kill_node("alpha")
    wait_until(
        lambda: sum("STONITH of alpha failed.  Retrying..." in x for x in pair.log("bravo")) >= 3,
        15,
        0.1,
        "three failed fencing attempts",
    )
    assert pair.served_by() is None
    lines = pair.log("bravo")
    assert any("fencing alpha failed:" in x and "Connection refused" in x for x in lines), (
        "\n".join(lines[-30:])
    )
    status = pair.cluster.status("bravo") or {}
    assert "Connection refused" in status["stonith"]["last"]["alpha"]["reason"]
    group = next(g for g in status["groups"] if g["key"].startswith("IPaddr2"))
    assert group["held_by"] is None and "STONITH of alpha" in group["reason"]
    pair.switch.start()
    pair.wait_served_by("bravo", 8)
    assert pair.sampler.max_holders() <= 1


def test_meatware_takeover_waits_for_the_operator(
    fenced_pair: Callable[..., FencedPair],
) -> None:
    pair = fenced_pair(stonith="meatware alpha bravo")
    pair.lab.kill_node("alpha")
    bravo = pair.cluster.engines["bravo"]
    wait_until(
        lambda: (bravo.try_status() or {}).get("stonith", {}).get("meatware_waiting") == ["alpha"],
        10,
        0.1,
        "bravo waits for the operator",
    )
    time.sleep(2)
    assert pair.served_by() is None
    proc = bravo.hactl("meatware", "confirm", "alpha")
    assert proc.returncode == 0, proc.stderr
    pair.wait_served_by("bravo", 8)
    lines = pair.log("bravo")
    assert _index(lines, "OPERATOR INTERVENTION REQUIRED to reset alpha.") >= 0
    assert _index(lines, "Meatware reset of alpha confirmed by") < _index(
        lines, "Acquiring resource group"
    )


def test_manual_stonith_is_audited_and_the_death_after_it_needs_no_second_reset(
    fenced_pair: Callable[..., FencedPair],
) -> None:
    """``hactl stonith alpha`` on bravo: the switch resets alpha (the holder) once; bravo
    then declares it dead and takes over without resetting it again."""
    pair = fenced_pair()
    proc = pair.cluster.engines["bravo"].hactl("stonith", "alpha")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == (
        "STONITH of alpha started with [lab power switch]; see the log for the result"
    )
    pair.wait_served_by("bravo", TIMERS.deadtime_s + 8)
    time.sleep(0.5)  # a second reset would come before the takeover, this is margin
    assert pair.switch.resets() == ["alpha"]
    lines = pair.log("bravo")
    who = "root (uid 0, pid "
    steps = [
        f"STONITH of alpha requested by {who}",
        "Resetting node alpha with [lab power switch]",
        "node alpha now reset.",
        f"alpha was reset at the request of {who}",
        "node alpha: is dead",
        f"Node alpha was already reset (reset at the request of {who}",
        "Acquiring resource group",
    ]
    at = [_index(lines, steps[0])]
    for step in steps[1:]:
        at.append(_index(lines, step, at[-1] + 1))
    assert min(at) >= 0, dict(zip(steps, at, strict=True))
    assert sum("Resetting node alpha" in x for x in lines) == 1
    last = pair.cluster.status("bravo")["stonith"]["last"]["alpha"]  # type: ignore[index]
    assert last["ok"] is True and str(last["requested_by"]).startswith(who)
    assert pair.sampler.max_holders() <= 1


def _more_resets(switch: PowerSwitch, before: int) -> Callable[[], bool]:
    return lambda: len(switch.resets()) > before


@pytest.mark.timeout(60 + 15 * REPS)
def test_symmetric_cut_death_match_exactly_one_fence(
    fenced_pair: Callable[..., FencedPair],
) -> None:
    pair = fenced_pair(hatui_conf="stonith_delay = 2\n")
    started = time.monotonic()
    for rep in range(REPS):
        before = len(pair.switch.resets())
        for ifname in ("eth0", "eth1"):
            pair.lab.link_down("alpha", ifname)
        wait_until(_more_resets(pair.switch, before), 10, 0.05, "a fence")
        time.sleep(2 * 2.0)  # past the loser's delay: it must not fence too
        resets = pair.switch.resets()[before:]
        assert resets == ["bravo"], f"repetition {rep}: resets {resets}"
        assert pair.lab.holders_via_ip(VIP) == {"alpha"}
        for ifname in ("eth0", "eth1"):
            pair.lab.link_up("alpha", ifname)
        pair.wait_served_by("alpha", 5)
        pair.cluster.engines["bravo"].reap()
        pair.cluster.start("bravo")
        pair.cluster.wait_all_active(timeout=15)
        pair.cluster.wait_settled()
    took = time.monotonic() - started
    print(f"\ndeath match: {REPS} repetitions, exactly one fence each, {took:.1f} s")
    assert pair.sampler.max_holders() <= 1


STUBBORN = """#!/bin/sh
# stubborn: an LSB-style resource whose stop fails while $DIR/stubborn.nostop exists.
DIR=$(cd "$(dirname "$0")/.." && pwd)
case "$1" in
start) touch "$DIR/stubborn.state"; exit 0 ;;
stop)
    [ -e "$DIR/stubborn.nostop" ] && { echo "stubborn: refusing to stop" >&2; exit 1; }
    rm -f "$DIR/stubborn.state"; exit 0 ;;
status)
    [ -e "$DIR/stubborn.state" ] && { echo "stubborn is running"; exit 0; }
    echo "stubborn is stopped"; exit 0 ;;
esac
exit 0
"""


def test_node_that_cannot_stop_is_fenced_before_the_peer_starts(
    fenced_pair: Callable[..., FencedPair],
) -> None:
    pair = fenced_pair(
        haresources=f"alpha IPaddr2::{VIP}/24/eth0 hbweb stubborn\n",
        scripts={"stubborn": STUBBORN},
    )
    alpha_dir = pair.lab.node_dirs("alpha")[0]
    (alpha_dir / "stubborn.nostop").touch()
    proc = pair.cluster.engines["alpha"].hactl("standby")
    assert proc.returncode == 0, proc.stderr
    pair.wait_served_by("bravo", 20)
    assert pair.switch.resets() == ["alpha"]
    lines = pair.log("bravo")
    failed = _index(lines, "alpha failed to stop")
    resetting = _index(lines, "Resetting node alpha with [lab power switch]", failed)
    reset = _index(lines, "node alpha now reset.", resetting)
    acquiring = _index(lines, "Acquiring resource group", reset)
    assert 0 <= failed < resetting < reset < acquiring, "\n".join(lines[-40:])
    assert any("Resource STOP failure" in x for x in pair.log("alpha"))
    assert pair.sampler.max_holders() <= 1
