"""Acceptance: two engines in namespaces, started from files ``hatui setup`` wrote.

Twice: each node's files from the real ``hatui setup --answers`` command; and the
interactive wizard driven in a real terminal (tmux, 120x40) inside alpha's namespace,
from an empty directory, its files copied to bravo with the exact command it prints
(scp to ``root@bravo:DIR/`` becomes cp to bravo's directory). The engines then run in
the lab's namespaces and must report each other active through ``hactl status --json``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from lab import Lab, node_state, wait_until
from lab.engine import REPO_ROOT, EngineHandle, EngineUnavailable
from tests.netns.conftest import LabFactory
from tests.wizard.helpers import KEY
from tests.wizard.terminal import Terminal, python_command

NAMES = ("alpha", "bravo")
VIP = "10.99.0.50"
ANSWERS = """
node = "{me}"
peers = ["{peer}"]
timing = "fast"
media = [{{kind = "ucast", dev = "eth0", addresses = ["{alpha}", "{bravo}"]}}]
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
                                          alpha=lab.nodes["alpha"].address(),
                                          bravo=lab.nodes["bravo"].address()))  # fmt: skip
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


def wait_active(engines: dict[str, EngineHandle]) -> None:
    """Both engines report both nodes active."""

    def both_active() -> bool:
        return all(
            node_state(engine.hactl_status(), name) == "active"
            for engine in engines.values()
            for name in NAMES
        )

    wait_until(both_active, timeout=20, interval=0.2, what="alpha and bravo active on both",
               ignore=(EngineUnavailable,))  # fmt: skip


def drive_wizard(term: Terminal, lab: Lab) -> None:
    """Every step as a person answers it, reading the screen before each key."""
    term.wait_for("Step 1/9")
    term.type("alpha")
    term.keys("Enter")
    term.wait_for("again to go on")  # not this machine's uname: said on step 1
    term.keys("Enter")
    term.wait_for("Step 2/9")
    term.type("bravo", clear=False)
    term.keys("Enter")
    term.wait_for("Step 3/9")
    alpha, bravo = lab.nodes["alpha"].address(), lab.nodes["bravo"].address()
    term.wait_for(f"eth0 {alpha}/24")  # discovery inside the namespace
    term.type(f"eth0 {alpha} {bravo}", clear=False)
    term.keys("Enter")
    term.wait_for("Step 4/9")
    term.keys("Down", "Enter")  # the "fast" preset
    term.wait_for("◉▌ fast")
    term.keys("NPage")
    term.wait_for("Step 5/9")
    term.keys("NPage")
    term.wait_for("Step 6/9")
    term.keys("Tab")
    for text in (VIP, "24", "eth0"):
        term.type(text, clear=False)
        term.keys("Tab")
    term.keys("Enter")  # on Add
    term.wait_for(f"added IPaddr2::{VIP}/24/eth0")
    term.keys("NPage")
    term.wait_for("Step 7/9")
    term.keys("NPage")
    term.wait_for("No STONITH device configured")
    term.keys("NPage")
    term.wait_for("Step 8/9")
    term.type("/dev/null")  # the engines log to their own state dirs' engine.out
    term.keys("Tab", "C-u", "Tab", "C-u", "NPage")
    term.wait_for("Step 9/9")
    term.wait_for(f"cluster IP {VIP}: ✔ free")
    term.wait_for("accepted by the engine")
    term.keys("C-w")
    term.wait_for("wrote")
    term.keys("C-q")


@pytest.mark.usefixtures("engine_available")
def test_wizard_in_a_terminal_writes_files_that_form_a_cluster_when_copied(
    make_lab: LabFactory,
) -> None:
    lab = make_lab(NAMES, networks=1, client=False)
    (alpha_etc, alpha_state), (bravo_etc, bravo_state) = (lab.node_dirs(n) for n in NAMES)
    alpha_etc.rmdir()  # from an empty (absent) directory
    prefix = ["ip", "netns", "exec", lab.nodes["alpha"].namespace]
    command = python_command("-m", "hatui", "setup", "--config-dir", str(alpha_etc),
                             prefix=prefix)  # fmt: skip
    term = Terminal("wizard-netns", command, size=(120, 40))
    try:
        drive_wizard(term, lab)
        screen = term.wait_exit()
    finally:
        term.close()
    printed = next(line.split() for line in screen.splitlines() if line.lstrip().startswith("scp"))
    assert printed[:2] == ["scp", "-p"] and printed[-1] == f"root@bravo:{alpha_etc}/"
    copy = ["cp", "-p", *printed[2:-1], f"{bravo_etc}/"]  # the same files, bravo's dir
    subprocess.run(copy, check=True, timeout=10)
    assert (bravo_etc / "ha.cf").read_bytes() == (alpha_etc / "ha.cf").read_bytes()
    engines = {
        "alpha": lab.start_engine("alpha", alpha_etc, alpha_state),
        "bravo": lab.start_engine("bravo", bravo_etc, bravo_state),
    }
    wait_active(engines)
