"""``hactl export pacemaker`` proven on a real cluster: every example, in every format,
loaded the way its header says, runs its groups where Heartbeat ran them (address
answering HTTP, shared disk served), and fails over when the holding node crashes.

One cluster for the module; between cases the configuration is cleared and the next
one loaded (no restart). CI crashes one format per example (the three formats must
produce the same live configuration, which is checked for every case);
HATUI_PCMK_FULL=1 crashes every case.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from engine.export import FORMATS, export_pacemaker
from lab.pacemaker import PacemakerCluster
from lab.pacemaker.examples import LabExample, nfs_example, three_node_example, web_example
from tests.pacemaker.conftest import FULL

CASES = [(name, fmt) for name in ("web", "nfs", "three") for fmt in FORMATS]
CRASHED_IN_CI = {("web", "cib"), ("nfs", "crm"), ("three", "pcs")}
LIVE: dict[str, dict[str, Any]] = {}
"""Example name → the live configuration summary of the first format loaded."""


@pytest.fixture(scope="module")
def examples(
    pcmk: PacemakerCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, LabExample]]:
    where = tmp_path_factory.mktemp("examples")
    web = web_example(where)
    nfs = nfs_example(where, "DEVICE")
    disk = pcmk.shared_disk(nfs.files)
    nfs = nfs_example(where, disk)
    yield {"web": web, "nfs": nfs, "three": three_node_example(where)}


def summary(conf: ET.Element) -> dict[str, Any]:
    """What the configuration means, without the ids and defaults each tool adds."""
    primitives = {}
    for prim in conf.iter("primitive"):
        params = {
            nv.attrib["name"]: nv.attrib["value"]
            for nv in prim.iterfind("instance_attributes/nvpair")
        }
        monitors = sorted(
            (op.attrib["interval"], op.get("timeout", ""))
            for op in prim.iterfind("operations/op")
            if op.attrib["name"] == "monitor"
        )
        agent = (prim.get("class"), prim.get("provider"), prim.get("type"))
        primitives[prim.attrib["id"]] = (agent, params, monitors)
    groups = {
        g.attrib["id"]: [p.attrib["id"] for p in g.iterfind("primitive")]
        for g in conf.iter("group")
    }
    locations = sorted(
        (c.attrib["rsc"], c.get("node"), c.get("score"))
        for c in conf.iterfind("constraints/rsc_location")
    )
    props = {
        nv.attrib["name"]: nv.attrib["value"]
        for nv in conf.iterfind("crm_config/cluster_property_set/nvpair")
        if nv.attrib["name"] in ("stonith-enabled", "no-quorum-policy")
    }
    sticky = [
        nv.attrib["value"]
        for nv in conf.iterfind("rsc_defaults/meta_attributes/nvpair")
        if nv.attrib["name"] == "resource-stickiness"
    ]
    return {
        "primitives": primitives,
        "groups": groups,
        "locations": locations,
        "properties": props,
        "stickiness": sticky,
    }


def served(pcmk: PacemakerCluster, example: LabExample, node: str, timeout: float) -> None:
    """Every web group answers from ``node``; shared-disk files are served too."""
    for ip in example.web.values():
        pcmk.wait_served(ip, node, timeout)
        for name, content in example.files.items():
            reply = pcmk.http_get(ip, f"/{name}")
            assert reply is not None and (reply.status, reply.body) == (200, content)


@pytest.mark.parametrize(("name", "fmt"), CASES)
def test_export_loads_runs_and_fails_over(
    pcmk: PacemakerCluster,
    examples: dict[str, LabExample],
    name: str,
    fmt: str,
    tmp_path: Path,
) -> None:
    example = examples[name]
    result = export_pacemaker(example.config_dir, fmt)
    assert result.text is not None, result.error
    pcmk.clear()
    pcmk.install_wrappers(result.wrappers)
    pcmk.load(fmt, result.text)
    for group, home in example.groups.items():
        pcmk.wait_group(group, home, 60)
    if name == "three":  # the resource.d script ran, through its wrapper, on bravo only
        marks = [
            n
            for n in pcmk.names
            if pcmk[n].exec(["test", "-e", "/run/hbmark-ready"], check=False).returncode == 0
        ]
        assert marks == ["bravo"]
    first_group, home = next(iter(example.groups.items()))
    served(pcmk, example, home, 30)
    assert not pcmk.failed_actions(), pcmk.failed_actions()

    live = summary(pcmk.configuration())
    assert live["properties"] == {"stonith-enabled": "false", "no-quorum-policy": "stop"}
    assert set(live["groups"]) == set(example.groups)
    assert LIVE.setdefault(name, live) == live, f"{fmt} differs from the first format"

    if not FULL and (name, fmt) not in CRASHED_IN_CI:
        return
    pcmk.crash(home)
    taker = pcmk.wait_group(first_group, None, 60, not_on=home)
    served(pcmk, example, taker, 30)
    pcmk.restart(home, forget=example.addresses)
    pcmk.wait_ready(60, expect=pcmk.names)
    pcmk.settle()
    if example.auto_failback:  # resource-stickiness=0: back to the home node
        assert pcmk.wait_group(first_group, home, 60) == home
    else:  # resource-stickiness=1000 beats the home preference of 100
        assert pcmk.group_node(first_group) == taker
    served(pcmk, example, pcmk.wait_group(first_group, None, 30), 30)
