"""Pure view-model tests: no Textual, fixed times."""

from __future__ import annotations

from hatui import viewmodel as vm
from tests.hatui.sample import (
    IPFAIL_CHILD,
    RECEIVED_AT,
    TIMELINE,
    WALL,
    status,
    with_ping,
    with_stonith,
)

CONNECTED = vm.Connection(vm.LinkState.CONNECTED)


def test_sparkline_spans_its_values_and_keeps_the_last_ones() -> None:
    assert vm.sparkline([100, 200]) == "▁█"
    assert vm.sparkline([0, 0]) == "▁▁"
    assert vm.sparkline([]) == ""
    assert len(vm.sparkline(list(range(1, 40)))) == vm.SPARK_WIDTH


def test_sparkline_shows_jitter_as_a_ripple_and_a_late_heartbeat_as_a_tall_bar() -> None:
    """Relative to keepalive (200 ms): a few ms of jitter is a level or two, not solid
    blocks and not full-height swings; a late heartbeat stands out."""
    steady = vm.sparkline([200, 203, 198, 201, 200], expected=200)
    assert len(set(steady)) > 1  # the variation shows
    assert set(steady) <= set("▁▂▃▄")  # but stays small
    assert vm.sparkline([200, 200, 200], expected=200) == "▁▁▁"
    late = vm.sparkline([200, 201, 390, 199], expected=200)
    assert late[2] == "█" and set(late[:2] + late[3]) == {"▁"}


def test_format_ms_units() -> None:
    assert vm.format_ms(120) == "120ms"
    assert vm.format_ms(1500) == "1.5s"
    assert vm.format_ms(-20) == "-20ms"
    assert vm.format_ms(125_000) == "2m05s"
    assert vm.format_ms(None) == "-"


def test_every_state_has_glyph_and_word() -> None:
    expected = {"running": "●", "stopped": "○", "starting": "◐", "stopping": "◑", "failed": "✖"}
    for word, glyph in expected.items():
        assert vm.state_label(word) == f"{glyph} {word}"
    assert vm.state_label("bizarre") == "? bizarre"


def test_summary_names_health_nodes_holders_and_last_change() -> None:
    line = vm.summary_line(status())
    assert line.startswith("● cluster OK")
    assert "2/2 nodes up" in line
    assert "this node alpha" in line
    assert "demo-db@alpha" in line
    assert "acquired demo-db (initdead expired)" in line


def test_dead_peer_degrades_health() -> None:
    doc = status()
    doc["nodes"][1]["status"] = "dead"
    assert vm.cluster_health(doc) is vm.Severity.WARNING
    assert "1/2 nodes up" in vm.summary_line(doc)


def test_link_age_grows_with_local_time_and_margins_follow() -> None:
    rows = vm.link_rows(status(), now=RECEIVED_AT + 0.5, received_at=RECEIVED_AT)
    mcast = next(r for r in rows if r.link == "lo")
    assert mcast.age == "620ms"  # 120 ms in the document + 500 ms since receipt
    assert mcast.warn_margin == "-20ms"
    assert mcast.dead_margin == "+380ms"
    assert mcast.severity is vm.Severity.WARNING
    assert mcast.state == "● up"
    assert mcast.sparkline == "▁▁▁▂▁▁▁▁█▁"  # the 350 ms gap stands out, 230 ms a little


def test_self_node_has_no_link_alarm_rows() -> None:
    rows = vm.link_rows(status(), RECEIVED_AT, RECEIVED_AT)
    alpha = [r for r in rows if r.node == "alpha"]
    assert len(alpha) == 1
    assert alpha[0].state == "local"
    assert alpha[0].severity is vm.Severity.OK


def test_dead_link_is_an_error_row() -> None:
    doc = status()
    doc["nodes"][1]["links"][0]["status"] = "dead"
    rows = vm.link_rows(doc, RECEIVED_AT, RECEIVED_AT)
    assert next(r for r in rows if r.link == "lo").severity is vm.Severity.ERROR


def test_chain_in_start_order_with_glyph_and_word() -> None:
    doc = status()
    doc["groups"][0]["resources"][1]["state"] = "starting"
    (chain,) = vm.resource_chains(doc)
    assert chain.line == "demo-db ● running ▶ demo-web ◐ starting"
    assert "● running here (alpha)" in chain.title
    assert chain.severity is vm.Severity.WARNING


def test_failed_step_makes_chain_and_cluster_fail() -> None:
    doc = status()
    doc["groups"][0]["resources"][0]["state"] = "failed"
    doc["groups"][0]["state"] = "failed"
    (chain,) = vm.resource_chains(doc)
    assert "✖ failed" in chain.line
    assert vm.cluster_health(doc) is vm.Severity.ERROR


def test_monitor_failure_is_the_failed_step_with_its_reason() -> None:
    doc = status()
    group = doc["groups"][0]
    reason = "monitor: demo-web::18080 timeout (timed out after 5.0 s)"
    group["resources"][1].update(
        state="failed",
        reason=reason,
        monitor={"result": "timeout", "time": RECEIVED_AT, "reason": "timed out after 5.0 s"},
    )
    group["reason"] = reason + "; restarting demo-db on alpha (restart 1 of 2 within 600 s)"
    group["monitor"] = {"enabled": True, "failures": 1, "recovery": "restarting"}
    (chain,) = vm.resource_chains(doc)
    assert chain.line == "demo-db ● running ▶ demo-web ✖ failed (monitor timeout)"
    assert chain.severity is vm.Severity.ERROR
    assert chain.reason.startswith("monitor: demo-web::18080 timeout")
    assert chain.title.endswith(" · monitor: 1 failure, restarting")
    group["monitor"] = {"enabled": True, "failures": 0, "recovery": "none"}
    assert "monitor" not in vm.resource_chains(doc)[0].title
    row = vm.timeline_row({"time": RECEIVED_AT, "kind": "monitor", "group": "demo-db",
                           "reason": reason})  # fmt: skip
    assert row.severity is vm.Severity.ERROR
    assert vm.timeline_severity("recovery", "restarting") is vm.Severity.WARNING
    rejoin = "every group released after our main loop stalled; rejoining: ..."
    assert vm.timeline_severity("rejoin", rejoin) is vm.Severity.WARNING


def test_banners_disconnected_and_stale() -> None:
    lost = vm.Connection(vm.LinkState.RECONNECTING, 2.0, "connection refused")
    texts = [b.text for b in vm.banners(status(), lost, RECEIVED_AT, RECEIVED_AT)]
    assert any("DISCONNECTED" in t and "reconnecting (2 s)" in t for t in texts)
    # keepalive 200 ms: silence beyond 600 ms is stale, 500 ms is not
    fresh = vm.banners(status(), CONNECTED, RECEIVED_AT + 0.5, RECEIVED_AT)
    stale = vm.banners(status(), CONNECTED, RECEIVED_AT + 0.7, RECEIVED_AT)
    assert not any("STALE" in b.text for b in fresh)
    assert any("STALE" in b.text for b in stale)


def test_banner_no_stonith_unless_configured() -> None:
    none = vm.banners(status(), CONNECTED, RECEIVED_AT, RECEIVED_AT)
    assert any("no STONITH" in b.text for b in none)
    configured = with_stonith(status())  # the document's shape: {"configured": true, ...}
    assert not any("STONITH" in b.text for b in vm.banners(configured, CONNECTED, 0, 0))


def test_split_brain_when_group_held_by_two_nodes_or_audit() -> None:
    doc = status()
    doc["groups"][0]["held_by"] = ["alpha", "bravo"]
    assert vm.split_brain_reasons(doc) == ["demo-db held by alpha and bravo"]
    assert any("SPLIT BRAIN" in b.text for b in vm.banners(doc, CONNECTED, 0, 0))
    audited = status(audits=[{"kind": "split_brain", "reason": "both nodes claim demo-db"}])
    assert vm.split_brain_reasons(audited) == ["both nodes claim demo-db"]


def test_timeline_and_log_rows() -> None:
    row = vm.timeline_row(TIMELINE[0])
    assert row.kind == "takeover"
    assert row.text == "alpha demo-db — initdead expired, no peer holds it"
    death = vm.timeline_row({"kind": "death", "node": "bravo", "reason": "deadtime"})
    assert death.severity is vm.Severity.ERROR
    level, line = vm.log_line({"time": None, "level": "warn", "text": "Late heartbeat"})
    assert level == "WARN"
    assert line.endswith("WARN    Late heartbeat")


def test_render_text_has_all_sections() -> None:
    picture = vm.build_picture(status(), CONNECTED, RECEIVED_AT, RECEIVED_AT, RECEIVED_AT)
    text = vm.render_text(picture, [vm.timeline_row(TIMELINE[0])])
    assert text.splitlines()[0] == picture.summary
    assert "node / link" in text and "lo mcast" in text
    assert "demo-db ● running ▶ demo-web ● running" in text
    assert "takeover" in text


def test_malformed_document_does_not_crash() -> None:
    doc = {"nodes": "oops", "groups": [None, {"resources": "x"}], "timing": 3}
    picture = vm.build_picture(doc, CONNECTED, 0, 0)
    assert "0/0 nodes up" in picture.summary
    assert vm.build_picture(None, CONNECTED, 0, 0).summary == "no status received yet"


def texts(doc: dict[str, object]) -> list[str]:
    return [b.text for b in vm.banners(doc, CONNECTED, RECEIVED_AT, RECEIVED_AT)]


def test_links_are_named_as_the_engine_names_them_with_their_kind() -> None:
    rows = vm.link_rows(status(), RECEIVED_AT, RECEIVED_AT)
    assert [r.link for r in rows if r.kind == "link"] == ["lo", "lo#2"]
    assert [vm.link_cells(r)[0] for r in rows if r.kind == "link"] == ["  lo mcast", "  lo#2 ucast"]
    doc = status()
    doc["links"][1]["cut"] = True
    rows = vm.link_rows(doc, RECEIVED_AT, RECEIVED_AT)
    assert "  lo#2 ucast cut" in [vm.link_cells(r)[0] for r in rows]
    bare = status(links=None)  # an engine without the top-level list: bare names
    assert [vm.link_cells(r)[0] for r in vm.link_rows(bare, 0, 0) if r.kind == "link"] == [
        "  lo",
        "  lo#2",
    ]


def test_one_way_peer_is_marked_on_its_row_and_in_a_banner() -> None:
    doc = status()
    reason = (
        "one-way communication: we hear bravo but it has not heard us for 1200 ms "
        "(its status lists only: bravo)"
    )
    doc["nodes"][1]["one_way"] = reason
    bravo = next(r for r in vm.link_rows(doc, RECEIVED_AT, RECEIVED_AT) if r.node == "bravo")
    assert bravo.state == "✖ one-way" and bravo.severity is vm.Severity.ERROR
    banner = next(t for t in texts(doc) if "ONE-WAY" in t)
    assert "bravo does not hear us" in banner and "for 1200 ms" in banner
    assert vm.cluster_health(doc) is vm.Severity.WARNING
    assert not any("ONE-WAY" in t for t in texts(status()))


def test_ping_node_is_one_row_of_its_own_and_not_a_member() -> None:
    doc = with_ping(status())
    rows = vm.link_rows(doc, RECEIVED_AT, RECEIVED_AT)
    ping = rows[-1]
    assert ping.kind == "ping" and ping.node == "10.99.0.254"
    assert ping.state == "● reachable"
    assert vm.link_cells(ping)[0] == "ping 10.99.0.254"
    assert ping.sparkline and ping.dead_margin == "+4.4s"  # deadping 5000 - 640 ms
    assert sum(r.node == "10.99.0.254" for r in rows) == 1
    assert "2/2 nodes up" in vm.summary_line(doc)
    doc["nodes"][-1]["status"] = "dead"
    ping = vm.link_rows(doc, RECEIVED_AT, RECEIVED_AT)[-1]
    assert ping.state == "✖ unreachable" and ping.severity is vm.Severity.ERROR


def test_stonith_device_pending_meatware_and_results() -> None:
    assert vm.stonith_summary(status()) == ""
    doc = with_stonith(status())
    assert "no STONITH" not in " ".join(texts(doc))
    assert "STONITH external/ssh" in vm.summary_line(doc)
    pending = {"bravo": {"since": WALL, "device": "external/ssh", "reason": "bravo dead"}}
    doc = with_stonith(status(), pending=pending)
    assert any(t.startswith("◐ FENCING bravo with [external/ssh]") for t in texts(doc))
    doc = with_stonith(status(), meatware_waiting=["bravo"])
    assert any("MEATWARE" in t and "meatware confirm bravo" in t for t in texts(doc))
    last = {
        "bravo": {"time": WALL, "ok": True, "code": 0, "reason": "", "requested_by": "policy"},
        "charlie": {"time": WALL, "ok": False, "code": 5, "reason": "ssh timed out"},
    }
    doc = with_stonith(status(), last=last)
    assert "bravo reset ok" in vm.stonith_summary(doc)
    failed = [t for t in texts(doc) if "FAILED" in t]
    assert len(failed) == 1 and "charlie" in failed[0] and "ssh timed out" in failed[0]
    broken = with_stonith(status(), error="plugin external/ssh not found")
    assert any(t.startswith("✖ STONITH device unusable") for t in texts(broken))
    assert vm.stonith_banners(status(stonith={"pending": "bad", "last": 7})) == [
        vm.Banner(vm.Severity.WARNING, "◐ no STONITH configured: a split brain is not fenced")
    ]


def test_respawn_children_rows_and_trouble_banner() -> None:
    assert vm.child_rows(status()) == []
    running = {**IPFAIL_CHILD, "state": "running", "pid": 4242, "starts": 1}
    (row,) = vm.child_rows(status(children=[running]))
    assert row.line == "respawn ● running /usr/lib/heartbeat/ipfail · pid 4242 · 1 start"
    dying = {**IPFAIL_CHILD, "state": "too_fast", "starts": 7, "last_exit": "killed by signal 9"}
    doc = status(children=[dying])
    (row,) = vm.child_rows(doc)
    assert row.severity is vm.Severity.ERROR and "✖ too_fast" in row.line
    assert any("respawn child" in t and "killed by signal 9" in t for t in texts(doc))
    picture = vm.build_picture(doc, CONNECTED, RECEIVED_AT, RECEIVED_AT)
    assert row.line in vm.render_text(picture)


def test_timeline_severity_of_reload_fence_and_stall() -> None:
    def severity(kind: str, reason: str) -> vm.Severity:
        return vm.timeline_row({"kind": kind, "node": "alpha", "reason": reason}).severity

    assert severity("reload", "configuration reloaded, applied: keepalive") is vm.Severity.INFO
    refused = "configuration reloaded, applied: warntime | refused: udpport needs a restart"
    assert severity("reload", refused) is vm.Severity.WARNING
    rejected = "configuration reload rejected, old configuration stays: ha.cf:3: bad"
    assert severity("reload", rejected) is vm.Severity.ERROR
    assert severity("fence", "fencing bravo before taking over") is vm.Severity.WARNING
    assert severity("fence", "reset of bravo failed: ssh timed out") is vm.Severity.ERROR
    assert severity("stall", "no scheduling for 1800 ms") is vm.Severity.ERROR
    assert severity("takeover", "bravo dead") is vm.Severity.INFO
    row = vm.timeline_row({"time": WALL, "kind": "reload", "node": "alpha", "reason": refused})
    picture = vm.build_picture(status(), CONNECTED, RECEIVED_AT, RECEIVED_AT)
    assert "◐ reload" in vm.render_text(picture, [row])


def test_group_run_by_the_peer_reads_running_there_not_an_outage() -> None:
    """After a standby alpha's resources are stopped while bravo serves: the title says
    where the group runs, the chain says it is this node's own state."""
    doc = status()
    group = doc["groups"][0]
    group.update(held_by="bravo", state="stopped")
    for resource in group["resources"]:
        resource["state"] = "stopped"
    (chain,) = vm.resource_chains(doc)
    assert "● running on bravo" in chain.title
    assert chain.line == "here: demo-db ○ stopped ▶ demo-web ○ stopped"
    assert chain.severity is vm.Severity.OK
    assert vm.cluster_health(doc) is vm.Severity.OK
    doc["nodes"][1]["status"] = "dead"  # held by a dead peer: said, not claimed running
    assert "? held by bravo, which is dead" in vm.resource_chains(doc)[0].title
    group["held_by"] = None
    assert "not running anywhere" in vm.resource_chains(doc)[0].title


def test_a_dead_or_cut_medium_to_a_live_peer_is_a_warning() -> None:
    doc = status()
    doc["nodes"][1]["links"][1]["status"] = "dead"
    assert vm.degraded_links(doc) == ["bravo lo#2 dead"]
    assert vm.cluster_health(doc) is vm.Severity.WARNING
    assert vm.summary_line(doc).startswith("◐ cluster DEGRADED: bravo lo#2 dead · 2/2 nodes up")
    cut = status()
    cut["links"][1]["cut"] = True
    assert vm.degraded_links(cut) == ["lo#2 cut (fault injection)"]
    # this node's own links (lo#2 reads dead in the sample) are not counted
    assert vm.degraded_links(status()) == []


def test_stale_picture_claims_nothing_and_shows_the_last_ages() -> None:
    lost = vm.Connection(vm.LinkState.RECONNECTING, 5.0, "connection refused")
    picture = vm.build_picture(status(), lost, RECEIVED_AT + 30, RECEIVED_AT, RECEIVED_AT)
    assert picture.stale == "no engine for 30.0s"
    assert picture.summary.startswith("? cluster state UNKNOWN (no engine for 30.0s) · last known:")
    assert "cluster OK" not in picture.summary
    assert picture.health is vm.Severity.ERROR
    mcast = next(r for r in picture.links if r.link == "lo" and r.node == "bravo")
    assert mcast.age == "120ms"  # as of the last update, not 30 s older
    silent = vm.build_picture(status(), CONNECTED, RECEIVED_AT + 1, RECEIVED_AT, RECEIVED_AT)
    assert silent.stale == "no update for 1.0s"
    live = vm.build_picture(status(), CONNECTED, RECEIVED_AT + 0.5, RECEIVED_AT, RECEIVED_AT)
    assert live.stale == "" and live.summary.startswith("● cluster OK")


def test_an_unknown_peer_state_is_shown_as_its_word() -> None:
    doc = status()
    doc["nodes"][1]["status"] = "up (unconfirmed)"
    rows = vm.link_rows(doc, RECEIVED_AT, RECEIVED_AT)
    assert next(r for r in rows if r.node == "bravo" and not r.link).node_state == (
        "◐ up (unconfirmed)"
    )
    doc["nodes"][1]["status"] = "pondering"
    assert vm.state_label("pondering") == "? pondering"
    assert "1/2 nodes up" in vm.summary_line(doc)
