"""The console on a lab Pacemaker cluster: the migrated example, and how to attach.

``load_three_node`` runs docs' three-node configuration the way an operator who
migrated gets it (``hactl export pacemaker --format crm``, loaded with ``crm configure
load replace``); ``console_argv`` is the ``hatui --pacemaker`` command line that attaches
to one node from the host (tools through ``nsenter`` into the node's namespaces, the
node's log files by their host paths); ``inside_argv`` runs the console inside the node
itself, as an operator logged in there would.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from engine.export import export_pacemaker
from lab.engine import REPO_ROOT, repo_pythonpath
from lab.pacemaker.cluster import PacemakerCluster
from lab.pacemaker.examples import LabExample, three_node_example
from lab.pacemaker.node import PacemakerNode


def load_three_node(cluster: PacemakerCluster, where: Path, timeout: float = 60.0) -> LabExample:
    """Export the three-node example (crm format), load it, wait until both groups run
    at home (rg-hbweb on alpha, rg-hbmark-ready on bravo)."""
    example = three_node_example(where)
    result = export_pacemaker(example.config_dir, "crm")
    if result.text is None:
        raise RuntimeError(f"export failed: {result.error}")
    cluster.install_wrappers(result.wrappers)
    cluster.load("crm", result.text)
    for group, home in example.groups.items():
        cluster.wait_group(group, home, timeout)
    cluster.settle(timeout)
    return example


def console_options(node: PacemakerNode) -> list[str]:
    """``--pcmk-exec``/``--pcmk-log`` options that attach a host-side console to ``node``."""
    return [
        "--pcmk-exec",
        shlex.join(node.nsenter_argv([])),
        "--pcmk-log",
        str(node.pacemaker_log),
        "--pcmk-log",
        str(node.corosync_log),
    ]


def console_argv(node: PacemakerNode, *extra: str) -> list[str]:
    """``python -m hatui --pacemaker …`` attached to ``node`` from the host."""
    return [sys.executable, "-m", "hatui", "--pacemaker", *console_options(node), *extra]


def inside_argv(node: PacemakerNode, *extra: str) -> list[str]:
    """The console run inside ``node`` (its tools and log paths are the node's own)."""
    python = ["env", f"PYTHONPATH={repo_pythonpath()}", "TERM=xterm-256color", "HOME=/root"]
    command = [*python, sys.executable, "-m", "hatui", "--pacemaker", *extra]
    return node.nsenter_argv(
        ["sh", "-c", f"cd {shlex.quote(str(REPO_ROOT))} && exec {shlex.join(command)}"]
    )
