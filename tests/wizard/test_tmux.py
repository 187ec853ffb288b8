"""End to end: `hatui setup` in a real terminal (tmux, 80x24), read from the screen.

From an empty directory to written files that ``haengine --check-config`` accepts,
through the mistakes a person makes: a node name that is not ``uname -n`` (warned on
its own step), a bad ucast address, ``10.0.0.999`` in step 6 (refused by Add with the
reason), and markup-like text in the group lines (shown as typed; once it crashed the
wizard). The copy command is read from what the wizard leaves on the terminal.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.wizard.terminal import Terminal, python_command
from tests.wizard.test_state import check_config

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]
MARKUP = r"[/cidr[/nic\[/broadcast] [b]x[/b]"


@pytest.fixture
def wizard(tmp_path: Path) -> Iterator[tuple[Terminal, Path]]:
    etc = tmp_path / "etc"
    term = Terminal("wizard", python_command("-m", "hatui", "setup", "--config-dir", str(etc)))
    try:
        yield term, etc
    finally:
        term.close()


def step(term: Terminal, number: int) -> None:
    term.wait_for(f"Step {number}/9")


def test_wizard_in_tmux_from_empty_dir_to_accepted_files(wizard: tuple[Terminal, Path]) -> None:
    term, etc = wizard
    step(term, 1)
    term.type("alpha")
    term.keys("Enter")
    shown = term.wait_for("again to go on")
    assert "is not this machine's uname -n" in shown and "Step 1/9" in shown
    term.keys("Enter")
    step(term, 2)
    term.type("bravo", clear=False)
    term.keys("Enter")
    step(term, 3)
    term.type("lo 127.0.0.1 127.0.0.299", clear=False)  # the ucast field has the focus
    term.keys("Enter")
    term.wait_for("bad IP address [127.0.0.299]")
    term.type("lo 127.0.0.1 127.0.0.2")
    term.keys("Enter")
    step(term, 4)
    term.keys("NPage")
    step(term, 5)
    term.keys("NPage")
    step(term, 6)  # the agent picker has the focus, IPaddr2 first
    term.keys("Tab")
    term.type("10.0.0.999", clear=False)
    term.keys("Tab")
    term.type("24", clear=False)
    term.keys("Tab")
    term.type("eth0", clear=False)
    term.keys("Enter")  # Enter in the form is Add
    shown = term.wait_for("not added: Bad IP address [10.0.0.999]")
    assert "Step 6/9" in shown
    term.keys("Tab", "Tab")  # Add button, then the group lines
    term.type(f"alpha IPaddr2::10.0.0.999/24/eth0 {MARKUP}", clear=False)
    term.keys("NPage")
    shown = term.wait_for("Bad IP address [10.0.0.999]")
    assert "Step 6/9" in shown and "[/cidr[/nic" in term.screen()
    term.type("alpha ocf:heartbeat:Dummy")
    term.keys("NPage")
    step(term, 7)
    term.keys("NPage")
    term.wait_for("No STONITH device configured")
    term.keys("NPage")
    step(term, 8)
    term.keys("NPage")
    step(term, 9)
    term.wait_for("accepted by the engine")
    term.wait_for("One set of files for every node")
    term.keys("C-w")
    term.wait_for("wrote")
    term.keys("C-q")
    shown = term.wait_exit()  # what to run next stays on the terminal
    assert f"scp -p {etc}/ha.cf {etc}/authkeys {etc}/haresources root@bravo:{etc}/" in shown
    hacf = (etc / "ha.cf").read_text()
    assert "ucast lo 127.0.0.1\nucast lo 127.0.0.2\n" in hacf
    done = check_config(etc)
    assert done.returncode == 0, done.stdout
    assert "ucast [lo] 127.0.0.1 is this machine's own address" in done.stdout
