"""--check-config against this machine: missing interfaces, media that reach nobody,
resources nothing provides (warnings with file:line, never errors)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from engine.config import Severity, load_config
from engine.config.machine import Machine
from tests.config.conftest import REFERENCE_AUTHKEYS, write_config
from tests.config.machines import fake_machine

ROOT = Path(__file__).resolve().parents[2]
HEAD = "logfile /dev/null\nkeepalive 1\ndeadtime 10\ninitdead 20\nauto_failback on\n"
NODES = "node alpha\nnode bravo\n"


def found(folder: Path, machine: Machine, severity: Severity) -> list[str]:
    result = load_config(folder, "alpha", machine=machine)
    return [f"{i.where.line}: {i.message}" for i in result.issues if i.severity is severity]


def test_an_interface_that_does_not_exist_here_is_a_warning_at_its_line(tmp_path: Path) -> None:
    machine = fake_machine(tmp_path / "m")
    folder = write_config(tmp_path / "ha.d", HEAD + "bcast eht0\nucast eth0 10.99.0.2\n" + NODES,
                          haresources="")  # fmt: skip
    assert found(folder, machine, Severity.WARNING) == [
        "6: bcast [eht0]: interface [eht0] does not exist on this machine"
    ]
    result = load_config(folder, "alpha", machine=machine)
    assert result.config is not None
    assert "interfaces here: eth0, hb1, lo" in result.warnings[0].hint


def test_every_ucast_naming_our_own_address_reaches_nobody(tmp_path: Path) -> None:
    """bravo given alpha's file: its one ucast line is its own address."""
    machine = fake_machine(tmp_path / "m", addresses=("10.99.0.2",))
    folder = write_config(tmp_path / "ha.d", HEAD + "ucast eth0 10.99.0.2\n" + NODES,
                          haresources="")  # fmt: skip
    assert found(folder, machine, Severity.WARNING) == [
        "6: No heartbeat medium reaches a peer from this node: every ucast line names "
        "this machine's own address"
    ]
    assert found(folder, machine, Severity.INFO) == [
        "6: ucast [eth0] 10.99.0.2 is this machine's own address: not sent to here"
    ]


def test_every_node_address_listed_works_on_every_node(tmp_path: Path) -> None:
    text = HEAD + "ucast eth0 10.99.0.1\nucast eth0 10.99.0.2\n" + NODES
    folder = write_config(tmp_path / "ha.d", text, haresources="")
    for me, address in (("alpha", "10.99.0.1"), ("bravo", "10.99.0.2")):
        machine = fake_machine(tmp_path / me, addresses=(address,))
        result = load_config(folder, me, machine=machine)
        assert result.warnings == [], me
        assert [m.name for m in result.config.media] == ["eth0", "eth0"]  # type: ignore[union-attr]


def test_a_missing_serial_port_and_a_missing_device_reach_nobody(tmp_path: Path) -> None:
    machine = fake_machine(tmp_path / "m")
    text = HEAD + "serial /dev/ttyNOPE9\nbcast eth7\n" + NODES
    folder = write_config(tmp_path / "ha.d", text, haresources="")
    assert found(folder, machine, Severity.WARNING) == [
        "6: serial [/dev/ttyNOPE9]: no such device on this machine",
        "7: bcast [eth7]: interface [eth7] does not exist on this machine",
        "6: No heartbeat medium reaches a peer from this node: no medium's device exists here",
    ]


def test_resources_nothing_provides_are_warnings_at_the_group_line(tmp_path: Path) -> None:
    machine = fake_machine(tmp_path / "m", units=("nginx.service",))
    (tmp_path / "ha.d" / "resource.d").mkdir(parents=True)
    local = tmp_path / "ha.d" / "resource.d" / "mine"
    local.write_text("#!/bin/sh\n")
    local.chmod(0o755)
    haresources = (
        "alpha IPaddr2::10.99.0.10/24/eth0 hbhttpd mine ocf:heartbeat:Dummy\n"
        "bravo nosuchservice nginx systemd:nginx.service systemd:gone.service "
        "ocf:heartbeat:Nope\n"
    )
    folder = write_config(tmp_path / "ha.d", HEAD + "ucast eth0 10.99.0.2\n" + NODES,
                          haresources=haresources)  # fmt: skip
    result = load_config(folder, "alpha", machine=machine)
    messages = [f"{i.where.line}: {i.message}" for i in result.warnings]
    assert messages == [
        f"2: Resource [{name}]: no resource.d script, init script, OCF agent or systemd "
        "unit provides it on this machine"
        for name in ("nosuchservice", "nginx", "systemd:gone.service", "ocf:heartbeat:Nope")
    ]
    assert "a systemd unit exists: write systemd:nginx.service" in result.warnings[1].hint
    assert f"{folder}/resource.d/nosuchservice" in result.warnings[0].hint
    assert result.config is not None


def test_check_config_on_this_machine_reports_them_with_file_and_line(tmp_path: Path) -> None:
    """The real program on the real machine: lo exists, 127.0.0.1 is ours, eht0 is not."""
    text = HEAD + "ucast lo 127.0.0.1\nbcast eht0\n" + NODES
    folder = write_config(tmp_path / "ha.d", text, REFERENCE_AUTHKEYS, "alpha nosuchservice\n")
    argv = [sys.executable, "-m", "engine.programs.haengine", "--check-config",
            "--config-dir", str(folder), "--node", "alpha"]  # fmt: skip
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    hacf, hares = folder / "ha.cf", folder / "haresources"
    for expected in (
        f"{hacf}:7: warning: bcast [eht0]: interface [eht0] does not exist on this machine",
        f"{hacf}:6: warning: No heartbeat medium reaches a peer from this node",
        f"{hares}:1: warning: Resource [nosuchservice]: no resource.d script",
    ):
        assert expected in done.stdout, done.stdout
