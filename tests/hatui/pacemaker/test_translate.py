"""crm_mon XML, cmap lines and CIB constraints → the status document, on real output
captured from the lab (tests/hatui/pacemaker/fixtures, scripts/capture_pacemaker.py)."""

from __future__ import annotations

from typing import Any

import pytest

from hatui.backends.pacemaker.cib import CibError, parse_locations, parse_score
from hatui.backends.pacemaker.cmap import corosync_config, knet_links, parse_cmap
from hatui.backends.pacemaker.crmmon import CrmMonError, parse_crm_mon, parse_time
from tests.hatui.pacemaker.captured import document, mon, series, text


def by_name(items: list[dict[str, Any]], key: str = "name") -> dict[str, dict[str, Any]]:
    return {str(item[key]): item for item in items}


def test_icmap_names_nodes_links_token_and_log() -> None:
    config = corosync_config(parse_cmap(text("icmap.txt")))
    assert config.names == {1: "alpha", 2: "bravo", 3: "charlie"}
    assert config.local_name == "alpha"
    assert config.addresses[2, 0] == "10.99.0.2"
    assert config.addresses[3, 1] == "10.99.1.3"
    # three nodes: corosync adds token_coefficient (650 ms) to the configured 1000 ms
    assert (config.token_ms, config.consensus_ms) == (1650, 1980)
    assert config.logfile == "/var/log/cluster/corosync.log"
    assert config.cluster_name == "hatui-lab"


def test_knet_stats_give_every_link_with_latency() -> None:
    links = {(lk.nodeid, lk.link): lk for lk in knet_links(parse_cmap(text("idle.knet.txt")))}
    # the local node appears with one pseudo-link ("localhost" in corosync-cfgtool)
    assert set(links) == {(1, 0)} | {(n, k) for n in (2, 3) for k in (0, 1)}
    local = links[1, 0]
    assert local.latency_us is None  # knet's own "no sample" (u32 max) is not a latency
    for key in ((2, 0), (2, 1), (3, 0), (3, 1)):
        link = links[key]
        assert link.status == "up"
        assert link.latency_us is not None and 0 < link.latency_us < 1_000_000
        assert link.latency_min_us is not None and link.latency_max_us is not None
        assert link.latency_min_us <= link.latency_us <= link.latency_max_us


def test_a_cut_link_is_dead_and_the_other_stays_up() -> None:
    links = {(lk.nodeid, lk.link): lk for lk in knet_links(parse_cmap(text("link-down.knet.txt")))}
    assert links[3, 1].status == "dead"
    assert links[3, 0].status == "up"
    assert links[3, 1].down_count >= 1


def test_idle_document_has_three_nodes_links_and_both_groups() -> None:
    doc = document("idle")
    assert doc["backend"] == "pacemaker"
    assert doc["node"] == "alpha" and doc["status"] == "active"
    nodes = by_name(doc["nodes"])
    assert list(nodes) == ["alpha", "bravo", "charlie"]
    assert all(n["status"] == "active" for n in nodes.values())
    assert nodes["alpha"]["self"] and nodes["alpha"]["links"] == []
    for peer in ("bravo", "charlie"):
        links = by_name(nodes[peer]["links"])
        assert list(links) == ["link0", "link1"]
        assert all(lk["status"] == "up" and lk["latency_ms"] > 0 for lk in links.values())
    groups = by_name(doc["groups"], "key")
    assert groups["rg-hbweb"]["held_by"] == "alpha"
    assert groups["rg-hbweb"]["home"] == "alpha"  # the export's location preference
    assert groups["rg-hbmark-ready"]["held_by"] == "bravo"
    assert groups["rg-hbmark-ready"]["home"] == "bravo"
    assert all(g["state"] == "running" for g in groups.values())
    steps = [r["name"] for r in groups["rg-hbweb"]["resources"]]
    assert steps == ["ip-10.99.0.202", "hbweb"]  # start order
    assert doc["timing"]["deadtime_ms"] == 1650
    assert doc["resources"]["stable"] is True
    assert doc["quorum"] == {"quorate": True, "policy": "stop"}
    assert doc["failed_actions"] == [] and doc["constraints"] == []
    assert doc["notices"] == []
    assert doc["stonith"]["configured"] is False and doc["stonith"]["enabled"] is False


def test_standby_node_and_the_group_it_gave_away() -> None:
    doc = document("standby")
    nodes = by_name(doc["nodes"])
    assert nodes["alpha"]["status"] == "standby" and nodes["alpha"]["standby"] is True
    assert doc["status"] == "standby"
    web = by_name(doc["groups"], "key")["rg-hbweb"]
    assert web["held_by"] in ("bravo", "charlie")
    assert web["home"] == "alpha"


def test_move_leaves_a_constraint_shown_with_the_group() -> None:
    doc = document("moved")
    web = by_name(doc["groups"], "key")["rg-hbweb"]
    assert web["held_by"] == "charlie"
    assert web["home"] == "alpha"  # the operator's cli-prefer is not the home
    assert web["constraints"] == [
        {
            "id": "cli-prefer-rg-hbweb",
            "resource": "rg-hbweb",
            "kind": "prefer",
            "node": "charlie",
            "score": 1_000_000,
        }
    ]
    assert web["notes"] == ["moved to charlie by crm_resource --move (cli-prefer-rg-hbweb)"]
    assert [c["id"] for c in doc["constraints"]] == ["cli-prefer-rg-hbweb"]


def test_ban_from_crm_mon_and_from_the_cib() -> None:
    assert [b.id for b in mon("banned").bans] == ["cli-ban-rg-hbweb-on-bravo"]
    doc = document("banned")
    web = by_name(doc["groups"], "key")["rg-hbweb"]
    kinds = {c["id"]: c["kind"] for c in web["constraints"]}
    assert kinds == {"cli-prefer-rg-hbweb": "prefer", "cli-ban-rg-hbweb-on-bravo": "ban"}
    # without cibadmin's answer the console still knows the ban, from crm_mon
    without = document("banned", constraints="none-captured")
    web = by_name(without["groups"], "key")["rg-hbweb"]
    assert [c["id"] for c in web["constraints"]] == ["cli-ban-rg-hbweb-on-bravo"]


def test_failed_actions_with_reasons_and_a_stopped_group() -> None:
    doc = document("failed")
    failures = {f["resource"]: f for f in doc["failed_actions"]}
    assert set(failures) == {"hbweb", "bad-ip"}
    assert failures["hbweb"]["task"] == "monitor" and failures["hbweb"]["exitcode"] == 7
    assert failures["bad-ip"]["exitreason"] == "[findif] failed"
    assert failures["bad-ip"]["time"] is not None
    groups = by_name(doc["groups"], "key")
    assert groups["rg-bad"]["state"] == "stopped" and groups["rg-bad"]["held_by"] is None
    assert "bad-ip start failed on" in groups["rg-bad"]["reason"]
    assert "not configured ([findif] failed)" in groups["rg-bad"]["reason"]
    assert "hbweb monitor (recurring) failed on alpha: not running" in groups["rg-hbweb"]["reason"]
    assert groups["rg-hbweb"]["state"] == "running"  # recovered in place
    [notice] = doc["notices"]
    assert notice["severity"] == "warning"
    assert notice["text"].startswith("◐ 2 failed actions (crm_resource --cleanup forgets them): ")


def test_failed_fencing_is_the_last_result_for_its_target() -> None:
    doc = document("fence-failed")
    result = doc["stonith"]["last"]["bravo"]
    assert result["ok"] is False and result["action"] == "reboot"
    assert result["time"] is not None


def test_clone_is_one_chain_on_every_node_and_no_split_brain() -> None:
    clone = by_name(document("clone")["groups"], "key")["cl-dummy"]
    assert clone["clone"] is True and clone["kind"] == "clone"
    assert sorted(clone["held_by"]) == ["alpha", "bravo", "charlie"]
    assert clone["state"] == "running"


def test_crash_series_dead_node_and_recovered_group() -> None:
    first, *_rest, last = series("crash")
    assert by_name(document(first)["nodes"])["bravo"]["status"] == "active"
    doc = document(last, knet="crashed")
    bravo = by_name(doc["nodes"])["bravo"]
    assert bravo["status"] == "dead"
    assert all(lk["status"] == "dead" for lk in bravo["links"])
    ready = by_name(doc["groups"], "key")["rg-hbmark-ready"]
    assert ready["held_by"] in ("alpha", "charlie")


def test_no_quorum_is_a_notice_with_the_policy() -> None:
    doc = document("no-quorum")
    assert doc["quorum"]["quorate"] is False
    texts = [n["text"] for n in doc["notices"]]
    assert any("NO QUORUM" in t and "no-quorum-policy=stop" in t for t in texts), texts
    web = by_name(doc["groups"], "key")["rg-hbweb"]
    assert web["held_by"] is None  # no-quorum-policy=stop


def test_a_group_being_stopped_is_stopping_and_not_stable() -> None:
    doc = document("no-quorum-stopping")
    web = by_name(doc["groups"], "key")["rg-hbweb"]
    assert web["state"] == "stopping"
    states = {r["name"]: r["state"] for r in web["resources"]}
    assert "stopping" in states.values() or "stopped" in states.values(), states
    assert doc["resources"]["stable"] is False
    assert "stopping" in doc["resources"]["unstable_because"]


def test_unreadable_output_says_why() -> None:
    with pytest.raises(CrmMonError, match="did not print XML"):
        parse_crm_mon("crm_mon: Error: cluster is not available on this node\n")
    with pytest.raises(CrmMonError, match="not <pacemaker-result>"):
        parse_crm_mon("<cib/>")
    error = (
        '<pacemaker-result api-version="2.25" request="crm_mon"><status code="102" '
        'message="Not connected"><errors><error>crm_mon: Connection to cluster failed'
        "</error></errors></status></pacemaker-result>"
    )
    with pytest.raises(CrmMonError, match="Not connected: crm_mon: Connection to cluster failed"):
        parse_crm_mon(error)
    with pytest.raises(CibError):
        parse_locations("Call cib_query failed (-107): Transport endpoint is not connected")


def test_crm_mon_on_a_node_without_pacemaker_says_why() -> None:
    with pytest.raises(CrmMonError) as caught:
        parse_crm_mon(text("down.xml"))
    assert str(caught.value) == (
        "crm_mon: Not connected: error: Could not connect to launcher: Connection refused; "
        "crm_mon: Connection to cluster failed: Connection refused"
    )


def test_scores_and_times() -> None:
    assert parse_score("INFINITY") == parse_score("+INFINITY") == 1_000_000
    assert parse_score("-INFINITY") == -1_000_000
    assert parse_score("100") == 100 and parse_score("x") is None
    assert parse_time("2026-12-06 21:37:32Z") == 1796593052.0
    assert parse_time("") is None and parse_time("yesterday") is None
