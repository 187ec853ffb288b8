"""The fixtures captured from a real lab cluster (scripts/capture_pacemaker.py), and
the documents the translator makes of them, as node alpha's console sees them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatui.backends.pacemaker.cib import parse_locations
from hatui.backends.pacemaker.cmap import corosync_config, knet_links, parse_cmap
from hatui.backends.pacemaker.crmmon import CrmMon, parse_crm_mon
from hatui.backends.pacemaker.document import Inputs, status_document
from hatui.backends.pacemaker.logs import history_entries, loud_enough, parse_line
from hatui.backends.pacemaker.timeline import TimelineTracker

FIXTURES = Path(__file__).parent / "fixtures"


def text(name: str) -> str:
    """A fixture file's text."""
    return (FIXTURES / name).read_text()


def mon(name: str) -> CrmMon:
    """``NAME.xml`` parsed."""
    return parse_crm_mon(text(f"{name}.xml"))


def document(name: str, knet: str = "idle", constraints: str | None = None) -> dict[str, Any]:
    """The status document of situation ``name``: its crm_mon XML, the knet statistics
    of ``knet`` and the constraints captured with ``constraints`` (default: ``name``'s
    own when captured, else crm_mon's bans only)."""
    corosync = corosync_config(parse_cmap(text("icmap.txt")))
    links = knet_links(parse_cmap(text(f"{knet}.knet.txt")))
    source = constraints or name
    path = FIXTURES / f"{source}.constraints.xml"
    locations = parse_locations(path.read_text()) if path.exists() else None
    return status_document(Inputs(mon(name), corosync, links, locations))


def series(name: str) -> list[str]:
    """The names of a captured series (``crash-0``, ``crash-1``…), in order."""
    found = sorted(FIXTURES.glob(f"{name}-*.xml"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    return [p.stem for p in found]


def crash_story() -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """bravo crashed and rg-hbmark-ready recovered elsewhere, as alpha's console shows
    it: the document after the crash, the timeline of the captured series (one poll a
    second) and the log records of the captured logs (as the console filters them:
    corosync's from info, Pacemaker's from notice)."""
    tracker = TimelineTracker()
    names = ["idle", *series("crash"), "crashed"]
    lines = [
        parse_line(line)
        for name in ("corosync.log", "pacemaker.log")
        for line in text(name).splitlines()
    ]
    stamps = [
        line.time for line in lines if line.time is not None and "state is now lost" in line.text
    ]
    start = min(stamps) - len(names) + 1
    timeline = history_entries(lines, start - 60)
    for number, name in enumerate(names):
        timeline += tracker.update(document(name, knet="crashed"), start + number)
    crashed_at = start + len(names)
    logs = [
        line.record()
        for line in sorted(lines, key=lambda line: line.time or 0.0)
        if line.time is not None
        and line.time <= crashed_at
        and loud_enough(line, "INFO" if line.daemon.startswith("corosync") else "NOTICE")
    ]
    return document("crashed", knet="crashed"), timeline, logs
