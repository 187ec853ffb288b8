"""Two-node scenarios for the resource policy, asserting wire fields, actions and reasons."""

from __future__ import annotations

from engine.config.model import AutoFailback
from engine.core.policy_types import Acquire, Fence, Release
from engine.protocol.message import Message
from tests.core_policy.harness import ALPHA_GROUP, BRAVO_GROUP, DEATH, Cluster

G = ALPHA_GROUP


def _crash_alpha(c: Cluster) -> int:
    """alpha dies; bravo is told; returns the wire index before bravo reacts."""
    c.crash("alpha")
    mark = len(c.wire)
    c.nodes["bravo"].on_node_dead("alpha", f"alpha {DEATH}", c.now)
    c.flush()
    return mark


def _return_alpha(c: Cluster) -> None:
    """alpha restarts (new generation) and comes up beside bravo."""
    c.rejoin("alpha")
    c.run_actions()
    c.advance(c.now + 15)


def test_cold_start_alpha_takes_its_group_after_rsc_delay() -> None:
    c = Cluster()
    c.comm_up("alpha", "bravo")
    assert c.sent("alpha")[0] == [("t", "starting")]
    c.advance(9.9)
    assert c.holder(G) == []
    c.advance(12)
    assert c.holder(G) == ["alpha"]
    assert c.history == [("alpha", "acquire", G)]
    assert [
        ("t", "ip-request-resp"),
        ("dest", "alpha"),
        ("ipaddr", G),
        ("weown", "yes"),
        ("ok", "OK"),
    ] in c.sent("alpha")
    assert c.sent("alpha")[-2] == [
        ("t", "resource"),
        ("rsc_hold", "local"),
        ("rtype", "full"),
        ("isstable", "1"),
        ("info", "req_our_resources()"),
    ]
    for name in ("alpha", "bravo"):
        snap = c.nodes[name].snapshot()
        assert snap["stable"] is True and snap["state"] == "stable"
        assert c.group_view(name, G)["held_by"] == "alpha"
    assert "did not settle within 10 s" in str(c.group_view("alpha", G)["reason"])


def test_crash_of_alpha_bravo_takes_over_with_heartbeat_messages() -> None:
    c = Cluster()
    c.cold_start()
    mark = _crash_alpha(c)
    sent = c.sent("bravo", mark)
    # fixtures killmaster-slow-0007 and -0008, in this order
    assert sent[0] == [("t", "stonith"), ("node", "alpha"), ("result", "n_stnth")]
    assert sent[1] == [
        ("t", "resource"),
        ("rsc_hold", "all"),
        ("rtype", "full"),
        ("isstable", "1"),
        ("info", "req_our_resources()"),
    ]
    action = c.pending["bravo"][0]
    assert isinstance(action, Acquire) and action.group_key == G
    assert action.reason == f"taking over alpha's group: alpha {DEATH}"
    assert "No STONITH device configured." in c.logs("bravo")
    assert "Resources being acquired from alpha." in c.logs("bravo")
    c.run_actions()
    # fixture killmaster-slow-0009: no rtype/isstable, after the takeover
    assert c.sent("bravo", mark)[2] == [
        ("t", "resource"),
        ("rsc_hold", "foreign"),
        ("info", "mach_down"),
    ]
    assert c.holder(G) == ["bravo"]
    view = c.group_view("bravo", G)
    assert view["held_by"] == "bravo" and view["state"] == "running"
    assert view["reason"] == f"taking over alpha's group: alpha {DEATH}"
    assert c.nodes["bravo"].snapshot()["i_hold"] == "all"


def test_alpha_returns_with_auto_failback_on_gets_group_back_once() -> None:
    c = Cluster(auto=AutoFailback.ON)
    c.cold_start()
    _crash_alpha(c)
    c.run_actions()
    mark = len(c.wire)
    c.history.clear()
    _return_alpha(c)
    assert c.holder(G) == ["alpha"]
    assert c.history == [("bravo", "release", G), ("alpha", "acquire", G)]
    assert [("t", "ask_resources"), ("rsc_hold", "foreign"), ("info", "me")] in c.sent(
        "bravo", mark
    )
    assert [("t", "ask_resources"), ("rsc_hold", "foreign"), ("info", "other")] in c.sent(
        "alpha", mark
    )
    assert [
        ("t", "resource"),
        ("rsc_hold", "local"),
        ("rtype", "full"),
        ("isstable", "0"),
        ("info", "standby"),
    ] in c.sent("bravo", mark)
    assert c.sent("alpha", mark)[-1] == [
        ("t", "resource"),
        ("rsc_hold", "local"),
        ("rtype", "full"),
        ("isstable", "1"),
    ]
    assert any(e.kind == "failback" for e in c.events["bravo"])
    assert c.group_view("alpha", G)["reason"] == "standby: bravo handed over its [foreign] groups"
    c.advance(c.now + 60)
    assert c.history == [("bravo", "release", G), ("alpha", "acquire", G)]


def test_alpha_returns_with_auto_failback_off_group_stays() -> None:
    c = Cluster(auto=AutoFailback.OFF)
    c.cold_start()
    _crash_alpha(c)
    c.run_actions()
    c.history.clear()
    _return_alpha(c)
    c.advance(c.now + 60)
    assert c.holder(G) == ["bravo"]
    assert c.history == []
    assert c.group_view("alpha", G)["held_by"] == "bravo"
    assert c.nodes["alpha"].snapshot()["i_hold"] == "none"


def test_standby_and_takeover_both_directions() -> None:
    c = Cluster(bravo_group=True)
    c.cold_start()
    assert c.holder(G) == ["alpha"] and c.holder(BRAVO_GROUP) == ["bravo"]
    mark = len(c.wire)
    assert c.nodes["alpha"].request_standby("all", c.now) is None
    c.run_actions()
    assert c.holder(G) == ["bravo"] and c.holder(BRAVO_GROUP) == ["bravo"]
    # fixtures standby-slow-0004/0006/0010/0015
    alpha_sent = c.sent("alpha", mark)
    assert alpha_sent[0] == [("t", "ask_resources"), ("rsc_hold", "all"), ("info", "me")]
    assert c.sent("bravo", mark)[0] == [
        ("t", "ask_resources"),
        ("rsc_hold", "all"),
        ("info", "other"),
    ]
    assert [
        ("t", "resource"),
        ("rsc_hold", "none"),
        ("rtype", "full"),
        ("isstable", "0"),
        ("info", "standby"),
    ] in alpha_sent
    assert [("t", "ask_resources"), ("rsc_hold", "all"), ("info", "done")] in alpha_sent
    assert "Going standby [all]." in c.logs("alpha")
    # takeover from alpha: bravo goes standby [all] and hands everything back
    mark = len(c.wire)
    assert c.nodes["alpha"].request_takeover("all", c.now) is None
    c.run_actions()
    assert c.sent("alpha", mark)[0] == [("t", "hb_takeover"), ("rsc_hold", "all")]
    assert c.holder(G) == ["alpha"] and c.holder(BRAVO_GROUP) == ["alpha"]
    # bravo takes back only its own groups: standby foreign on alpha
    assert c.nodes["alpha"].request_standby("failback", c.now) is None
    c.run_actions()
    assert c.holder(G) == ["alpha"] and c.holder(BRAVO_GROUP) == ["bravo"]
    for name in ("alpha", "bravo"):
        assert c.nodes[name].snapshot()["stable"] is True


def test_refusals_have_clear_reasons() -> None:
    c = Cluster()
    c.cold_start()
    alpha = c.nodes["alpha"]
    assert alpha.request_standby("sideways", c.now) is not None
    assert alpha.request_standby("all", c.now) is None
    # the first request is still in flight on alpha (loopback not yet delivered)
    c.flush()
    refusal = alpha.request_standby("all", c.now)
    assert refusal == "Standby in progress [3600 seconds left]"
    c.run_actions()
    c.crash("bravo")
    alpha.on_node_dead("bravo", f"bravo {DEATH}", c.now)
    c.run_actions()
    refusal = alpha.request_standby("all", c.now)
    assert refusal == "bravo is dead: it cannot take resources now"
    assert alpha.request_takeover("all", c.now) == refusal
    assert any(e.kind == "refused" for e in c.events["alpha"])
    legacy = Cluster(auto=AutoFailback.LEGACY)
    legacy.cold_start()
    assert (
        legacy.nodes["alpha"].request_standby("all", legacy.now)
        == "auto_failback is set to legacy.  Cannot enter standby."
    )
    down = Cluster()
    down.cold_start()
    assert down.nodes["alpha"].request_shutdown(down.now) is None
    assert down.nodes["alpha"].request_standby("all", down.now) == (
        "Heartbeat shutdown in progress."
    )


def test_failed_start_marks_group_failed_and_pushes_it_once() -> None:
    c = Cluster()
    c.fail.add(("alpha", "acquire", G))
    c.comm_up("alpha", "bravo")
    c.advance(11)
    view = c.group_view("alpha", G)
    assert view["state"] == "failed" and str(view["reason"]).startswith("start failed: exit 1")
    assert c.history == [("alpha", "acquire", G)]
    c.advance(c.now + 28)  # failed at t=10: the push is due at t=40
    assert c.history == [("alpha", "acquire", G)]
    c.advance(c.now + 5)
    # hb_standby local 30 s later: bravo runs the group, no start/stop loop
    assert [("t", "ask_resources"), ("rsc_hold", "local"), ("info", "me")] in c.sent("alpha")
    assert c.holder(G) == ["bravo"]
    c.advance(c.now + 300)
    assert c.history.count(("alpha", "acquire", G)) == 1
    assert c.history.count(("bravo", "acquire", G)) == 1


def test_failed_start_on_both_nodes_pushes_once_each_then_rests() -> None:
    """Heartbeat would push a group that fails everywhere back and forth every 30 s;
    each node pushes it once, so it ends failed and stopped with 3 start attempts."""
    c = Cluster()
    c.fail |= {("alpha", "acquire", G), ("bravo", "acquire", G)}
    c.comm_up("alpha", "bravo")
    c.advance(1000)
    starts = [(node, kind) for node, kind, _ in c.history if kind == "acquire"]
    assert starts == [("alpha", "acquire"), ("bravo", "acquire"), ("alpha", "acquire")]
    assert c.holder(G) == []
    assert c.group_view("alpha", G)["state"] == "failed"
    pushes = [e.reason for n in ("alpha", "bravo") for e in c.events[n] if "in 30 s" in e.reason]
    assert [p.split("; ")[-1] for p in pushes] == [
        "asking bravo to take the local groups in 30 s",
        "asking alpha to take the foreign groups in 30 s",
    ]


def test_failed_stop_is_never_reported_released() -> None:
    c = Cluster()
    c.cold_start()
    c.fail.add(("alpha", "release", G))
    mark = len(c.wire)
    assert c.nodes["alpha"].request_standby("all", c.now) is None
    c.run_actions()
    c.advance(c.now + 120)
    assert ("bravo", "acquire", G) not in c.history
    assert [("t", "ask_resources"), ("rsc_hold", "all"), ("info", "done")] not in c.sent(
        "alpha", mark
    )
    view = c.group_view("alpha", G)
    assert view["state"] == "failed" and view["held_by"] == "alpha"
    assert "must be fenced or the resource confirmed stopped" in str(view["reason"])
    assert c.nodes["alpha"].snapshot()["i_hold"] == "local"
    assert c.sent("alpha", mark)[-1] == [
        ("t", "resource"),
        ("rsc_hold", "local"),
        ("rtype", "full"),
        ("isstable", "1"),
        ("info", "standby aborted"),
    ]
    assert c.nodes["bravo"].snapshot()["standby"] == "none"
    assert any(e.level == "CRIT" for e in c.events["alpha"])


def test_graceful_shutdown_peer_takes_over_without_fencing() -> None:
    c = Cluster()
    c.cold_start()
    mark = len(c.wire)
    assert c.nodes["alpha"].request_shutdown(c.now) is None
    c.flush()
    assert c.sent("alpha", mark)[0] == [
        ("t", "resource"),
        ("rsc_hold", "none"),
        ("rtype", "full"),
        ("isstable", "0"),
        ("info", "shutdown"),
    ]
    assert isinstance(c.pending["alpha"][0], Release)
    assert not c.nodes["alpha"].shutdown_complete
    c.run_actions()
    assert c.nodes["alpha"].shutdown_complete
    assert c.sent("alpha", mark)[-1] == [("t", "shutdone"), ("st", "dead")]
    assert c.holder(G) == ["bravo"]
    assert "Received shutdown notice from 'alpha'." in c.logs("bravo")
    sent = c.leaves_and_is_declared_dead("alpha")
    assert sent == [[("t", "stonith"), ("node", "alpha"), ("result", "unneeded")]]
    assert "Dead node alpha gave up resources." in c.logs("bravo")
    assert not any(p[0] == "result" and p[1] == "n_stnth" for m in c.sent("bravo") for p in m)


def test_legacy_ip_request_flow() -> None:
    c = Cluster(auto=AutoFailback.LEGACY)
    c.comm_up("alpha", "bravo")
    # alpha sees bravo active: asks it nicely; bravo does not own it and says OK
    assert [("t", "ip-request"), ("ipaddr", G)] in c.sent("alpha")
    assert [
        ("t", "ip-request-resp"),
        ("dest", "alpha"),
        ("ipaddr", G),
        ("weown", "no"),
        ("ok", "OK"),
    ] in c.sent("bravo")
    c.run_actions()
    assert c.holder(G) == ["alpha"]
    assert not any(m[0] == ("t", "starting") for m in c.sent("alpha"))
    _crash_alpha(c)
    c.run_actions()
    assert c.holder(G) == ["bravo"]
    mark = len(c.wire)
    alpha = c.boot("alpha")
    c.nodes["bravo"].on_node_status("alpha", "active", c.now)
    alpha.on_node_status("bravo", "active", c.now)
    alpha.on_comm_up(c.now)
    c.run_actions()
    assert c.holder(G) == ["alpha"]
    assert [
        ("t", "ip-request-resp"),
        ("dest", "alpha"),
        ("ipaddr", G),
        ("weown", "yes"),
        ("ok", "OK"),
    ] in c.sent("bravo", mark)
    assert c.nodes["alpha"].snapshot()["i_hold"] == "none"


def test_stonith_fences_first_and_retries_on_failure() -> None:
    c = Cluster(stonith=True)
    c.cold_start()
    mark = _crash_alpha(c)
    fence = c.pending["bravo"][0]
    assert isinstance(fence, Fence) and fence.node == "alpha"
    assert c.sent("bravo", mark) == []
    c.complete("bravo", ok=False, reason="device unreachable")
    assert c.sent("bravo", mark) == [[("t", "stonith"), ("node", "alpha"), ("result", "bad")]]
    assert c.pending["bravo"] == []
    assert "device unreachable" in str(c.group_view("bravo", G)["reason"])
    assert c.nodes["bravo"].next_deadline() == c.now + 5
    c.advance(c.now + 4.9)
    assert c.pending["bravo"] == []
    c.advance(c.now + 0.2)
    assert isinstance(c.pending["bravo"][0], Fence)
    assert c.holder(G) == []
    c.complete("bravo", ok=True)
    assert [("t", "stonith"), ("node", "alpha"), ("result", "OK")] in c.sent("bravo", mark)
    c.run_actions()
    assert c.holder(G) == ["bravo"]


def test_healed_partition_ends_with_the_home_node_as_single_owner() -> None:
    c = Cluster(bravo_group=True)
    c.cold_start()
    c.connected = False
    c.allow_double = True
    for name in ("alpha", "bravo"):
        other = c.peer(name)
        c.nodes[name].on_node_dead(other, f"{other} {DEATH}", c.now)
    c.run_actions()
    assert c.holder(G) == ["alpha", "bravo"] and c.holder(BRAVO_GROUP) == ["alpha", "bravo"]
    c.connected = True
    c.allow_double = False
    c.history.clear()
    for name in ("alpha", "bravo"):
        c.nodes[name].on_node_status(c.peer(name), "active", c.now)
    c.run_actions()
    assert sorted(c.history) == [("alpha", "release", BRAVO_GROUP), ("bravo", "release", G)]
    assert c.holder(G) == ["alpha"] and c.holder(BRAVO_GROUP) == ["bravo"]
    assert "Both machines own foreign resources!" in c.logs("alpha")
    for name in ("alpha", "bravo"):
        assert c.group_view(name, G)["held_by"] == "alpha"
        assert c.group_view(name, BRAVO_GROUP)["held_by"] == "bravo"
    assert "bravo is their home node" in str(c.group_view("alpha", BRAVO_GROUP)["reason"])


def test_one_way_partition_heals_with_the_home_node_as_single_owner() -> None:
    """Only bravo lost alpha (alpha's packets late beyond deadtime): alpha saw no partition.

    alpha heard bravo's takeover all along and had no reason of its own to report its
    holdings again; bravo forgot them when it declared alpha dead. Unless the home node
    answers a peer report that claims its groups, bravo never learns that both run the
    group and keeps it for good (found by soak s19: delay 3 s on alpha's egress).
    """
    c = Cluster()
    c.cold_start()
    c.muted.add("alpha")
    c.allow_double = True
    c.nodes["bravo"].on_node_dead("alpha", f"alpha {DEATH}", c.now)
    c.run_actions()
    assert c.holder(G) == ["alpha", "bravo"]
    assert "Both machines own our resources!" in c.logs("alpha")
    c.advance(c.now + 3)  # the delay: alpha's answer then was lost (it was only late)
    c.muted.clear()
    c.allow_double = False
    c.history.clear()
    mark = len(c.wire)
    c.nodes["bravo"].on_node_status("alpha", "active", c.now)
    c.run_actions()
    assert c.history == [("bravo", "release", G)]
    assert c.holder(G) == ["alpha"]
    assert "Both machines own foreign resources!" in c.logs("bravo")
    answer = [("t", "resource"), ("rsc_hold", "local"), ("rtype", "full"), ("isstable", "1")]
    assert answer in c.sent("alpha", mark)
    for name in ("alpha", "bravo"):
        assert c.group_view(name, G)["held_by"] == "alpha"
    assert len(c.wire) - mark < 12, "a few reports, no storm"


def test_bad_resource_message_changes_nothing() -> None:
    c = Cluster()
    c.cold_start()
    before = c.nodes["alpha"].snapshot()
    bad = Message.of(("t", "resource"), ("rsc_hold", "everything"), ("src", "bravo"))
    c.nodes["alpha"].on_message(bad, c.now)
    c.nodes["alpha"].on_message(Message.of(("t", "resource")), c.now)
    c.flush()
    assert c.nodes["alpha"].snapshot() == before
    assert c.nodes["alpha"].drain_outbound() == []
