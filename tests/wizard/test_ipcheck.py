"""The cluster-IP check against a real host that answers: a namespace behind a veth.

The namespace holds 10.99.213.2 on its end of a veth pair; our end (in this namespace)
carries no address, so nothing is routed and only ARP on that link can find the host.
"""

from __future__ import annotations

import io
import itertools
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from textual.widgets import Checkbox

from hatui.wizard.answers import run_answers
from hatui.wizard.discover import address_in_use
from tests.wizard.helpers import KEY, make_app, walk
from tests.wizard.test_pilot import write_with

ROOT = Path(__file__).resolve().parents[2]
TAKEN, FREE = "10.99.213.2", "10.99.213.3"
_names = itertools.count(1)


@dataclass(frozen=True)
class Peer:
    """A namespace answering for ``TAKEN``, reached through ``device``."""

    namespace: str
    device: str


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture
def peer() -> Iterator[Peer]:
    if os.geteuid() != 0 or not (shutil.which("ip") and shutil.which("arping")):
        pytest.skip("needs root, iproute2 and arping (iputils-arping)")
    name = f"hwz{os.getpid() % 100000}x{next(_names)}"
    try:
        _ip("netns", "add", name)
        _ip("link", "add", name, "type", "veth", "peer", "name", "eth0", "netns", name)
        _ip("-n", name, "addr", "add", f"{TAKEN}/24", "dev", "eth0")
        _ip("-n", name, "link", "set", "eth0", "up")
        _ip("link", "set", name, "up")
        yield Peer(name, name)
    finally:
        subprocess.run(["ip", "link", "del", name], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


def test_arping_finds_the_host_that_answers_and_not_a_free_address(peer: Peer) -> None:
    taken = address_in_use(TAKEN, [], peer.device)
    assert taken.in_use is True, taken
    assert f"reply from {TAKEN}" in taken.how and f"arping -D on {peer.device}" in taken.how
    free = address_in_use(FREE, [], peer.device)
    assert free.in_use is False and "no ARP reply" in free.how, free


def test_the_device_comes_from_the_route_when_none_is_given(peer: Peer) -> None:
    code = (
        "from hatui.wizard.discover import address_in_use, route_device\n"
        "print(route_device('10.99.213.9'), repr(route_device('192.0.2.1')))\n"
        "print(address_in_use('10.99.213.9', []).describe())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = ["ip", "netns", "exec", peer.namespace, sys.executable, "-c", code]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    route, probe = done.stdout.splitlines()
    assert route == "eth0 ''"  # no route to 192.0.2.1 in there: no device, ping instead
    assert probe == "cluster IP 10.99.213.9: ✔ free (no ARP reply on eth0 (arping -D))"


async def test_review_refuses_to_write_until_the_answering_ip_is_confirmed(
    tmp_path: Path, peer: Peer
) -> None:
    app = make_app(tmp_path, probe_ips=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await walk(pilot, groups=f"alpha IPaddr2::{TAKEN}/24/{peer.device}")
        for _ in range(100):
            if app.ip_check is not None:
                break
            await pilot.pause(0.05)
        report = str(app.query_one("#ip-check").render())
        assert f"cluster IP {TAKEN}: ✖ IN USE" in report and "reply from" in report
        assert app.query_one("#ip-confirm", Checkbox).display
        outcome = await write_with(pilot, app)
        assert f"not written: cluster IP in use: {TAKEN}" in outcome
        assert "tick the box" in outcome and not (tmp_path / "ha.cf").exists()
        app.query_one("#ip-confirm", Checkbox).value = True
        await pilot.pause()
        assert "wrote" in await write_with(pilot, app)
    assert (tmp_path / "ha.cf").exists()


ANSWERS = f"""
node = "alpha"
peers = ["bravo"]
timing = "fast"
media = [{{kind = "ucast", dev = "eth0", addresses = ["10.99.0.1", "10.99.0.2"]}}]
auth = {{key = "{KEY}"}}
log = {{logfile = "/var/log/ha-log", logfacility = "none"}}
"""


def test_answers_refuse_an_ip_that_answers_unless_told_to_skip(tmp_path: Path, peer: Peer) -> None:
    group = f'groups = [{{node = "alpha", resources = ["IPaddr2::{TAKEN}/24/{peer.device}"]}}]'
    answers = tmp_path / "answers.toml"
    answers.write_text(ANSWERS + group + "\n")
    out = io.StringIO()
    assert run_answers(answers, tmp_path / "etc", out=out) == 1
    text = out.getvalue()
    assert f"cluster IP {TAKEN}: ✖ IN USE" in text and "nothing written" in text
    assert "skip_ip_check = true" in text and not (tmp_path / "etc").exists()
    answers.write_text(ANSWERS + "skip_ip_check = true\n" + group + "\n")
    out = io.StringIO()
    assert run_answers(answers, tmp_path / "etc", out=out) == 0
    assert "not probed (skip_ip_check = true)" in out.getvalue()
    assert (tmp_path / "etc" / "haresources").exists()
