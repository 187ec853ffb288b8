"""Pure view-model tests: no Textual, fixed times."""

from __future__ import annotations

from hatui import viewmodel as vm
from tests.hatui.sample import RECEIVED_AT, TIMELINE, status

CONNECTED = vm.Connection(vm.LinkState.CONNECTED)


def test_sparkline_scales_from_zero_and_keeps_last_values() -> None:
    assert vm.sparkline([100, 200]) == "▅█"
    assert vm.sparkline([0, 0]) == "▁▁"
    assert vm.sparkline([]) == ""
    assert len(vm.sparkline(list(range(1, 40)))) == vm.SPARK_WIDTH


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
    mcast = next(r for r in rows if r.link == "mcast:lo")
    assert mcast.age == "620ms"  # 120 ms in the document + 500 ms since receipt
    assert mcast.warn_margin == "-20ms"
    assert mcast.dead_margin == "+380ms"
    assert mcast.severity is vm.Severity.WARNING
    assert mcast.state == "● up"
    assert mcast.sparkline.endswith("▅")


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
    assert next(r for r in rows if r.link == "mcast:lo").severity is vm.Severity.ERROR


def test_chain_in_start_order_with_glyph_and_word() -> None:
    doc = status()
    doc["groups"][0]["resources"][1]["state"] = "starting"
    (chain,) = vm.resource_chains(doc)
    assert chain.line == "demo-db ● running ▶ demo-web ◐ starting"
    assert "held by alpha" in chain.title
    assert chain.severity is vm.Severity.WARNING


def test_failed_step_makes_chain_and_cluster_fail() -> None:
    doc = status()
    doc["groups"][0]["resources"][0]["state"] = "failed"
    doc["groups"][0]["state"] = "failed"
    (chain,) = vm.resource_chains(doc)
    assert "✖ failed" in chain.line
    assert vm.cluster_health(doc) is vm.Severity.ERROR


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
    configured = status(stonith=["stonith_host * null alpha bravo"])
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
    assert vm.log_matches(line, "late") and not vm.log_matches(line, "nothing")


def test_render_text_has_all_sections() -> None:
    picture = vm.build_picture(status(), CONNECTED, RECEIVED_AT, RECEIVED_AT, RECEIVED_AT)
    text = vm.render_text(picture, [vm.timeline_row(TIMELINE[0])])
    assert text.splitlines()[0] == picture.summary
    assert "node / link" in text and "mcast:lo" in text
    assert "demo-db ● running ▶ demo-web ● running" in text
    assert "takeover" in text


def test_malformed_document_does_not_crash() -> None:
    doc = {"nodes": "oops", "groups": [None, {"resources": "x"}], "timing": 3}
    picture = vm.build_picture(doc, CONNECTED, 0, 0)
    assert "0/0 nodes up" in picture.summary
    assert vm.build_picture(None, CONNECTED, 0, 0).summary == "no status received yet"
