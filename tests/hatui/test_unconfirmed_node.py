"""The console shows a peer whose packets have not proven fresh as not yet up (issue 15)."""

from __future__ import annotations

from hatui import viewmodel as vm
from tests.hatui.sample import RECEIVED_AT, status


def _unconfirmed() -> dict[str, object]:
    doc = status()
    bravo = next(n for n in doc["nodes"] if n["name"] == "bravo")
    bravo.update(
        status="up",
        confirmed=False,
        claims="active",
        freshness="unconfirmed: 4 packet(s) did not show that it heard us since our seq 1",
    )
    return doc


def test_unconfirmed_peer_is_not_counted_up_and_degrades_the_cluster() -> None:
    doc = _unconfirmed()
    assert vm.node_counts(doc) == (1, 2)
    assert vm.cluster_health(doc) is not vm.Severity.OK
    bravo = next(n for n in doc["nodes"] if n["name"] == "bravo")
    assert vm.node_status(bravo) == "up (unconfirmed)"
    assert vm.state_label(vm.node_status(bravo)) == "◐ up (unconfirmed)"


def test_node_row_reads_up_unconfirmed_and_documents_without_the_field_still_work() -> None:
    rows = vm.link_rows(_unconfirmed(), RECEIVED_AT, RECEIVED_AT)
    bravo = next(r for r in rows if r.node == "bravo" and r.kind == "node")
    assert bravo.node_state == "◐ up (unconfirmed)"
    old = status()  # an engine before the field: every node counts as before
    assert vm.node_counts(old) == (2, 2)


async def test_the_console_renders_an_unconfirmed_peer() -> None:
    from hatui.app import HaTuiApp

    app = HaTuiApp(status=_unconfirmed(), clock=lambda: RECEIVED_AT)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        text = app.export_screenshot().replace("&#160;", " ")
    assert "bravo ◐ up (unconfirmed)" in text
    assert "DEGRADED" in text


def test_a_group_held_by_an_unconfirmed_peer_is_not_said_to_run_there() -> None:
    doc = _unconfirmed()
    group = dict(doc["groups"][0])
    group["held_by"] = "bravo"
    text, elsewhere = vm.group_where(doc, group)
    assert text == "? held by bravo, which is up (unconfirmed)" and elsewhere == ""
    assert not any(line.startswith("bravo ") for line in vm.degraded_links(doc))
