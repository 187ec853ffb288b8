"""Operator verbs on Pacemaker: the command each runs, and every refusal with its reason
(checked against documents made from captured crm_mon XML)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hatui.backends.pacemaker.actions import Refused, plan
from tests.hatui.pacemaker.captured import document


def refused(verb: str, args: dict[str, Any], doc: dict[str, Any]) -> str:
    with pytest.raises(Refused) as caught:
        plan(verb, args, doc)
    return caught.value.reason


def with_status(doc: dict[str, Any], **status: str) -> dict[str, Any]:
    changed = copy.deepcopy(doc)
    for node in changed["nodes"]:
        if node["name"] in status:
            node["status"] = status[node["name"]]
            node["standby"] = status[node["name"]] == "standby"
    return changed


def test_standby_of_the_holder_names_what_moves() -> None:
    accepted = plan("node_standby", {"node": "alpha"}, document("idle"))
    assert accepted.argv == (
        "crm_attribute", "--node", "alpha", "--name", "standby", "--update", "on"
    )  # fmt: skip
    assert accepted.effect == "alpha goes to standby: rg-hbweb move to another node"


def test_standby_of_the_last_node_that_can_run_resources_is_refused() -> None:
    doc = with_status(document("idle"), bravo="standby", charlie="dead")
    reason = refused("node_standby", {"node": "alpha"}, doc)
    assert reason == (
        "refusing standby of alpha: it is the last online node that can run resources "
        "(it runs rg-hbweb); standby would stop them everywhere"
    )
    # a node that is already out may be put in standby (it applies when it is back)
    assert plan("node_standby", {"node": "charlie"}, doc).argv[2] == "charlie"


def test_standby_twice_and_online_of_an_online_node_are_refused() -> None:
    doc = document("standby")
    assert refused("node_standby", {"node": "alpha"}, doc) == "alpha is in standby already"
    assert plan("node_online", {"node": "alpha"}, doc).argv[-1] == "off"
    assert refused("node_online", {"node": "bravo"}, doc) == "bravo is not in standby"


def test_move_leaves_cli_prefer_and_is_refused_where_it_cannot_run() -> None:
    doc = document("idle")
    accepted = plan("move", {"group": "rg-hbweb", "node": "charlie"}, doc)
    assert accepted.argv == (
        "crm_resource", "--move", "--resource", "rg-hbweb", "--node", "charlie"
    )  # fmt: skip
    assert "cli-prefer-rg-hbweb" in accepted.effect
    assert refused("move", {"group": "rg-hbweb", "node": "alpha"}, doc) == (
        "rg-hbweb runs on alpha already"
    )
    standby = document("standby")
    assert refused("move", {"group": "rg-hbweb", "node": "alpha"}, standby) == (
        "alpha is standby: it cannot run rg-hbweb"
    )
    assert refused("move", {"group": "nope", "node": "alpha"}, doc).startswith(
        "unknown group 'nope'; groups: rg-hbweb, rg-hbmark-ready"
    )
    assert refused("move", {"group": "rg-hbweb"}, doc) == 'move needs {"node": NAME}'
    clone = document("clone")
    assert refused("move", {"group": "cl-dummy", "node": "bravo"}, clone).startswith(
        "cl-dummy is a clone"
    )


def test_clear_only_what_an_operator_left() -> None:
    moved = document("banned")
    accepted = plan("clear", {"group": "rg-hbweb"}, moved)
    assert accepted.argv == ("crm_resource", "--clear", "--resource", "rg-hbweb")
    assert "cli-prefer-rg-hbweb" in accepted.effect
    assert "cli-ban-rg-hbweb-on-bravo" in accepted.effect
    assert refused("clear", {"group": "rg-hbweb"}, document("idle")) == (
        "rg-hbweb has no constraint left by crm_resource --move or --ban"
    )


def test_ban_needs_another_node() -> None:
    doc = document("idle")
    assert plan("ban", {"group": "rg-hbweb", "node": "alpha"}, doc).argv[1] == "--ban"
    alone = with_status(doc, bravo="dead", charlie="standby")
    assert refused("ban", {"group": "rg-hbweb", "node": "alpha"}, alone) == (
        "refusing to ban rg-hbweb from alpha: no other node can run it"
    )


def test_cleanup_of_failed_actions() -> None:
    failed = document("failed")
    accepted = plan("cleanup", {}, failed)
    assert accepted.argv == ("crm_resource", "--cleanup")
    assert "bad-ip on" in accepted.effect and "hbweb on alpha" in accepted.effect
    one = plan("cleanup", {"resource": "hbweb"}, failed)
    assert one.argv == ("crm_resource", "--cleanup", "--resource", "hbweb")
    assert refused("cleanup", {}, document("idle")) == "no failed actions to clean up"


def test_stonith_refusals_and_command() -> None:
    doc = document("idle")
    assert refused("stonith", {"node": "alpha"}, doc) == "refusing to fence alpha: it is this node"
    assert refused("stonith", {"node": "bravo"}, doc) == (
        "no fence device is configured (stonith_admin would fail: No such device)"
    )
    assert refused("stonith", {"node": "delta"}, doc) == (
        "unknown node 'delta'; nodes: alpha, bravo, charlie"
    )
    fenced = copy.deepcopy(doc)
    fenced["stonith"]["devices"] = ["fence-lab"]
    accepted = plan("stonith", {"node": "bravo"}, fenced)
    assert accepted.argv == ("stonith_admin", "--reboot", "bravo", "--timeout", "120")
    assert accepted.timeout > 120


def test_unknown_verb() -> None:
    assert refused("takeover", {}, document("idle")).startswith("unknown command takeover; known:")
