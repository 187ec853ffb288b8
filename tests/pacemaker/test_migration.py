"""docs/migration.md's runbook, followed step by step: a running hatui pair (alpha,
bravo) becomes a three-node Pacemaker cluster (plus charlie), and the service outage a
client sees is measured.

The Pacemaker commands are run literally as the runbook writes them (the test checks
that the document still says them); what differs on a real host is only how daemons
are started (``systemctl`` there, the lab's start/stop here).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.engine import EngineHandle, node_state
from lab.netns import wait_until
from lab.pacemaker import PacemakerCluster
from lab.pacemaker.hatui import VIP, configure_hatui, launch_hatui
from lab.pacemaker.probe import HttpWatch
from tests.pacemaker.conftest import lab_cluster

DOC = Path(__file__).resolve().parents[2] / "docs" / "migration.md"
CRM_FILE = "/root/hatui.crm"
EXPORT = ["hactl", "export", "pacemaker", "--format", "crm", "--config-dir", "/etc/ha.d"]
MAINTENANCE_ON = ["crm", "configure", "property", "maintenance-mode=true"]
LOAD = ["crm", "configure", "load", "update", CRM_FILE]
REFRESH = ["crm_resource", "--refresh"]
MAINTENANCE_OFF = ["crm", "configure", "property", "maintenance-mode=false"]
GROUP = "rg-hbweb"
OUTAGE_BOUND = 10.0
"""Seconds: a loose bound that still fails when the runbook leaves the service down
until a monitor notices (10 s/30 s intervals) instead of acting at once."""


@pytest.fixture(scope="module")
def hosts() -> Iterator[PacemakerCluster]:
    """Three prepared hosts, nothing running yet."""
    yield from lab_cluster(start=False)


def test_the_runbook_says_what_this_test_runs() -> None:
    text = DOC.read_text()
    for argv in (MAINTENANCE_ON, LOAD, REFRESH, MAINTENANCE_OFF):
        assert " ".join(argv) in text, " ".join(argv)
    assert " ".join(EXPORT) + f" > {CRM_FILE}" in text


def start_pair(hosts: PacemakerCluster) -> dict[str, EngineHandle]:
    engines: dict[str, EngineHandle] = {}
    for name in ("alpha", "bravo"):
        configure_hatui(hosts[name], ["alpha", "bravo"])
        engines[name] = launch_hatui(hosts[name])
        hosts.lab.engines.append(engines[name])

    def mutual() -> bool:
        seen = [e.try_status() for e in engines.values()]
        return all(s is not None and node_state(s, "alpha") == "active" for s in seen) and all(
            s is not None and node_state(s, "bravo") == "active" for s in seen
        )

    wait_until(mutual, 60, 0.1, "hatui pair up")
    hosts.wait_served(VIP, "alpha", 60)
    return engines


def test_hatui_pair_to_three_node_pacemaker(hosts: PacemakerCluster) -> None:
    engines = start_pair(hosts)
    alpha = hosts["alpha"]
    # Step 1: export on the node that runs the group (the file goes to every node).
    config_dir = engines["alpha"].config_dir
    argv = ["python3", "-m", "engine.programs.hactl", *EXPORT[1:-1], str(config_dir)]
    exported = alpha.exec(argv, env={"PYTHONPATH": str(DOC.parents[1])}).stdout
    assert "group rg-hbweb ip-10.99.0.200 hbweb" in exported
    crm_file = hosts.lab.workdir / "hatui.crm"
    crm_file.write_text(exported)
    load = [*LOAD[:-1], str(crm_file)]

    with HttpWatch(hosts.lab, VIP) as watch:
        # Steps 2-3: corosync + pacemaker on all three; hatui keeps serving meanwhile.
        hosts.start()
        assert hosts.online() == {"alpha", "bravo", "charlie"}
        # Steps 4-5: maintenance mode, then the exported configuration.
        alpha.tool(MAINTENANCE_ON)
        alpha.tool(load)
        # Pacemaker's probes find the group running where hatui runs it, and touch nothing.
        hosts.wait_group(GROUP, "alpha", 60)
        assert hosts.served_by(VIP) == "alpha"
        # Steps 6-7: hatui off, standby node first; alpha releases the group.
        engines["bravo"].stop()
        engines["alpha"].stop()
        stopped = max(a.time for a in watch.good())
        # Steps 8-9: re-probe (Pacemaker learns the group is stopped), leave maintenance.
        alpha.tool(REFRESH)
        alpha.tool(MAINTENANCE_OFF)
        hosts.wait_group(GROUP, "alpha", 60)
        back = hosts.wait_served(VIP, "alpha", 60)
    outage, before, after = watch.longest_outage()
    print(f"\nmigration outage: {outage * 1000:.0f} ms (hatui released at +0, Pacemaker "
          f"answered at +{(back - stopped) * 1000:.0f} ms)")  # fmt: skip
    assert watch.bodies() == ["alpha"], "the service must never answer from another node"
    assert before is not None and after is not None
    assert 0 < outage < OUTAGE_BOUND
    assert not hosts.failed_actions(), hosts.failed_actions()
    assert re.search(r"no-quorum-policy=stop", exported)
