"""A node that failed to stop a group is fenced before its peer starts it (fake clock).

The harness refuses to let both nodes run a group (an assertion in ``complete``), and a
failed release leaves the group running on the node that could not stop it; so the peer
may start the group only after that node was fenced (``crash``) or the operator said so.
"""

from __future__ import annotations

from engine.config.model import AutoFailback
from engine.core.policy_types import Acquire, Fence
from tests.core_policy.harness import ALPHA_GROUP as G
from tests.core_policy.harness import Cluster


def _standby_that_fails(stonith: bool) -> Cluster:
    c = Cluster(stonith=stonith)
    c.cold_start()
    assert c.holder(G) == ["alpha"]
    c.fail.add(("alpha", "release", G))
    assert c.nodes["alpha"].request_standby("all", c.now) is None
    c.run_actions()
    return c


def test_failed_standby_release_fences_the_peer_then_takes_over() -> None:
    c = _standby_that_fails(stonith=True)
    assert c.holder(G) == ["alpha"]  # the stop failed: it may still run there
    fence = c.pending["bravo"][0]
    assert isinstance(fence, Fence) and fence.node == "alpha"
    assert "alpha failed to stop" in fence.reason
    view = c.group_view("bravo", G)
    assert view["held_by"] == "alpha" and "waiting for STONITH of alpha" in str(view["reason"])
    assert c.nodes["bravo"].snapshot()["stop_failed"] == {"alpha": [G]}
    # a failed fence keeps the group down and retries
    c.complete("bravo", ok=False, reason="switch unreachable")
    assert c.holder(G) == ["alpha"] and not any(isinstance(a, Acquire) for a in c.pending["bravo"])
    assert "switch unreachable" in str(c.group_view("bravo", G)["reason"])
    c.advance(c.now + 5)
    assert isinstance(c.pending["bravo"][0], Fence)
    c.complete("bravo", ok=True)
    c.crash("alpha")  # the reset took its resources with it
    c.run_actions()
    assert c.holder(G) == ["bravo"]
    logs = c.logs("bravo")
    fenced = logs.index("alpha failed to stop " + G + " while going standby: STONITH of alpha "
                        "before taking over.")  # fmt: skip
    assert fenced < logs.index("Resources being acquired from alpha.")
    # when the membership later declares alpha dead, no second fence is needed
    c.nodes["bravo"].on_node_dead("alpha", "alpha is dead", c.now)
    c.flush()
    assert not any(isinstance(a, Fence) for a in c.pending["bravo"])
    assert c.nodes["bravo"].snapshot()["stop_failed"] == {}


def test_failed_standby_release_without_stonith_waits_for_the_operator() -> None:
    c = _standby_that_fails(stonith=False)
    c.advance(c.now + 60)
    assert c.pending["bravo"] == [] and c.holder(G) == ["alpha"]
    reason = str(c.group_view("bravo", G)["reason"])
    assert reason == (
        f"alpha failed to stop {G}; no STONITH device to make sure it is stopped — "
        "confirm by hand (hactl meatware confirm NODE)"
    )
    bravo = c.nodes["bravo"]
    assert "no failed stop of charlie" in str(bravo.confirm_stopped("charlie", "op", c.now))
    c.running["alpha"].discard(G)  # the operator stopped it by hand
    assert bravo.confirm_stopped("alpha", "root (uid 0)", c.now) is None
    c.run_actions()
    assert c.holder(G) == ["bravo"]
    assert f"Stop of {G} on alpha confirmed by root (uid 0)" in c.logs("bravo")


def test_failed_release_during_shutdown_is_reported_and_fenced() -> None:
    c = Cluster(stonith=True)
    c.cold_start()
    c.fail.add(("alpha", "release", G))
    alpha = c.nodes["alpha"]
    alpha.request_shutdown(c.now)
    c.run_actions()
    assert not alpha.shutdown_complete
    assert "Resource STOP failure during shutdown. Not sending shutdone!" in c.logs("alpha")
    blocked = str(alpha.snapshot()["shutdown_blocked"])
    assert (
        blocked
        == f"shutdown blocked: could not stop {G}; bravo fences this node before it starts them"
    )
    assert alpha.snapshot()["groups"][0]["state"] == "failed"  # type: ignore[index]
    fence = c.pending["bravo"][0]
    assert isinstance(fence, Fence) and "while shutting down" in fence.reason
    c.complete("bravo", ok=True)
    c.crash("alpha")
    c.run_actions()
    assert c.holder(G) == ["bravo"]


def test_legacy_failed_ip_request_release_fences_the_holder() -> None:
    c = Cluster(auto=AutoFailback.LEGACY, stonith=True)
    c.cold_start()
    assert c.holder(G) == ["alpha"]
    c.crash("alpha")
    bravo = c.nodes["bravo"]
    bravo.on_node_dead("alpha", "alpha is dead", c.now)
    c.complete("bravo", ok=True)
    c.run_actions()
    assert c.holder(G) == ["bravo"]
    # alpha comes back and asks for its group; bravo cannot stop it
    c.fail.add(("bravo", "release", G))
    c.boot("alpha")
    bravo.on_node_restarted("alpha", c.now)
    bravo.on_node_status("alpha", "active", c.now)
    c.comm_up("alpha")
    c.run_actions()
    assert c.holder(G) == ["bravo"]
    fence = c.pending["alpha"][0]
    assert isinstance(fence, Fence) and fence.node == "bravo"
    assert "when asked for it back" in fence.reason
    c.complete("alpha", ok=True)
    c.crash("bravo")
    c.run_actions()
    assert c.holder(G) == ["alpha"]


def test_without_failure_nothing_is_fenced() -> None:
    c = Cluster(stonith=True)
    c.cold_start()
    assert c.nodes["alpha"].request_standby("all", c.now) is None
    c.run_actions()
    assert c.holder(G) == ["bravo"]
    assert all(not isinstance(a, Fence) for n in ("alpha", "bravo") for a in c.pending[n])
