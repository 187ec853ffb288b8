"""hatui on a Pacemaker lab host: the "before" of the migration runbook.

The engine runs inside the node's mount/UTS namespaces too, so it sees the same
``/etc/init.d`` (the lab's LSB ``hbweb``) and ``/run`` that Pacemaker uses afterwards:
one host, first run by hatui, then by Pacemaker.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from lab.engine import REPO_ROOT, EngineHandle, engine_argv, repo_pythonpath, write_config
from lab.pacemaker.node import PacemakerNode

VIP = "10.99.0.200"
HARESOURCES = f"alpha IPaddr2::{VIP}/24/eth0 hbweb\n"
"""docs/examples/web with the lab's address and service (lab.pacemaker.examples)."""


def hatui_dirs(node: PacemakerNode) -> tuple[Path, Path]:
    """``(config_dir, state_dir)`` of the node's hatui (under the lab work dir)."""
    base = node.lab.workdir / node.name / "hatui"
    return base / "ha.d", base / "state"


def configure_hatui(node: PacemakerNode, peers: list[str], haresources: str = HARESOURCES) -> Path:
    """Write the pair's ha.cf (ucast on every lab network), authkeys and haresources."""
    config_dir, state_dir = hatui_dirs(node)
    media = [
        f"ucast eth{net} {node.lab.node(peer).address(net)}"
        for net in range(node.lab.networks)
        for peer in peers
    ]
    write_config(
        config_dir,
        peers,
        media,
        keepalive="200ms",
        deadtime="1",
        haresources=haresources,
        extra="crm no",
        log_dir=state_dir,
    )
    return config_dir


def launch_hatui(node: PacemakerNode) -> EngineHandle:
    """Start ``haengine`` inside the node (configure it first); stopped with SIGTERM by
    :meth:`EngineHandle.stop`, which releases its resources as Heartbeat did."""
    config_dir, state_dir = hatui_dirs(node)
    state_dir.mkdir(parents=True, exist_ok=True)
    argv = engine_argv(node.name, config_dir, state_dir)
    with (state_dir / "engine.out").open("ab") as out:
        proc = node.popen(
            argv,
            env={"PYTHONPATH": repo_pythonpath(), "HOME": "/root"},
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
        )
    return EngineHandle(node.node, config_dir, state_dir, proc)
