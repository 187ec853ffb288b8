"""The lab itself: three real nodes, quorum, a DC, both knet links, stated timings."""

from __future__ import annotations

from lab.pacemaker import PacemakerCluster


def test_three_nodes_online_with_a_dc_and_two_links(pcmk: PacemakerCluster) -> None:
    assert pcmk.online() == {"alpha", "bravo", "charlie"}
    assert pcmk.dc() in pcmk.names
    for node in pcmk.nodes.values():
        assert node.quorate()
        assert node.exec(["uname", "-n"]).stdout.strip() == node.name
        links = node.exec(["corosync-cfgtool", "-s"]).stdout
        assert links.count("connected") == 2 * (len(pcmk.names) - 1), links
    # corosync adds token_coefficient (650 ms) per node beyond two: 1000 + 650.
    assert pcmk.runtime_token() == (1650, 1980)
    dc_deadtime = pcmk["alpha"].tool(["crm_attribute", "--query", "--name", "dc-deadtime"])
    assert "value=2s" in dc_deadtime.stdout
    dc = pcmk[str(pcmk.dc())]
    assert any("-> S_IDLE" in line for line in dc.log_lines()), dc.log_lines()[-20:]
    assert any("primary component" in line for line in pcmk["bravo"].log_lines("corosync"))


def test_crash_and_restart_a_node(pcmk: PacemakerCluster) -> None:
    """The fault API the other tests build on: a crash is seen, a restart rejoins."""
    victim = next(name for name in pcmk.names if name != pcmk.dc())
    pcmk.crash(victim)
    assert not pcmk[victim].daemon_pids()
    pcmk.wait_ready(30, expect=[n for n in pcmk.names if n != victim])
    assert victim not in pcmk.online()
    pcmk.restart(victim)
    pcmk.wait_ready(60, expect=pcmk.names)
    assert pcmk.online() == set(pcmk.names)
