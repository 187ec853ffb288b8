"""A peer that starts and stops again before it settled (soak s07, PartialStart).

It sends ``shutdone`` and leaves: we must not hand it its groups back (it is leaving),
and nothing it left half done may keep our own shutdown waiting.
"""

from __future__ import annotations

import logging

import pytest

from engine.config.model import AutoFailback
from tests.core_policy.harness import ALPHA_GROUP, Cluster


def _bravo_alone_holds_alphas_group(c: Cluster) -> None:
    c.crash("alpha")
    c.comm_up("bravo")
    reason = "alpha declared dead: never heard within initdead"
    c.nodes["bravo"].on_node_dead("alpha", reason, c.now)
    c.run_actions()
    c.advance(c.now + 12)
    assert c.holder(ALPHA_GROUP) == ["bravo"]


def _alpha_starts_then_stops_before_it_settled(c: Cluster) -> None:
    alpha = c.boot("alpha")
    bravo = c.nodes["bravo"]
    for status in ("init", "up", "active"):
        bravo.on_node_status("alpha", status, c.now)
    alpha.on_node_status("bravo", "active", c.now)
    alpha.on_comm_up(c.now)
    c.flush()
    assert alpha.request_shutdown(c.now) is None
    c.advance(c.now + 12)
    assert alpha.shutdown_complete


def test_no_failback_to_a_peer_that_sent_shutdone(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    c = Cluster()
    _bravo_alone_holds_alphas_group(c)
    _alpha_starts_then_stops_before_it_settled(c)
    mark = len(c.events["bravo"])
    c.advance(c.now + 1.5)  # alpha's heartbeats have not timed out yet
    later = [e.log for e in c.events["bravo"][mark:]]
    assert "Auto failback triggered." not in later
    assert c.holder(ALPHA_GROUP) == ["bravo"]


def test_our_shutdown_proceeds_after_the_peer_left(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    c = Cluster()
    _bravo_alone_holds_alphas_group(c)
    _alpha_starts_then_stops_before_it_settled(c)
    c.advance(c.now + 1.5)
    c.leaves_and_is_declared_dead("alpha")
    bravo = c.nodes["bravo"]
    assert bravo.request_shutdown(c.now) is None
    c.advance(c.now + 5)
    c.run_actions()
    assert bravo.shutdown_complete, bravo.snapshot()
    assert c.holder(ALPHA_GROUP) == []


def test_peer_back_after_it_left_gets_its_group_again() -> None:
    c = Cluster()
    _bravo_alone_holds_alphas_group(c)
    _alpha_starts_then_stops_before_it_settled(c)
    c.leaves_and_is_declared_dead("alpha")
    c.advance(c.now + 3)
    c.rejoin("alpha")
    c.advance(c.now + 15)
    assert c.holder(ALPHA_GROUP) == ["alpha"]


def test_peer_dying_before_it_answered_our_standby_does_not_block_shutdown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """We asked the peer to take groups (an operator's standby, or our failback) and it
    died before answering: it never reports "stable" again, and a dead peer must not be
    waited for."""
    caplog.set_level(logging.INFO)
    c = Cluster(auto=AutoFailback.OFF)
    _bravo_alone_holds_alphas_group(c)
    c.rejoin("alpha")
    c.advance(c.now + 12)
    assert c.holder(ALPHA_GROUP) == ["bravo"]
    c.crash("alpha")  # gone, but not yet declared dead
    bravo = c.nodes["bravo"]
    assert bravo.request_standby("all", c.now) is None
    c.flush()
    assert "has not reported stable" in bravo.snapshot()["unstable_because"]
    c.leaves_and_is_declared_dead("alpha")
    assert bravo.snapshot()["unstable_because"] == ""
    assert bravo.request_shutdown(c.now) is None
    c.advance(c.now + 5)
    c.run_actions()
    assert bravo.shutdown_complete, bravo.snapshot()["unstable_because"]
    assert c.holder(ALPHA_GROUP) == []
