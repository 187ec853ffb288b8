"""Policy side of fencing on the fake-clock two-policy harness: backoff, death match, stall."""

from __future__ import annotations

from typing import Any

from engine.core.policy import ResourcePolicy
from engine.core.policy_types import Fence, Release
from tests.core_policy.harness import ALPHA_GROUP as G
from tests.core_policy.harness import DEATH, Cluster, make_config


class TunedCluster(Cluster):
    """The harness cluster with fencing knobs passed to every policy."""

    def __init__(self, policy_kw: dict[str, Any], **kw: Any) -> None:
        self.policy_kw = policy_kw
        super().__init__(**kw)

    def boot(self, name: str) -> ResourcePolicy:
        cfg = make_config(name, **self.kw)  # type: ignore[arg-type]
        self.nodes[name] = ResourcePolicy(cfg, self.now, **self.policy_kw)
        self.alive.add(name)
        self.pending[name] = []
        return self.nodes[name]


def _fail_fence_and_measure(c: Cluster, name: str) -> float:
    """Fail the pending fence of ``name``; return the seconds until the next attempt."""
    c.complete(name, ok=False, reason="switch unreachable")
    deadline = c.nodes[name].next_deadline()
    assert deadline is not None
    wait = deadline - c.now
    c.advance(deadline)
    assert isinstance(c.pending[name][0], Fence)
    return round(wait, 3)


def test_failed_fence_retries_with_backoff_and_resources_stay_down() -> None:
    c = TunedCluster({"fence_retry": (1.0, 6.0)}, stonith=True)
    c.cold_start()
    c.crash("alpha")
    c.nodes["bravo"].on_node_dead("alpha", f"alpha {DEATH}", c.now)
    c.flush()
    waits = [_fail_fence_and_measure(c, "bravo") for _ in range(5)]
    assert waits == [1.0, 2.0, 4.0, 6.0, 6.0]
    assert c.holder(G) == []
    reasons = [e.reason for e in c.events["bravo"] if e.kind == "failed"]
    assert "switch unreachable; retrying in 4 s" in reasons[2]
    assert "switch unreachable" in str(c.group_view("bravo", G)["reason"])
    c.complete("bravo", ok=True)
    c.run_actions()
    assert c.holder(G) == ["bravo"]
    # a later failure starts the backoff again from the first interval
    assert c.nodes["bravo"]._fence_failures == {}


def test_death_match_only_the_preferred_node_fences_at_once() -> None:
    c = TunedCluster({"fence_delay": 3.0}, stonith=True)
    c.cold_start()
    assert c.holder(G) == ["alpha"]
    c.connected = False
    for name in ("alpha", "bravo"):
        other = c.peer(name)
        c.nodes[name].on_node_dead(other, f"{other} {DEATH}", c.now)
    c.flush()
    assert [type(a) for a in c.pending["alpha"]] == [Fence]
    assert c.pending["bravo"] == []
    assert "waiting 3 s before fencing alpha" in str(c.group_view("bravo", G)["reason"])
    # alpha's fence succeeds: bravo is powered off before its delay ends
    c.complete("alpha", ok=True)
    c.crash("bravo")
    c.advance(c.now + 10)
    assert c.holder(G) == ["alpha"]


def test_delayed_node_fences_after_the_delay_when_the_holder_really_died() -> None:
    c = TunedCluster({"fence_delay": 3.0}, stonith=True)
    c.cold_start()
    c.crash("alpha")
    start = c.now
    c.nodes["bravo"].on_node_dead("alpha", f"alpha {DEATH}", c.now)
    c.advance(start + 2.9)
    assert c.pending["bravo"] == []
    c.advance(start + 3.0)
    assert isinstance(c.pending["bravo"][0], Fence)
    c.complete("bravo", ok=True)
    c.run_actions()
    assert c.holder(G) == ["bravo"]


def test_without_holders_the_first_node_is_preferred() -> None:
    for name, expected in (("alpha", 0.0), ("bravo", 3.0)):
        c = TunedCluster({"fence_delay": 3.0}, stonith=True)
        assert c.nodes[name]._death_match_delay(c.peer(name)) == expected


def test_stall_longer_than_deadtime_releases_everything_at_once_then_rejoins() -> None:
    c = Cluster()
    c.cold_start()
    alpha = c.nodes["alpha"]
    assert c.holder(G) == ["alpha"]
    deadtime = alpha._config.timing.deadtime_ms
    alpha.on_local_stall(deadtime // 2, c.now)
    c.flush()
    assert c.pending["alpha"] == []
    mark = len(c.wire)
    alpha.on_local_stall(deadtime * 3, c.now)
    c.flush()
    assert isinstance(c.pending["alpha"][0], Release)
    assert any(e.kind == "release" and e.level == "CRIT" for e in c.events["alpha"])
    assert alpha.snapshot()["i_hold"] == "none"  # claims nothing from the self-fence on
    c.complete("alpha")  # the release
    c.flush()
    assert c.holder(G) == []
    sent = c.sent("alpha", mark)
    assert [
        ("t", "resource"),
        ("rsc_hold", "none"),
        ("rtype", "full"),
        ("isstable", "0"),
        ("info", "self-fence"),
    ] in sent
    # then it rejoins as a starting node; bravo did not take the group: it comes back
    assert [("t", "starting")] in sent
    assert any(e.kind == "rejoin" for e in c.events["alpha"])
    c.run_actions()
    assert c.holder(G) == ["alpha"]
    assert alpha.snapshot()["stable"] and c.nodes["bravo"].snapshot()["stable"]


WHO = "root (uid 0, pid 42: hactl stonith alpha)"


def test_death_after_a_manual_reset_needs_no_second_reset() -> None:
    c = Cluster(stonith=True)
    c.cold_start()
    bravo = c.nodes["bravo"]
    bravo.on_manual_fence_done("alpha", True, "alpha reset: OK", WHO, c.now)
    c.flush()
    assert c.pending["bravo"] == [] and c.holder(G) == ["alpha"]  # alive until it dies
    c.crash("alpha")
    mark = len(c.wire)
    bravo.on_node_dead("alpha", f"alpha {DEATH}", c.now)
    c.flush()
    assert not any(isinstance(a, Fence) for a in c.pending["bravo"])
    assert c.sent("bravo", mark)[0] == [("t", "stonith"), ("node", "alpha"), ("result", "OK")]
    c.run_actions()
    assert c.holder(G) == ["bravo"]
    assert (
        f"Node alpha was already reset (reset at the request of {WHO}); not fencing it "
        "again." in c.logs("bravo")
    )


def test_a_manual_reset_that_failed_or_a_restart_leaves_fencing_on() -> None:
    c = Cluster(stonith=True)
    c.cold_start()
    bravo = c.nodes["bravo"]
    bravo.on_manual_fence_done("alpha", False, "switch unreachable", WHO, c.now)
    assert any(
        e.level == "ERROR" and "switch unreachable" in e.reason for e in bravo.drain_events()
    )
    bravo.on_manual_fence_done("alpha", True, "OK", WHO, c.now)
    bravo.on_node_restarted("alpha", c.now)  # a new incarnation: the reset is history
    c.crash("alpha")
    bravo.on_node_dead("alpha", f"alpha {DEATH}", c.now)
    c.flush()
    assert isinstance(c.pending["bravo"][0], Fence)


def test_a_manual_reset_ends_a_fence_retry_wait() -> None:
    c = TunedCluster({"fence_retry": (30.0, 60.0)}, stonith=True)
    c.cold_start()
    c.crash("alpha")
    bravo = c.nodes["bravo"]
    bravo.on_node_dead("alpha", f"alpha {DEATH}", c.now)
    c.flush()
    c.complete("bravo", ok=False, reason="switch unreachable")
    assert c.holder(G) == [] and bravo.next_deadline() == c.now + 30
    bravo.on_manual_fence_done("alpha", True, "OK", WHO, c.now)
    c.run_actions()
    assert c.holder(G) == ["bravo"]
    assert bravo.next_deadline() is None  # the retry is gone
    assert any(
        e.reason.startswith(f"alpha was fenced: by hand: reset at the request of {WHO}")
        for e in c.events["bravo"]
    )
