"""Acceptance: two engines in namespaces, started from files ``hatui setup`` wrote.

Each node's files come from the real ``hatui setup --answers`` command (the wizard's own
render, validation, cluster-IP check and atomic write); the engines then run inside the
lab's namespaces and must report each other active through ``hactl status --json``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from lab import node_state, wait_until
from lab.engine import REPO_ROOT, EngineUnavailable
from tests.netns.conftest import LabFactory
from tests.wizard.helpers import KEY

NAMES = ("alpha", "bravo")
ANSWERS = """
node = "{me}"
peers = ["{peer}"]
timing = "fast"
media = [{{kind = "ucast", dev = "eth0", peer = "{peer_address}"}}]
auth = {{method = "sha256", key = "{key}"}}
groups = [{{node = "alpha", resources = ["IPaddr2::10.99.0.50/24/eth0"]}}]
log = {{logfile = "{state}/ha-log", debugfile = "{state}/ha-debug", logfacility = "none"}}
"""


@pytest.mark.usefixtures("engine_available")
def test_two_engines_in_namespaces_from_wizard_files_form_a_cluster(
    make_lab: LabFactory,
) -> None:
    lab = make_lab(NAMES, networks=1, client=False)
    engines = {}
    for me, peer in (NAMES, NAMES[::-1]):
        config_dir, state_dir = lab.node_dirs(me)
        answers = config_dir.parent / "answers.toml"
        answers.write_text(ANSWERS.format(me=me, peer=peer, key=KEY, state=state_dir,
                                          peer_address=lab.nodes[peer].address()))  # fmt: skip
        argv = [sys.executable, "-m", "hatui", "setup", "--answers", str(answers),
                "--config-dir", str(config_dir)]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        done = subprocess.run(
            ["ip", "netns", "exec", lab.nodes[me].namespace, *argv],
            capture_output=True, text=True, timeout=60, env=env, cwd=REPO_ROOT,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert "cluster IP 10.99.0.50: ✔ free" in done.stdout  # probed from inside the node
        assert f"root@{peer}:" in done.stdout
        engines[me] = lab.start_engine(me, config_dir, state_dir)
    started = time.monotonic()

    def both_active() -> bool:
        return all(
            node_state(engines[me].hactl_status(), name) == "active"
            for me in NAMES
            for name in NAMES
        )

    wait_until(both_active, timeout=15, interval=0.2, what="alpha and bravo active on both",
               ignore=(EngineUnavailable,))  # fmt: skip
    print(f"\ncluster formed {time.monotonic() - started:.2f} s after the second start")
