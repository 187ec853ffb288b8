"""Every audit can fail: fed bad data it reports, fed good data it passes."""

from __future__ import annotations

from lab import audits
from lab.netns import Sample

GOOD = [Sample(0.0, frozenset()), Sample(0.02, frozenset({"alpha"}))]
DUAL = [*GOOD, Sample(0.04, frozenset({"alpha", "bravo"}))]


def test_single_owner_fails_on_a_dual_sample() -> None:
    assert audits.single_owner(GOOD) == []
    problems = audits.single_owner(DUAL)
    assert problems and "alpha" in problems[0] and "bravo" in problems[0]
    assert audits.single_owner(DUAL, allowed_dual=1) == []
    assert audits.dual_owner_samples(DUAL) == 1


def test_colocation_fails_when_a_group_is_split() -> None:
    assert audits.colocated({"g": {"ip": "alpha", "svc": "alpha"}}) == []
    assert audits.colocated({"g": {"ip": "alpha", "svc": "bravo"}})


def _group(*states: tuple[str, str]) -> dict[str, object]:
    resources = [{"name": name, "state": state} for name, state in states]
    return {"groups": [{"key": "g", "resources": resources}]}


def test_group_places_finds_a_member_on_another_node() -> None:
    alpha = _group(("ip", "running"), ("svc", "running"))
    stopped = _group(("ip", "stopped"), ("svc", "stopped"))
    together = audits.group_places({"alpha": alpha, "bravo": stopped, "charlie": None})
    assert together == {"g": {"ip": "alpha", "svc": "alpha"}}
    assert audits.colocated(together) == []
    starting = _group(("ip", "stopped"), ("svc", "starting"))
    split = audits.group_places({"alpha": alpha, "bravo": starting})
    assert split == {"g": {"ip": "alpha", "svc": "alpha+bravo"}}
    assert "group g is split" in audits.colocated(split)[0]
    assert audits.group_places({"alpha": stopped, "bravo": stopped}) == {"g": {}}


def test_bad_news_honours_global_and_scenario_allow_lists() -> None:
    lines = [
        "heartbeat: info: all fine",
        "heartbeat: ERROR: Irretrievably lost packet: node bravo seq 7",
        "heartbeat: CRIT: Both machines own our resources",
        "heartbeat: ERROR: something unexpected",
    ]
    found = audits.bad_news(lines)
    assert found == lines[2:]
    assert audits.bad_news(lines, allow=[r"Both machines own"]) == [lines[3]]
    assert audits.bad_news(lines[:2]) == []


def test_stray_audits_fail_on_leftovers() -> None:
    assert audits.no_stray_addresses([], "10.99.0.10") == []
    assert "alpha" in audits.no_stray_addresses(["alpha"], "10.99.0.10")[0]
    assert audits.no_stray_processes({"alpha": [], "bravo": []}) == []
    assert "4242" in audits.no_stray_processes({"alpha": [4242]})[0]


def test_report_collects_every_failure() -> None:
    report = audits.AuditReport()
    report.add("single_owner", [])
    assert report.ok
    report.add("bad_news", ["x: ERROR: y"])
    assert not report.ok and "bad_news: x: ERROR: y" in report.text()
