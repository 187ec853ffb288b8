"""The lab itself: three real nodes, quorum, a DC, both knet links, stated timings."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from lab.engine import REPO_ROOT
from lab.netns import list_namespaces, remove_leftover_namespaces
from lab.pacemaker import PacemakerCluster, remove_leftovers

CRASHING_LAB = """
import os, sys
from lab.pacemaker import PacemakerCluster
cluster = PacemakerCluster()
cluster.build()
cluster.shared_disk({"a": "b"})
print(cluster.lab.prefix, flush=True)
sys.stdin.read()
"""


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


def test_graceful_stop_and_start_of_a_node(pcmk: PacemakerCluster) -> None:
    """``stop`` leaves the cluster cleanly (nothing left running), ``start`` rejoins."""
    pcmk["charlie"].stop()
    assert not pcmk["charlie"].daemon_pids()
    pcmk.wait_ready(30, expect=["alpha", "bravo"])
    pcmk["charlie"].reset_runtime()
    pcmk["charlie"].start()
    pcmk.wait_ready(60, expect=pcmk.names)


def test_a_crashed_lab_is_cleaned_up(pcmk: PacemakerCluster) -> None:
    """A test process killed with its lab up leaves namespaces, mount namespaces, a loop
    disk and its work directory; the cleanup (run by every new lab and by ``python -m
    lab.pacemaker down``) removes them all, and leaves a live lab alone."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASHING_LAB],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    prefix = proc.stdout.readline().strip()
    assert prefix.startswith(f"hl{proc.pid}x"), prefix
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)

    def left() -> list[str]:
        mountinfo = Path("/proc/self/mountinfo").read_text().splitlines()
        mounts = [line for line in mountinfo if f"/{prefix}-" in line]
        loops = subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout
        dirs = list(Path(tempfile.gettempdir()).glob(f"{prefix}-*"))
        return [
            *(n for n in list_namespaces() if n.startswith(f"{prefix}-")),
            *mounts,
            *(line for line in loops.splitlines() if f"/{prefix}-" in line),
            *map(str, dirs),
        ]

    assert left(), "the killed lab left nothing behind: the test proves nothing"
    remove_leftover_namespaces()
    remove_leftovers()
    assert left() == []
    assert pcmk.online() == set(pcmk.names)
