"""The typed status document (engine/control/status.py): tolerant, lossless, one notion of up.

A running engine's document is checked in tests/integration/test_loopback_cluster.py
(it parses with every declared field of the right type and is written back unchanged).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from engine.control.jsonparts import Part
from engine.control.status import (
    Node,
    find_link,
    find_node,
    held_resources,
    is_up,
    node_counts,
    parse_status,
    state_word,
)

DOC: dict[str, Any] = {
    "node": "alpha",
    "status": "active",
    "generation": 17,
    "uuid": "ab" * 16,
    "nodes": [
        {"name": "alpha", "type": "normal", "self": True, "status": "active", "links": []},
        {
            "name": "bravo",
            "type": "normal",
            "self": False,
            "status": "up",
            "last_heard_ms": 120,
            "links": [{"name": "eth0", "status": "up", "last_heard_ms": 120.5, "late": 0}],
            "future_field": {"kept": True},
        },
        {"name": "gw", "type": "ping", "self": False, "status": "ping", "links": []},
    ],
    "groups": [{"key": "IPaddr2::10.99.0.10/24/eth0", "home": "alpha", "held_by": "alpha"}],
    "resources": {"mode": "nice_failback", "i_hold": "local", "stable": True},
    "a_later_section": [1, 2, 3],
}


def mistyped(part: Part) -> list[str]:
    """Declared keys whose value was of the wrong type (kept aside in ``extra``)."""
    names = {key for key in part.keys or () if key in part.extra}
    declared = {f.metadata.get("key") or f.name for f in dataclasses.fields(part)}
    found = sorted(names & declared)
    for value in vars(part).values():
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, Part):
                found += mistyped(item)
    return found


def test_a_document_is_written_back_exactly_as_read_unknown_fields_and_order_included() -> None:
    doc = parse_status(DOC)
    assert doc.to_json() == DOC
    assert json.dumps(doc.to_json()) == json.dumps(DOC)  # key order too
    assert doc.extra == {"a_later_section": [1, 2, 3]}
    bravo = find_node(doc, "bravo")
    assert bravo is not None and bravo.extra == {"future_field": {"kept": True}}
    assert mistyped(doc) == []


def test_the_reader_is_tolerant_of_missing_wrong_and_garbage_values() -> None:
    assert parse_status(None).nodes == ()
    assert parse_status("garbage").to_json() == {}
    odd = {"pid": "twelve", "nodes": [{"name": 7, "status": "up"}, "not a node"], "groups": 3}
    doc = parse_status(odd)
    assert doc.pid is None and doc.groups == ()
    assert [n.name for n in doc.nodes] == ["?"]  # the string item is left out of the view
    assert doc.to_json() == odd  # and nothing is lost
    assert held_resources(doc) == "none"


UP_CASES = [
    ({"status": "active"}, True),
    ({"status": "up"}, True),
    ({"status": "up", "confirmed": True}, True),
    ({"status": "up", "confirmed": False}, False),  # its packets may be replays
    ({"status": "init"}, False),  # still starting: cl_status nodestatus exits 1
    ({"status": "dead"}, False),
    ({"status": "ping"}, False),  # a cluster node never says ping
    ({"status": "ping", "type": "ping"}, True),
    ({"status": "dead", "type": "ping"}, False),
    ({"status": "up", "type": "ping"}, False),
    # the console's Pacemaker document (hatui/backends/pacemaker/document.py)
    ({"status": "standby"}, True),  # in the cluster, running nothing
    ({"status": "maintenance"}, True),
    ({"status": "pending"}, False),  # still joining, like init
    ({"status": "unclean"}, False),
]


@pytest.mark.parametrize(("fields", "up"), UP_CASES)
def test_which_nodes_are_up(fields: dict[str, Any], up: bool) -> None:
    assert is_up(parse_status({"nodes": [{"name": "n", **fields}]}).nodes[0]) is up


def test_counts_state_words_and_lookups() -> None:
    doc = parse_status(
        {
            "nodes": [
                {"name": "alpha", "status": "active"},
                {"name": "bravo", "status": "up", "confirmed": False},
                {"name": "charlie", "status": "init"},
                {"name": "gw", "type": "ping", "status": "ping"},
            ]
        }
    )
    assert node_counts(doc) == (1, 3)  # ping nodes are not members
    assert [state_word(n) for n in doc.nodes] == ["active", "up (unconfirmed)", "init", "ping"]
    parsed = parse_status(DOC)
    bravo = find_node(parsed, "bravo")
    assert bravo is not None and find_link(bravo, "eth0") is not None
    assert find_node(parsed, "zulu") is None and find_link(bravo, "eth9") is None


@pytest.mark.parametrize(
    ("resources", "held"),
    [
        ({"mode": "legacy", "i_hold": "all"}, "none"),
        ({"mode": "nice_failback", "i_hold": "all", "stable": False}, "transition"),
        ({"mode": "nice_failback", "i_hold": "foreign"}, "foreign"),
        (None, "none"),
    ],
)
def test_held_resources_as_cl_status_rscstatus(resources: Any, held: str) -> None:
    raw = {} if resources is None else {"resources": resources}
    assert held_resources(parse_status(raw)) == held


def test_a_part_made_in_code_writes_every_field() -> None:
    made = Node(name="delta", status="up").to_json()
    assert made["name"] == "delta" and made["self"] is False and made["links"] == []
    again = parse_status({"nodes": [made]}).nodes[0]
    assert again.to_json() == made and mistyped(again) == []


def test_the_consoles_sample_document_reads_fully() -> None:
    """tests/hatui/sample.py (STONITH device, ping node, children, monitors) has every
    declared field of its declared type."""
    from tests.hatui.sample import status, with_ping, with_stonith

    raw = with_ping(with_stonith(status()))
    doc = parse_status(raw)
    assert mistyped(doc) == [] and doc.to_json() == raw
    assert doc.stonith is not None and doc.stonith.device is not None
    assert doc.stonith.device.label() == "external/ssh"


def test_a_clone_is_held_by_every_node_running_it() -> None:
    raw = {"groups": [{"key": "web-clone", "clone": True, "held_by": ["alpha", "bravo"]}]}
    group = parse_status(raw).groups[0]
    assert group.clone and group.holders() == ["alpha", "bravo"]
    assert parse_status(raw).to_json() == raw
    assert parse_status({"groups": [{"held_by": None}]}).groups[0].holders() == []
