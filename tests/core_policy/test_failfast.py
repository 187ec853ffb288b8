"""``give_up``: a ``failfast`` child died (Heartbeat reboots there, spec §9.6).

The node releases every group without waiting for a stable cluster and leaves with
``shutdone``, so the peer takes over at once and without fencing it.
"""

from __future__ import annotations

from engine.core.policy_types import Acquire, Release
from tests.core_policy.harness import ALPHA_GROUP, BRAVO_GROUP, Cluster

G = ALPHA_GROUP
REASON = 'failfast client "/usr/lib/hb/watch" exited with return code 3: giving this node up'
SHUTDONE = [("t", "shutdone"), ("st", "dead")]
HOLD_NONE = [
    ("t", "resource"),
    ("rsc_hold", "none"),
    ("rtype", "full"),
    ("isstable", "0"),
    ("info", "shutdown"),
]


def test_give_up_releases_everything_and_the_peer_takes_over_without_fencing() -> None:
    c = Cluster(stonith=True)
    c.cold_start()
    assert c.holder(G) == ["alpha"]
    mark = len(c.wire)
    c.nodes["alpha"].give_up(REASON, c.now)
    c.flush()
    assert c.sent("alpha", mark) == [HOLD_NONE]
    assert isinstance(c.pending["alpha"][0], Release)
    assert c.pending["alpha"][0].reason == REASON
    c.run_actions()
    assert c.nodes["alpha"].shutdown_complete
    assert c.sent("alpha", mark)[-1] == SHUTDONE
    assert c.holder(G) == ["bravo"]
    [event] = [e for e in c.events["alpha"] if e.kind == "failfast"]
    assert (event.level, event.reason, event.node) == ("CRIT", REASON, "alpha")
    # alpha's engine exits now; bravo sees the death but fencing is not needed.
    sent = c.leaves_and_is_declared_dead("alpha")
    assert sent == [[("t", "stonith"), ("node", "alpha"), ("result", "unneeded")]]
    assert "Dead node alpha gave up resources." in c.logs("bravo")


def _alpha_mid_standby() -> Cluster:
    """alpha went standby; bravo's start of alpha's group is still running."""
    c = Cluster()
    c.cold_start()
    assert isinstance(c.standby_until_peer_acquires("alpha"), Acquire)
    assert c.nodes["alpha"].snapshot()["stable"] is False
    return c


def test_give_up_does_not_wait_for_a_stable_cluster() -> None:
    # A graceful shutdown waits for the peer's start to finish ...
    c = _alpha_mid_standby()
    c.nodes["alpha"].request_shutdown(c.now)
    c.flush()
    assert not c.nodes["alpha"].shutdown_complete
    assert "Shutdown delayed until current resource activity finishes." in c.logs("alpha")
    # ... a failfast death does not: alpha leaves while bravo is still starting the group.
    c = _alpha_mid_standby()
    mark = len(c.wire)
    c.nodes["alpha"].give_up(REASON, c.now)
    c.flush()
    assert c.nodes["alpha"].shutdown_complete
    assert c.sent("alpha", mark)[:2] == [HOLD_NONE, SHUTDONE]
    assert isinstance(c.pending["bravo"][0], Acquire)
    c.run_actions()
    assert c.holder(G) == ["bravo"]


def test_give_up_drops_queued_work_and_releases_after_the_action_in_flight() -> None:
    c = Cluster(bravo_group=True)
    c.cold_start()
    # alpha is starting bravo's group for the standby when its failfast child dies.
    acquire = c.standby_until_peer_acquires("bravo")
    assert isinstance(acquire, Acquire) and acquire.group_key == BRAVO_GROUP
    assert c.pending["alpha"] == [acquire]
    c.nodes["alpha"].give_up(REASON, c.now)
    c.flush()
    assert c.pending["alpha"] == [acquire]  # an action in flight is never abandoned
    c.complete("alpha")
    releases = [a for a in c.pending["alpha"] if isinstance(a, Release)]
    assert [r.reason for r in releases] == [REASON]
    c.run_actions()
    assert c.holder(G) == ["bravo"] and c.holder(BRAVO_GROUP) == ["bravo"]
    assert [h for h in c.history if h[0] == "alpha"][-2:] == [
        ("alpha", "release", G),
        ("alpha", "release", BRAVO_GROUP),
    ]
    assert c.nodes["alpha"].shutdown_complete


def test_give_up_with_a_failed_stop_keeps_the_group_claimed() -> None:
    """As in a graceful shutdown: no ``shutdone``, so the peer does not start it."""
    c = Cluster()
    c.cold_start()
    c.fail.add(("alpha", "release", G))
    mark = len(c.wire)
    c.nodes["alpha"].give_up(REASON, c.now)
    c.run_actions()
    assert not c.nodes["alpha"].shutdown_complete
    assert SHUTDONE not in c.sent("alpha", mark)
    assert c.holder(G) == ["alpha"]  # still running here; bravo did not start it
    assert "Resource STOP failure during shutdown. Not sending shutdone!" in c.logs("alpha")


def test_give_up_during_a_graceful_shutdown_only_adds_the_reason() -> None:
    c = Cluster()
    c.cold_start()
    c.nodes["alpha"].request_shutdown(c.now)
    c.flush()
    [release] = c.pending["alpha"]
    c.nodes["alpha"].give_up(REASON, c.now)
    c.flush()
    assert c.pending["alpha"] == [release]
    assert [e.reason for e in c.events["alpha"] if e.kind == "failfast"] == [REASON]
    c.run_actions()
    assert c.nodes["alpha"].shutdown_complete
    assert [h for h in c.history if h[0] == "alpha"].count(("alpha", "release", G)) == 1
