"""Failover acceptance on real processes: two engines, a VIP and an HTTP service.

``haresources``: ``alpha IPaddr2::10.99.0.10/24/eth0 hbweb`` (hbweb serves the node name
on port 8080). A sampler records every 20 ms which node holds the VIP; the client
namespace probes the service. Measured numbers are printed (``-s`` to see them).
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from lab import ArpCapture, Lab, VipSampler, wait_until
from lab.cluster import Cluster, Timers, ucast_lines
from lab.hbweb import PORT, hbweb_script, service_events
from tests.netns.conftest import LabFactory

VIP = "10.99.0.10"
HARESOURCES = f"alpha IPaddr2::{VIP}/24/eth0 hbweb\n"
TIMERS = Timers(keepalive="200ms", deadtime="1", warntime="600ms", initdead="3")
ACQUIRE_TIMEOUT = 30.0  # Heartbeat waits ~10 s after comm-up before the first acquisition
OCF_IPADDR2 = "/usr/lib/ocf/resource.d/heartbeat/IPaddr2"
SOAK = os.environ.get("HATUI_SOAK") == "1"
FAILED_START = (
    "start failed: start of hbweb failed (exit 1: hbweb: start failure requested); "
    f"stopped IPaddr2::{VIP}/24/eth0 again"
)


@dataclass
class Pair:
    """alpha + bravo with the web group, the VIP sampler running."""

    lab: Lab
    cluster: Cluster
    sampler: VipSampler

    def served_by(self, timeout: float = 0.3) -> str | None:
        """Which node answers HTTP on the VIP right now (None: nobody)."""
        reply = self.lab.http_get(VIP, PORT, timeout=timeout)
        return None if reply is None or reply.status != 200 else reply.body

    def group(self, observer: str) -> dict[str, Any]:
        """The web group as ``observer`` reports it."""
        status = self.cluster.status(observer)
        if status is None:
            return {}  # not answering (yet): callers wait or fail on the missing group
        groups = status.get("groups")
        assert groups is not None, f"{observer}: status --json has no groups: {status}"
        return next((g for g in groups if str(g.get("key", "")).startswith("IPaddr2")), {})

    def held_by(self, observer: str) -> str | None:
        """``groups[].held_by`` for the web group as ``observer`` reports it."""
        value = self.group(observer).get("held_by")
        return str(value) if value else None

    def wait_served_by(self, node: str, timeout: float) -> float:
        """Probe HTTP every 20 ms (overlapping probes) until ``node`` answers on the VIP;
        returns the monotonic time of that answer."""
        return self.lab.wait_http_body(VIP, PORT, node, timeout, 0.02)


def _start_pair(
    make_lab: LabFactory,
    auto_failback: str = "on",
    failing: bool = False,
    *,
    extra: str = "",
    hatui_conf: str = "",
    markers: tuple[str, ...] = (),
) -> Pair:
    """alpha + bravo with the web group; ``extra`` goes to ha.cf, ``hatui_conf`` to
    hatui.conf; ``markers`` are hbweb files (hbweb.probe...)."""
    lab = make_lab(["alpha", "bravo"], networks=2)
    media = [*ucast_lines(lab, "eth0", 0), *ucast_lines(lab, "eth1", 1)]
    cluster = Cluster(
        lab,
        media,
        TIMERS,
        haresources=HARESOURCES,
        extra=extra,
        auto_failback=auto_failback,
        scripts={"hbweb": hbweb_script()},
        hatui_conf=hatui_conf,
    )
    for name in cluster.names:
        cluster.configure(name)
        for marker in (*markers, *(["hbweb.fail"] if failing else [])):
            (lab.node_dirs(name)[0] / marker).touch()
    sampler = lab.vip_sampler(VIP)
    sampler.start()
    cluster.start_all()
    cluster.wait_all_active(timeout=15)
    pair = Pair(lab, cluster, sampler)
    assert pair.group("alpha"), "alpha reports no web group"
    return pair


@pytest.fixture
def pair_factory(make_lab: LabFactory, engine_available: None) -> Iterator[Callable[..., Pair]]:
    started: list[Pair] = []

    def factory(auto_failback: str = "on", failing: bool = False) -> Pair:
        pair = _start_pair(make_lab, auto_failback, failing)
        started.append(pair)
        return pair

    yield factory
    for pair in started:
        pair.sampler.stop()


def _wall_to_mono(wall: float) -> float:
    return wall - (time.time() - time.monotonic())


def _line_index(lines: list[str], pattern: str) -> int:
    regex = re.compile(pattern)
    return next((i for i, line in enumerate(lines) if regex.search(line)), -1)


def test_cold_start_alpha_holds_single_owner_and_start_order(
    pair_factory: Callable[..., Pair],
) -> None:
    pair = pair_factory()
    served_at = pair.wait_served_by("alpha", ACQUIRE_TIMEOUT)
    wait_until(lambda: pair.held_by("bravo") == "alpha", 5, 0.05, "bravo sees alpha holding")
    time.sleep(1.0)
    assert pair.held_by("alpha") == "alpha"
    assert pair.sampler.owner_sequence() == [frozenset(), frozenset({"alpha"})]
    assert pair.sampler.max_holders() == 1
    first_held = pair.sampler.first_time(lambda h: "alpha" in h)
    started = pair.cluster.engines["alpha"].started_at
    print(f"\nVIP on alpha {first_held - started:.2f} s after alpha's engine started")
    assert first_held <= served_at
    # Start order: the IP first, then the service (log line order and timestamps).
    lines = pair.cluster.engines["alpha"].log_lines()
    ip_start = _line_index(lines, r"Running .*IPaddr2 .*start")
    web_start = _line_index(lines, r"Running .*hbweb .*start")
    assert 0 <= ip_start < web_start, "\n".join(lines[-30:])
    events = service_events(pair.lab.node_dirs("alpha")[0])
    web_started = next(e for e in events if e.action == "start")
    assert web_started.node == "alpha", "hbweb did not get HA_CURHOST=alpha"
    assert first_held <= _wall_to_mono(web_started.time) + 0.05
    assert not service_events(pair.lab.node_dirs("bravo")[0])


def test_crash_of_active_vip_answers_from_bravo(pair_factory: Callable[..., Pair]) -> None:
    pair = pair_factory()
    pair.wait_served_by("alpha", ACQUIRE_TIMEOUT)
    pair.cluster.wait_settled()
    with ArpCapture(pair.lab.client) as capture:
        crashed = pair.lab.kill_node("alpha")
        answered = pair.wait_served_by("bravo", TIMERS.deadtime_s + 5)
        garp = _gratuitous_arp_from(pair, capture, "bravo", crashed)
    print(f"\ncrash of alpha -> gratuitous ARP from bravo after {(garp - crashed) * 1000:.0f} ms")
    assert garp - crashed <= TIMERS.deadtime_s + 0.5
    took = answered - crashed
    print(
        f"\ncrash of alpha -> VIP answers from bravo after {took * 1000:.0f} ms (Heartbeat: 1435)"
    )
    assert took <= TIMERS.deadtime_s + 0.5
    live = [s.holders - {"alpha"} for s in pair.sampler.samples if s.time >= crashed]
    assert max(len(h) for h in live) == 1
    assert pair.held_by("bravo") == "bravo"


def _gratuitous_arp_from(pair: Pair, capture: ArpCapture, node: str, after: float) -> float:
    """Monotonic time of the first gratuitous ARP for the VIP from ``node``'s eth0 after
    ``after`` (a takeover announces the address it took); fails if none comes in 3 s."""
    mac = pair.lab.nodes[node].exec(["cat", "/sys/class/net/eth0/address"]).stdout.strip()

    def announced() -> list[float]:
        return [p.time for p in capture.gratuitous_for(VIP, after) if p.sender_mac == mac]

    wait_until(announced, 3, 0.02, f"gratuitous ARP for {VIP} from {node} ({mac})")
    return announced()[0]


def _crash_and_revive_alpha(pair: Pair) -> float:
    """Crash alpha, let bravo take over, then 'reboot' alpha (no VIP, fresh engine).

    Returns the monotonic time just before alpha's engine was started again: with
    ``auto_failback on`` bravo may already be releasing by the time both report active.
    """
    pair.wait_served_by("alpha", ACQUIRE_TIMEOUT)
    pair.cluster.wait_settled()
    pair.lab.kill_node("alpha")
    pair.wait_served_by("bravo", TIMERS.deadtime_s + 5)
    pair.lab.nodes["alpha"].exec(["ip", "addr", "del", f"{VIP}/24", "dev", "eth0"], check=False)
    pair.lab.revive_node("alpha")
    restarted = time.monotonic()
    pair.cluster.start("alpha")
    pair.cluster.wait_all_active(timeout=15)
    return restarted


def test_auto_failback_on_returns_once(pair_factory: Callable[..., Pair]) -> None:
    pair = pair_factory("on")
    revived = _crash_and_revive_alpha(pair)
    pair.wait_served_by("alpha", ACQUIRE_TIMEOUT)
    print(f"\nfailback to alpha {time.monotonic() - revived:.2f} s after its engine restarted")
    time.sleep(2.0)
    after = [s.holders for s in pair.sampler.samples if s.time >= revived]
    changes = [h for i, h in enumerate(after) if i == 0 or h != after[i - 1]]
    assert changes in ([{"bravo"}, set(), {"alpha"}], [{"bravo"}, {"alpha"}]), changes
    assert pair.served_by() == "alpha"


def test_auto_failback_off_stays_on_bravo(
    pair_factory: Callable[..., Pair], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also the end-to-end run of resource-agents' IPaddr2 (the built-in path off)."""
    monkeypatch.setenv("HATUI_NATIVE_IP", "0")  # the engines inherit the environment
    pair = pair_factory("off")
    with ArpCapture(pair.lab.client) as capture:
        started = time.monotonic()
        revived = _crash_and_revive_alpha(pair)
        _gratuitous_arp_from(pair, capture, "bravo", started)
    for node in ("alpha", "bravo"):
        lines = pair.cluster.engines[node].log_lines()
        ocf_start = re.escape(f"Running {OCF_IPADDR2} {VIP}/24/eth0 start")
        assert _line_index(lines, ocf_start) >= 0, node
        assert _line_index(lines, r"built-in IPaddr2") == -1, node
    time.sleep(15.0)  # longer than Heartbeat's delay before the first acquisition
    assert all(s.holders == {"bravo"} for s in pair.sampler.samples if s.time >= revived)
    assert pair.served_by() == "bravo"
    assert pair.held_by("alpha") == "bravo"


def _outage(pair: Pair, action: Callable[[], None], new_owner: str, timeout: float) -> float:
    """Run ``action`` and measure the HTTP gap until ``new_owner`` answers (seconds)."""
    last_old = time.monotonic()
    action()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        asked = time.monotonic()
        who = pair.served_by(0.2)
        if who == new_owner:
            return asked - last_old
        if who is not None:
            last_old = asked
        time.sleep(0.02)
    raise AssertionError(f"{new_owner} never answered on the VIP within {timeout} s")


def test_standby_then_takeover_moves_group(pair_factory: Callable[..., Pair]) -> None:
    pair = pair_factory()
    pair.wait_served_by("alpha", ACQUIRE_TIMEOUT)
    alpha = pair.cluster.engines["alpha"]

    def standby() -> None:
        proc = alpha.hactl("standby")
        assert proc.returncode == 0, proc.stdout + proc.stderr

    gap = _outage(pair, standby, "bravo", 20)
    print(f"\nstandby handover outage {gap * 1000:.0f} ms (Heartbeat: 1676)")
    wait_until(lambda: pair.held_by("alpha") == "bravo", 10, 0.05, "alpha sees bravo holding")

    def takeover() -> None:
        proc = alpha.hactl("takeover")
        assert proc.returncode == 0, proc.stdout + proc.stderr

    gap = _outage(pair, takeover, "alpha", 20)
    print(f"takeover outage {gap * 1000:.0f} ms")
    assert pair.sampler.max_holders() == 1


def test_standby_refused_when_peer_down(pair_factory: Callable[..., Pair]) -> None:
    pair = pair_factory()
    pair.wait_served_by("alpha", ACQUIRE_TIMEOUT)
    pair.cluster.wait_settled()
    pair.lab.kill_node("bravo")
    wait_until(
        lambda: pair.cluster.everyone_sees("dead", ["bravo"], ["alpha"]), 5, 0.05, "bravo dead"
    )
    proc = pair.cluster.engines["alpha"].hactl("standby")
    print(
        f"\nstandby with peer down: exit {proc.returncode}: {(proc.stdout + proc.stderr).strip()}"
    )
    assert proc.returncode != 0
    assert (proc.stdout + proc.stderr).strip(), "refusal must say why"
    why = "bravo is dead: it cannot take resources now"
    assert proc.returncode == 1 and proc.stderr.strip() == f"hactl: standby all refused: {why}"
    proc = pair.cluster.engines["alpha"].hactl("takeover")
    assert proc.returncode == 1 and proc.stderr.strip() == f"hactl: takeover all refused: {why}"
    time.sleep(1.0)
    assert pair.served_by() == "alpha"


def test_start_failure_rolls_back_without_loop(pair_factory: Callable[..., Pair]) -> None:
    pair = pair_factory(failing=True)
    config_dirs = {name: pair.lab.node_dirs(name)[0] for name in ("alpha", "bravo")}
    wait_until(
        lambda: any(e.action == "start" for e in service_events(config_dirs["alpha"])),
        ACQUIRE_TIMEOUT,
        0.1,
        "alpha tries to start hbweb",
    )
    wait_until(lambda: not pair.sampler.current(), 10, 0.05, "VIP released again")
    group = wait_until(
        lambda: (
            (g := pair.group("alpha")) and g.get("state") != "running" and g.get("reason") and g
        ),
        10,
        0.1,
        "group reported failed with a reason",
    )
    print(f"\nfailed group as alpha reports it: {group}")
    group = _wait_failed(pair)
    time.sleep(5.0)
    starts = {
        n: sum(e.action == "start" for e in service_events(d)) for n, d in config_dirs.items()
    }
    print(f"hbweb start attempts after 5 s: {starts}")
    assert starts["alpha"] <= 2 and starts["bravo"] <= 2, f"start loop: {starts}"
    assert not pair.sampler.current()
    lines = pair.cluster.engines["alpha"].log_lines()
    assert _line_index(lines, r"Giving up resources due to failure of hbweb") >= 0
    ip_stop = _line_index(lines, r"Running .*IPaddr2 .*stop")
    assert ip_stop > _line_index(lines, r"Running .*hbweb .*start")
    push = r"failed: start failed: .*; asking bravo to take the local groups in 30 s"
    assert _line_index(lines, push) >= 0, "\n".join(lines[-30:])


def _wait_failed(pair: Pair) -> dict[str, Any]:
    """Wait until alpha reports the web group failed; assert the reason and each member."""
    group = wait_until(
        lambda: (g := pair.group("alpha")).get("state") == "failed" and g,
        10,
        0.1,
        "alpha reports the group failed",
    )
    assert str(group["reason"]).startswith(FAILED_START), group["reason"]
    members = {r["name"]: (r["state"], r["reason"]) for r in group["resources"]}
    assert members == {
        f"IPaddr2::{VIP}/24/eth0": ("stopped", ""),
        "hbweb": ("failed", "start of hbweb failed (exit 1: hbweb: start failure requested)"),
    }
    return dict(group)


@pytest.mark.skipif(not SOAK, reason="waits out two 30 s pushes (~100 s): set HATUI_SOAK=1")
def test_start_failure_everywhere_no_loop_across_the_push(
    pair_factory: Callable[..., Pair],
) -> None:
    """hbweb fails on both nodes: alpha gives up and pushes the group to bravo 30 s later
    (Heartbeat's hb_standby), bravo fails and pushes it back once, alpha tries once more;
    then nothing moves. Heartbeat itself would ping-pong every 30 s forever."""
    pair = pair_factory(failing=True)
    dirs = {name: pair.lab.node_dirs(name)[0] for name in ("alpha", "bravo")}

    def starts() -> dict[str, int]:
        return {n: sum(e.action == "start" for e in service_events(d)) for n, d in dirs.items()}

    wait_until(lambda: starts()["alpha"] == 1, ACQUIRE_TIMEOUT, 0.1, "alpha tries hbweb")
    _wait_failed(pair)
    wait_until(lambda: starts()["bravo"] == 1, 40, 0.2, "the push: bravo tries hbweb")
    wait_until(lambda: starts()["alpha"] == 2, 40, 0.2, "bravo pushes it back once")
    _wait_failed(pair)
    time.sleep(40.0)  # past another push interval: nobody tries again
    print(f"\nhbweb start attempts: {starts()}")
    assert starts() == {"alpha": 2, "bravo": 1}
    assert pair.sampler.max_holders() <= 1 and not pair.sampler.current()
    bravo_lines = pair.cluster.engines["bravo"].log_lines()
    assert _line_index(bravo_lines, r"asking alpha to take the foreign groups in 30 s") >= 0


def test_frozen_engine_without_stonith_releases_on_resume(
    pair_factory: Callable[..., Pair],
) -> None:
    """SIGSTOP alpha's engine for 3x deadtime: bravo takes over unfenced (no STONITH, so
    both hold the VIP meanwhile); on SIGCONT alpha sees its own stall and lets go at once,
    without a late ARP repeat that would point the client back at it; then it rejoins
    and both nodes are stable again (the group stays on bravo: auto_failback off)."""
    pair = pair_factory("off")
    pair.wait_served_by("alpha", ACQUIRE_TIMEOUT)  # frozen inside its 1 s of ARP repeats
    alpha = pair.cluster.engines["alpha"]
    alpha_mac = pair.lab.nodes["alpha"].exec(["cat", "/sys/class/net/eth0/address"]).stdout
    with ArpCapture(pair.lab.client) as capture:
        frozen = time.monotonic()
        os.kill(alpha.pid, signal.SIGSTOP)
        try:
            pair.wait_served_by("bravo", TIMERS.deadtime_s + 3)  # while alpha is frozen
            time.sleep(max(0.0, frozen + 3 * TIMERS.deadtime_s - time.monotonic()))
        finally:
            resumed = time.monotonic()
            os.kill(alpha.pid, signal.SIGCONT)
        released = wait_until(
            lambda: "alpha" not in pair.sampler.current() and time.monotonic(),
            3,
            0.02,
            "alpha drops the VIP after resuming",
        )
        for _ in range(10):  # the client reaches bravo all along
            assert pair.served_by() == "bravo"
            time.sleep(0.1)
    print(f"\nalpha released the VIP {(released - resumed) * 1000:.0f} ms after SIGCONT")
    late = [p for p in capture.gratuitous_for(VIP, resumed) if p.sender_mac == alpha_mac.strip()]
    assert late == [], "alpha announced the VIP after it resumed"
    lines = alpha.log_lines()
    stalled = _line_index(lines, r"main loop stalled for \d+ ms \(longer than deadtime\)")
    releasing = _line_index(lines, r"Local stall of \d+ ms exceeds deadtime: releasing all")
    assert 0 <= stalled <= releasing, "\n".join(lines[-30:])
    assert _line_index(lines[releasing:], r"Running .*IPaddr2 .*stop") > 0
    assert pair.sampler.current() == {"bravo"}
    # Released, alpha rejoins as a starting node: bravo answers that it holds the group
    # (auto_failback off: it stays there) and both end stable, so requests work again.
    wait_until(
        lambda: _line_index(alpha.log_lines(), r"Self-fence complete: rejoining") >= 0,
        5, 0.05, "alpha rejoins after the self-fence",
    )  # fmt: skip

    def both_stable() -> bool:
        docs = [pair.cluster.status(n) for n in ("alpha", "bravo")]
        return all(d is not None and d["resources"]["stable"] for d in docs)

    wait_until(both_stable, 5, 0.1, "both nodes stable after alpha's rejoin")
    assert pair.sampler.current() == {"bravo"}
