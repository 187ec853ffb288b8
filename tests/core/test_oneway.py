"""The one-way loss guard (engine/core/oneway.py) with a fake clock, and the membership
fact it needs (``PeerHearsUs``)."""

from __future__ import annotations

from dataclasses import replace

from engine.core import events as ev
from engine.core.membership import HEARS_FIELD
from engine.core.oneway import (
    OneWayFacts,
    OneWayGuard,
    Phase,
    Rejoin,
    ReleaseClaimed,
    ReportStopFailed,
)
from engine.protocol.auth import Authenticator
from engine.protocol.codec import decode_datagram, encode_wire
from tests.core.sim import KEY, Net

WEB = "IPaddr2::10.99.0.10/24/eth0"
DB = "IPaddr2::10.99.0.20/24/eth0"
QUIET = OneWayFacts(
    peer="bravo",
    peer_active=True,
    peer_hears_us=True,
    claimed=(),
    stop_failed=(),
    busy=False,
    settled=True,
    stonith=False,
)
"""A two-way cluster at rest: bravo hears alpha and claims nothing alpha runs."""
TAKEN = replace(QUIET, peer_hears_us=False, claimed=(WEB,))
"""bravo declared alpha dead and claims the group alpha still runs."""
GRACE = 0.6
"""Three keepalives of 200 ms."""


def guard_at(now: float) -> OneWayGuard:
    """A guard that has seen bravo active since ``now`` - 10 s (past the grace)."""
    guard = OneWayGuard("alpha", GRACE)
    assert guard.decide(QUIET, now - 10.0) is None
    return guard


def test_claim_and_deafness_release_the_claimed_groups_at_once() -> None:
    guard = guard_at(0.0)
    assert guard.decide(replace(QUIET, peer_hears_us=False), 10.0) is None
    decision = guard.decide(TAKEN, 10.4)
    assert isinstance(decision, ReleaseClaimed)
    assert decision.groups == (WEB,)
    assert decision.reason.startswith(f"one-way loss: bravo claims {WEB} and its heartbeats")
    assert "have not listed alpha for 0.4 s" in decision.reason
    assert "no STONITH device" in decision.reason
    assert guard.phase is Phase.RELEASING
    assert guard.view() == {
        "state": "releasing",
        "peer": "bravo",
        "peer_hears_us": False,
        "groups": [WEB],
        "reason": decision.reason,
        "releases": 1,
    }


def test_a_claim_alone_or_deafness_alone_changes_nothing() -> None:
    guard = guard_at(0.0)
    # bravo claims a group alpha runs but hears alpha: an ordinary double claim (the
    # partition resolution handles it), not a one-way loss.
    assert guard.decide(replace(QUIET, claimed=(WEB,)), 1.0) is None
    # bravo does not hear alpha but claims nothing (with STONITH: fencing first).
    assert guard.decide(replace(QUIET, peer_hears_us=False, stonith=True), 2.0) is None
    assert guard.phase is Phase.WATCHING and guard.releases == 0


def test_a_peer_that_sends_no_hears_never_triggers_it() -> None:
    """Real Heartbeat: no ``hears`` field, so no second fact, whatever it claims."""
    guard = guard_at(0.0)
    for now in (1.0, 2.0, 60.0):
        assert guard.decide(replace(TAKEN, peer_hears_us=None), now) is None
    assert guard.phase is Phase.WATCHING
    assert guard.view()["peer_hears_us"] is None


def test_a_peer_that_is_not_active_is_left_to_the_death_and_restart_paths() -> None:
    guard = guard_at(0.0)
    assert guard.decide(replace(TAKEN, busy=True), 1.0) is not None
    # Now bravo is dead for alpha too (a full partition): alpha forgets, no rejoin.
    assert guard.decide(replace(TAKEN, peer_active=False, claimed=()), 3.0) is None
    assert guard.phase is Phase.WATCHING and guard.groups == ()
    assert guard.decide(replace(QUIET, peer_active=False), 4.0) is None
    assert guard.decide(QUIET, 4.0 + GRACE) is None


def test_stonith_changes_only_the_reason() -> None:
    decision = guard_at(0.0).decide(replace(TAKEN, stonith=True), 5.0)
    assert isinstance(decision, ReleaseClaimed)
    assert "STONITH configured: bravo claims only after resetting alpha" in decision.reason


def test_repeated_facts_do_not_repeat_the_release_but_new_claims_do() -> None:
    guard = guard_at(0.0)
    assert isinstance(guard.decide(replace(TAKEN, busy=True), 1.0), ReleaseClaimed)
    assert guard.decide(replace(TAKEN, busy=True), 1.1) is None
    second = guard.decide(replace(TAKEN, claimed=(WEB, DB), busy=True), 1.2)
    assert isinstance(second, ReleaseClaimed) and second.groups == (DB,)
    assert guard.groups == (WEB, DB) and guard.releases == 2


def test_release_done_then_heard_again_rejoins_once() -> None:
    guard = guard_at(0.0)
    guard.decide(replace(TAKEN, busy=True), 1.0)
    released = replace(TAKEN, claimed=())
    assert guard.decide(released, 1.3) is None
    assert guard.phase is Phase.RELEASED
    # Heard again, but a standby or negotiation is under way: wait for it.
    assert guard.decide(replace(QUIET, settled=False), 5.0) is None
    decision = guard.decide(QUIET, 5.2)
    assert isinstance(decision, Rejoin) and decision.groups == (WEB,)
    assert "bravo hears alpha again" in decision.reason
    assert guard.view()["state"] == "watching" and guard.decide(QUIET, 5.4) is None


def test_heard_again_before_the_release_ends_rejoins_after_it() -> None:
    guard = guard_at(0.0)
    guard.decide(replace(TAKEN, busy=True), 1.0)
    assert guard.decide(replace(QUIET, claimed=(WEB,), busy=True, settled=False), 1.1) is None
    assert guard.phase is Phase.RELEASING
    assert isinstance(guard.decide(QUIET, 1.5), Rejoin)


def test_a_release_that_failed_is_reported_when_heard_again() -> None:
    guard = guard_at(0.0)
    guard.decide(replace(TAKEN, busy=True), 1.0)
    assert guard.decide(replace(TAKEN, claimed=(), stop_failed=(WEB,)), 1.2) is None
    assert guard.phase is Phase.STOP_FAILED
    decision = guard.decide(replace(QUIET, stop_failed=(WEB,)), 9.0)
    assert isinstance(decision, ReportStopFailed) and decision.groups == (WEB,)
    assert "could not stop " + WEB in decision.reason
    assert guard.view()["state"] == "watching"


def test_the_loss_coming_back_after_a_rejoin_releases_again() -> None:
    guard = guard_at(0.0)
    guard.decide(TAKEN, 1.0)
    guard.decide(replace(TAKEN, claimed=()), 1.1)
    assert isinstance(guard.decide(QUIET, 2.0), Rejoin)
    again = guard.decide(TAKEN, 30.0)
    assert isinstance(again, ReleaseClaimed) and guard.releases == 2
    assert "no longer list alpha" in again.reason  # the loss started with this input


def test_a_peer_just_back_gets_a_grace_before_its_facts_count() -> None:
    """After a two-way partition heals, the peer's first heartbeat predates hearing us
    and the hold reports of the heal claim our groups: not a one-way loss."""
    guard = OneWayGuard("alpha", GRACE)
    assert guard.decide(replace(QUIET, peer_active=False, peer_hears_us=None), 30.0) is None
    assert guard.decide(TAKEN, 40.0) is None  # back from dead at 40 s
    assert guard.next_deadline() == 40.0 + GRACE
    assert guard.decide(replace(QUIET, claimed=(WEB,)), 40.2) is None  # it hears us
    assert guard.next_deadline() is None and guard.releases == 0


def test_a_peer_that_never_hears_us_after_its_start_is_answered_after_the_grace() -> None:
    guard = OneWayGuard("alpha", GRACE)
    assert guard.decide(replace(TAKEN, peer_active=False), 30.0) is None  # bravo starting
    assert guard.decide(TAKEN, 50.0) is None  # active, claims, never heard us
    assert guard.next_deadline() == 50.0 + GRACE
    decision = guard.decide(TAKEN, 50.0 + GRACE)
    assert isinstance(decision, ReleaseClaimed)
    assert "have not listed alpha for 20.6 s" in decision.reason  # since 30 s


# --------------------------------------------------------- membership: PeerHearsUs


def _hears_events(net: Net, node: str) -> list[bool | None]:
    return [e.hears for e in net.nodes[node].of(ev.PeerHearsUs)]  # type: ignore[attr-defined]


def _drop_from(net: Net, receiver: str, sender: str) -> None:
    """Lose everything ``sender`` sends to ``receiver`` (one direction only)."""
    core = net.nodes[receiver].core
    original = core.receive

    def receive(data: bytes, link: str, now: float, wall: float) -> bool:
        if decode_datagram(data, Authenticator(KEY)).get("src") == sender:
            return False
        return original(data, link, now, wall)

    core.receive = receive  # type: ignore[method-assign]


def test_membership_says_when_the_peer_stops_and_starts_hearing_us() -> None:
    net = Net()
    net.start()
    net.run_for(6.0)  # past the start-up deadtime bump (+2 s for 5 s)
    alpha = net.nodes["alpha"]
    assert _hears_events(net, "alpha")[-1] is True
    before = len(_hears_events(net, "alpha"))
    bravo_receive = net.nodes["bravo"].core.receive
    _drop_from(net, "bravo", "alpha")
    lost_at = net.now
    while alpha.core.hears_us.get("bravo") is not False and net.now < lost_at + 5:
        net.run_for(0.01)
    # bravo stops listing alpha once alpha has been silent for deadtime (1 s); its next
    # status (a keepalive, 0.2 s, later at most) says so: alpha knows within 1.2 s.
    assert 1.0 <= net.now - lost_at <= 1.2 + 0.02, net.now - lost_at
    net.run_for(2.0)
    assert _hears_events(net, "alpha")[before:] == [False]
    assert alpha.core.nodes["bravo"].status != "dead"  # alpha still hears bravo
    assert net.nodes["bravo"].core.nodes["alpha"].status == "dead"
    net.nodes["bravo"].core.receive = bravo_receive  # type: ignore[method-assign]
    net.run_for(3.0)
    assert _hears_events(net, "alpha")[-1] is True
    assert alpha.core.hears_us == {"bravo": True}


def test_a_status_without_hears_says_nothing_about_us() -> None:
    """A real Heartbeat peer's status (no ``hears``): no PeerHearsUs at all."""
    net = Net()
    alpha = net.nodes["alpha"].core
    bravo = net.nodes["bravo"].core
    alpha.start(net.now, net.wall())
    bravo.start(net.now, net.wall())
    for data in alpha.drain_outbound():  # bravo's answer echoes alpha: proven fresh
        bravo.receive(data, "eth0", net.now, net.wall())
    alpha.drain_events()
    auth = Authenticator(KEY)
    for data in bravo.drain_outbound():
        msg = decode_datagram(data, auth)
        if msg.type == "status":
            msg.remove(HEARS_FIELD)
            alpha.receive(encode_wire(msg, auth), "eth0", net.now, net.wall())
    kinds = [type(e) for e in alpha.drain_events()]
    assert ev.NodeStatusChanged in kinds
    assert ev.PeerHearsUs not in kinds
    assert alpha.hears_us == {}
