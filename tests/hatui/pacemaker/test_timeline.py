"""The timeline from successive documents (captured crm_mon XML), with a fake clock."""

from __future__ import annotations

from typing import Any

from hatui.backends.pacemaker.logs import history_entries, parse_line
from hatui.backends.pacemaker.timeline import TimelineTracker
from tests.hatui.pacemaker.captured import document, series, text


def replay(*names: str, start: float = 1000.0) -> list[dict[str, Any]]:
    """Feed the documents one poll apart; every entry, oldest first."""
    tracker = TimelineTracker()
    found: list[dict[str, Any]] = []
    for number, name in enumerate(names):
        found += tracker.update(document(name), start + number)
    return found


def kinds(entries: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(e["kind"], e["node"], e["group"]) for e in entries]


def test_nothing_happens_between_equal_documents() -> None:
    assert replay("idle", "idle", "idle") == []


def test_standby_moves_the_group_and_says_why() -> None:
    entries = replay("idle", *series("standby"), "standby")
    standby = [e for e in entries if e["kind"] == "standby"]
    assert [(e["node"], e["reason"]) for e in standby] == [
        ("alpha", "in standby: its resources move away, it runs none")
    ]
    [move] = [e for e in entries if e["kind"] == "move"]
    assert move["group"] == "rg-hbweb"
    assert move["reason"].startswith("moved alpha → ")
    assert move["reason"].endswith(": alpha is in standby")
    assert move["time"] >= standby[0]["time"]


def test_crm_resource_move_and_the_constraint_it_left() -> None:
    entries = replay("idle", "moved")
    assert kinds(entries) == [
        ("move", "charlie", "rg-hbweb"),
        ("constraint", "charlie", "rg-hbweb"),
    ]
    move, constraint = entries
    assert move["reason"] == "moved alpha → charlie: crm_resource --move (cli-prefer-rg-hbweb)"
    assert constraint["reason"] == (
        "crm_resource --move left cli-prefer-rg-hbweb: rg-hbweb prefers charlie"
    )
    back = replay("moved", "idle")
    cleared = [e["reason"] for e in back if e["kind"] == "constraint"]
    assert cleared == ["cli-prefer-rg-hbweb cleared: rg-hbweb may run anywhere again"]


def test_ban_is_a_constraint_entry() -> None:
    entries = replay("moved", "banned")
    assert [e["reason"] for e in entries] == [
        "crm_resource --ban left cli-ban-rg-hbweb-on-bravo: rg-hbweb may not run on bravo"
    ]


def test_failed_actions_arrive_with_their_own_time_and_reason() -> None:
    entries = replay("idle", "failed")
    failed = {e["group"]: e for e in entries if e["kind"] == "failed"}
    assert set(failed) == {"rg-hbweb", "rg-bad"}
    assert failed["rg-hbweb"]["reason"] == "hbweb monitor failed: not running"
    assert failed["rg-hbweb"]["node"] == "alpha"
    assert failed["rg-bad"]["reason"] == "bad-ip start failed: not configured ([findif] failed)"
    assert all(e["time"] > 1_700_000_000 for e in failed.values())  # crm_mon's, not the poll's
    cleared = replay("failed", "idle")
    assert [e["kind"] for e in cleared if e["kind"] == "cleanup"] == ["cleanup"]


def test_the_first_document_brings_what_pacemaker_remembers() -> None:
    tracker = TimelineTracker()
    entries = tracker.update(document("fence-failed"), 5000.0)
    assert {e["kind"] for e in entries} == {"failed", "fence"}
    [fence] = [e for e in entries if e["kind"] == "fence"]
    assert fence["node"] == "bravo" and fence["outcome"] == "failed"
    assert fence["reason"].startswith("fencing FAILED: reboot by alpha")
    assert tracker.update(document("fence-failed"), 5001.0) == []  # not again


def test_a_crash_is_a_death_then_a_recovery_elsewhere() -> None:
    entries = replay("idle", *series("crash"), "crashed")
    deaths = [e for e in entries if e["kind"] == "death"]
    assert [e["node"] for e in deaths] == ["bravo"]
    assert deaths[0]["reason"] == (
        "left the cluster: lost from the corosync membership; it ran rg-hbmark-ready"
    )
    [recovery] = [e for e in entries if e["kind"] == "recovery"]
    assert recovery["group"] == "rg-hbmark-ready"
    assert recovery["node"] in ("alpha", "charlie")
    assert recovery["reason"] == f"recovered on {recovery['node']} after bravo died"
    assert entries.index(deaths[0]) < entries.index(recovery)
    assert not [e for e in entries if e["kind"] == "move"]


def test_a_rejoin_and_the_group_going_home() -> None:
    entries = replay("crashed", "rejoined")
    assert ("join", "bravo", "") in kinds(entries)
    join = next(e for e in entries if e["kind"] == "join")
    assert join["reason"] == "joined the cluster (online)"


def test_losing_quorum_is_a_partition_entry_and_stops_the_groups() -> None:
    entries = replay("rejoined", "no-quorum")
    assert {e["node"] for e in entries if e["kind"] == "death"} == {"bravo", "charlie"}
    [partition] = [e for e in entries if e["kind"] == "partition"]
    assert partition["reason"] == "alpha's partition lost quorum (no-quorum-policy=stop)"
    released = {e["group"]: e["reason"] for e in entries if e["kind"] == "release"}
    assert released.get("rg-hbweb") == "stopped on alpha: alpha's partition has no quorum"


def test_deaths_before_attach_come_from_the_log_once_each() -> None:
    lines = [parse_line(line) for line in text("pacemaker.log").splitlines()]
    entries = history_entries(lines, before=float("inf"))
    deaths = [e["node"] for e in entries if e["kind"] == "death"]
    joins = [e["node"] for e in entries if e["kind"] == "join"]
    # the captured log holds bravo's crash, its rejoin, then bravo and charlie lost
    assert deaths[0] == "bravo" and sorted(deaths[1:]) == ["bravo", "charlie"], entries
    assert "bravo" in joins
    assert all(e["reason"].endswith("(log)") for e in entries)
    first_death = next(e for e in entries if e["kind"] == "death")
    assert history_entries(lines, before=first_death["time"]) == [
        e for e in entries if e["time"] < first_death["time"]
    ]
