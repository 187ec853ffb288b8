"""Resource monitoring in the policy, on a fake clock: scheduling, recovery, reasons.

alpha is the home of ``G`` (``IPaddr2::… hbhttpd``) and takes it 10 s after comm-up; the
harness answers every Monitor from what it was told is broken (``break_resource``).
"""

from __future__ import annotations

from engine.config.model import AutoFailback, MonitorConfig
from engine.core.policy_types import (
    Acquire,
    CancelMonitor,
    Fence,
    Monitor,
    MonitorCheck,
    Release,
)
from tests.core_policy.harness import ALPHA_GROUP, DEATH, Cluster

G = ALPHA_GROUP
WEB = "hbhttpd"


def _monitored(restarts: int = 2, window: int = 600, **kw: object) -> Cluster:
    monitor = MonitorConfig(interval_ms=10_000, timeout_ms=5_000, restarts=restarts,
                            window_ms=window * 1000)  # fmt: skip
    c = Cluster(monitor=monitor, **kw)  # type: ignore[arg-type]
    c.cold_start()
    assert c.holder(G) == ["alpha"]
    return c


def _monitor_view(c: Cluster, name: str) -> dict[str, object]:
    return c.nodes[name].monitor_status(c.now, 1000.0 + c.now)[G]


def _group_monitor(c: Cluster, name: str) -> dict[str, object]:
    view = _monitor_view(c, name)["group"]
    assert isinstance(view, dict)
    return view


def _events(c: Cluster, name: str, kind: str) -> list[str]:
    return [e.reason for e in c.events[name] if e.kind == kind]


def _check_at_20(c: Cluster) -> Monitor:
    """Fire alpha's first check (t=20) without answering it."""
    c.now = 20.0
    c.nodes["alpha"].tick(c.now)
    c.flush()
    [check] = c.checks["alpha"]
    return check


def _crash_bravo(c: Cluster) -> None:
    c.crash("bravo")
    c.nodes["alpha"].on_node_dead("bravo", f"bravo {DEATH}", c.now)
    c.run_actions()


def test_checks_run_every_interval_only_on_the_holder_once_settled() -> None:
    c = Cluster(monitor=MonitorConfig(interval_ms=10_000))
    c.comm_up("alpha", "bravo")
    c.advance(9.5)
    assert c.checked == []  # not settled: start-up negotiation (RSCRCVD) still running
    c.advance(45)
    # alpha took the group at t=10: checks one interval later, then every interval
    assert c.checked == [("alpha", G, 20.0), ("alpha", G, 30.0), ("alpha", G, 40.0)]
    assert c.history == [("alpha", "acquire", G)]
    view = _monitor_view(c, "alpha")
    assert view["group"] == {
        "enabled": True,
        "checks": 3,
        "failures": 0,
        "restarts": 0,
        "recovery": "none",
        "reason": "",
        "checking": False,
        "next_check_in_s": 5.0,
        "retry_in_s": None,
    }
    resources = view["resources"]
    assert isinstance(resources, dict)
    assert resources[WEB] == {
        "result": "ok",
        "time": 1040.0,
        "duration_ms": 0.0,
        "reason": "",
        "failures": 0,
    }
    assert c.nodes["alpha"].snapshot()["stable"] is True  # a check is not a transition
    assert c.nodes["alpha"].snapshot()["monitor"] == {
        "enabled": True,
        "interval_s": 10.0,
        "timeout_s": 20.0,
        "restarts": 2,
        "window_s": 600.0,
    }


def test_monitoring_off_by_default_emits_no_check() -> None:
    c = Cluster()
    c.cold_start()
    c.advance(120)
    assert c.checked == []
    assert _group_monitor(c, "alpha")["enabled"] is False


def test_failure_restarts_the_group_in_place_with_reasons() -> None:
    c = _monitored()
    c.advance(19)
    c.break_resource("alpha", WEB, "timeout")
    c.history.clear()
    c.advance(21)
    assert c.history == [("alpha", "release", G), ("alpha", "acquire", G)]
    assert c.holder(G) == ["alpha"]
    [failure] = _events(c, "alpha", "monitor")
    assert failure == f"{WEB} timeout; failure 1 within 600 s (2 restarts allowed)"
    logs = c.logs("alpha")
    assert f"Resource {WEB} failed its monitor: timeout [{G}]" in logs
    assert (
        f"Restarting resource group {G} after a monitor failure (restart 1 of 2 within 600 s)."
    ) in logs
    assert f"Resource group {G} restarted after a monitor failure." in logs
    level = {e.log: e.level for e in c.events["alpha"]}
    assert level[f"Resource {WEB} failed its monitor: timeout [{G}]"] == "ERROR"
    releases = [e.reason for e in c.events["alpha"] if e.kind == "release"]
    assert releases[-1] == (
        f"monitor: {WEB} timeout; restarting {G} on alpha (restart 1 of 2 within 600 s)"
    )
    assert c.group_view("alpha", G)["reason"] == f"monitor: {WEB} timeout; restarted on alpha"
    view = _group_monitor(c, "alpha")
    assert (view["failures"], view["restarts"], view["recovery"]) == (1, 1, "restarted")
    assert view["reason"] == f"monitor: {WEB} timeout; restarted on alpha"
    # the restart healed it: checks pass again, nothing more happens
    c.advance(60)
    assert c.history == [("alpha", "release", G), ("alpha", "acquire", G)]
    assert _monitor_view(c, "alpha")["resources"][WEB]["failures"] == 1  # type: ignore[index]


def test_used_up_restarts_hand_the_group_to_the_peer_after_our_stop() -> None:
    c = _monitored(restarts=1)
    c.advance(19)
    c.break_resource("alpha", WEB, "not running", sticky=True)
    c.history.clear()
    mark = len(c.wire)
    c.advance(50)
    assert c.history == [
        ("alpha", "release", G),  # failure 1 at 20: restart in place
        ("alpha", "acquire", G),
        ("alpha", "release", G),  # failure 2 at 30: used up, stop, then hand over
        ("bravo", "acquire", G),
    ]
    assert c.holder(G) == ["bravo"]
    assert [("t", "ask_resources"), ("rsc_hold", "local"), ("info", "me")] in c.sent("alpha", mark)
    stopping = _events(c, "alpha", "recovery")
    assert (
        f"monitor: {WEB} not running; 2 failures within 600 s, monitor_restarts is 1: "
        f"stopping {G}, then bravo takes it"
    ) in stopping
    assert stopping[-1] == f"monitor: {WEB} not running; handed to bravo"
    assert f"Resource group {G} handed over to bravo after monitor failures." in c.logs("alpha")
    view = _group_monitor(c, "alpha")
    assert (view["recovery"], view["failures"]) == ("moved", 2)
    assert c.group_view("alpha", G)["held_by"] == "bravo"
    assert c.group_view("bravo", G)["state"] == "running"
    # bravo monitors it now; alpha checks nothing it does not run
    assert [n for n, _, t in c.checked if t > 31] == ["bravo", "bravo"]


def test_a_restart_that_fails_to_start_hands_over_at_once() -> None:
    c = _monitored()
    c.advance(19)
    c.break_resource("alpha", WEB)
    c.fail.add(("alpha", "acquire", G))
    c.history.clear()
    c.advance(22)
    # the standby releases the failed group once more (a failed start may leave debris)
    # before bravo starts it
    assert c.history == [
        ("alpha", "release", G),
        ("alpha", "acquire", G),
        ("alpha", "release", G),
        ("bravo", "acquire", G),
    ]
    assert c.holder(G) == ["bravo"]
    assert c.nodes["alpha"]._pushes == []  # not Heartbeat's hb_standby 30 s after a failed start
    recovery = _events(c, "alpha", "recovery")
    assert any("the restart failed (start failed: exit 1" in r for r in recovery), recovery
    assert _group_monitor(c, "alpha")["recovery"] == "moved"


def test_peer_down_keeps_the_group_stopped_and_retries_with_backoff() -> None:
    c = _monitored(restarts=0)
    _crash_bravo(c)
    c.advance(c.now + 1)
    c.break_resource("alpha", WEB, "failed", sticky=True)
    c.history.clear()
    start = c.now
    c.advance(start + 10)
    assert c.history == [("alpha", "release", G)]
    reason = str(c.group_view("alpha", G)["reason"])
    assert reason == (
        f"monitor: {WEB} failed; 1 failure within 600 s, monitor_restarts is 0; "
        "bravo is dead and cannot take it: it stays stopped, tried here again in 30 s"
    )
    assert c.group_view("alpha", G)["state"] == "stopped"
    assert _group_monitor(c, "alpha")["recovery"] == "waiting"
    failed_at = c.checked[-1][2]
    c.advance(failed_at + 29.9)
    assert c.history == [("alpha", "release", G)]
    c.advance(failed_at + 41)  # started again at +30, fails its first check (+10)
    assert c.history == [("alpha", "release", G), ("alpha", "acquire", G), ("alpha", "release", G)]
    assert "tried here again in 60 s" in str(c.group_view("alpha", G)["reason"])
    c.advance(failed_at + 40 + 59.9)
    assert len(c.history) == 3
    c.advance(failed_at + 40 + 60)
    assert c.history[-1] == ("alpha", "acquire", G)


def test_a_peer_that_comes_back_takes_a_waiting_group() -> None:
    c = _monitored(restarts=0)
    _crash_bravo(c)
    c.break_resource("alpha", WEB, "failed", sticky=True)
    c.advance(c.now + 11)
    assert _group_monitor(c, "alpha")["recovery"] == "waiting"
    c.rejoin("bravo")
    c.advance(c.now + 5)
    assert c.holder(G) == ["bravo"]
    assert _group_monitor(c, "alpha")["recovery"] == "moved"


def test_failures_expire_after_the_window() -> None:
    c = _monitored(restarts=1, window=60)
    c.advance(19)
    c.break_resource("alpha", WEB)
    c.advance(21)  # failure 1 at t=20: restart
    assert _group_monitor(c, "alpha")["failures"] == 1
    c.advance(81)  # the failure of t=20 expired at t=80
    view = _group_monitor(c, "alpha")
    assert (view["failures"], view["recovery"], view["reason"]) == (0, "none", "")
    c.break_resource("alpha", WEB)
    c.history.clear()
    c.advance(95)
    # one failure in the window again: a restart, not a handover
    assert c.history == [("alpha", "release", G), ("alpha", "acquire", G)]
    assert c.holder(G) == ["alpha"]


def test_a_transition_cancels_a_running_check_and_none_runs_during_it() -> None:
    c = _monitored()
    c.advance(19.5)
    alpha = c.nodes["alpha"]
    check = _check_at_20(c)
    assert alpha.request_standby("all", c.now) is None
    c.flush()
    assert c.checks["alpha"] == []
    assert [a.id for a in c.cancelled["alpha"]] == [check.id]
    assert c.cancelled["alpha"][0].reason == "a standby is in progress"
    # a late answer of the cancelled check changes nothing
    alpha.on_monitor_done(check.id, [MonitorCheck(WEB, "timeout")], c.now)
    c.run_actions()
    assert c.holder(G) == ["bravo"]
    assert _events(c, "alpha", "monitor") == []
    # bravo checks one interval after it settled, alpha never while it held nothing
    c.advance(45)
    assert [(n, t) for n, _, t in c.checked] == [("bravo", 30.0), ("bravo", 40.0)]


def test_check_and_action_never_overlap_in_the_worker_queue() -> None:
    c = _monitored()
    alpha = c.nodes["alpha"]
    _check_at_20(c)
    c.crash("bravo")
    alpha.on_node_dead("bravo", f"bravo {DEATH}", c.now)
    actions = alpha.drain_actions()
    cancel = [a for a in actions if isinstance(a, CancelMonitor)]
    assert cancel and cancel[0].reason == "a takeover is in progress"
    assert [type(a) for a in actions if not isinstance(a, CancelMonitor)] in ([], [Acquire])


def test_failed_stop_during_recovery_is_fenced_before_the_peer_starts() -> None:
    c = _monitored(stonith=True)
    c.advance(19)
    c.break_resource("alpha", WEB)
    c.fail.add(("alpha", "release", G))
    mark = len(c.wire)
    c.advance(21)
    assert [
        ("t", "resource"),
        ("rsc_hold", "local"),
        ("rtype", "full"),
        ("isstable", "1"),
        ("info", "monitor stop failed"),
    ] in c.sent("alpha", mark)
    view = _group_monitor(c, "alpha")
    assert view["recovery"] == "stop failed"
    assert view["reason"] == (
        f"monitor: {WEB} timeout; {G} could not be stopped; bravo fences alpha before it starts it"
    )
    fence = c.pending["bravo"][0]
    assert isinstance(fence, Fence) and fence.node == "alpha"
    assert "while recovering from a monitor failure" in fence.reason
    assert not any(isinstance(a, Acquire) for a in c.pending["bravo"])
    assert ("bravo", "acquire", G) not in c.history
    c.crash("alpha")  # the reset
    c.complete("bravo", ok=True)
    c.run_actions()
    assert c.holder(G) == ["bravo"]


def test_a_group_failing_on_both_nodes_stops_bouncing() -> None:
    c = _monitored(restarts=0)
    c.advance(19)
    c.break_resource("alpha", WEB, sticky=True)
    c.break_resource("bravo", WEB, sticky=True)
    c.history.clear()
    c.advance(45)
    assert c.history == [
        ("alpha", "release", G),  # fails on alpha: to bravo
        ("bravo", "acquire", G),
        ("bravo", "release", G),  # fails on bravo: back to alpha
        ("alpha", "acquire", G),
        ("alpha", "release", G),  # fails on alpha again: kept stopped here
    ]
    assert c.holder(G) == []
    assert "it already failed on bravo after alpha handed it over" in str(
        c.group_view("alpha", G)["reason"]
    )
    assert _group_monitor(c, "alpha")["recovery"] == "waiting"
    # from now on it is retried on alpha only, ever more slowly, until the window ends
    c.advance(400)
    tries = [(n, kind) for n, kind, _ in c.history[5:]]
    assert set(tries) == {("alpha", "acquire"), ("alpha", "release")}
    assert len(tries) == 6  # started again after 30, 60 and 120 s


def test_legacy_mode_never_hands_over() -> None:
    c = _monitored(restarts=0, auto=AutoFailback.LEGACY)
    c.advance(c.now + 5)
    c.break_resource("alpha", WEB, sticky=True)
    c.history.clear()
    c.advance(c.now + 11)
    assert c.history == [("alpha", "release", G)]
    assert "auto_failback legacy has no standby to hand it over" in str(
        c.group_view("alpha", G)["reason"]
    )


def test_reload_turns_monitoring_off_and_on() -> None:
    c = _monitored()
    alpha = c.nodes["alpha"]
    _check_at_20(c)
    alpha.set_monitor(MonitorConfig(), c.now)
    c.flush()
    assert c.checks["alpha"] == [] and c.cancelled["alpha"][-1].reason == (
        "the monitor settings changed"
    )
    c.advance(60)
    assert [t for _, _, t in c.checked] == []
    alpha.set_monitor(MonitorConfig(interval_ms=5_000), c.now)
    c.advance(71)
    assert [t for _, _, t in c.checked] == [65.0, 70.0]
    assert not any(isinstance(a, Release) for a in c.pending["alpha"])
