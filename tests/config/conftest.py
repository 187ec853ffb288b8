"""Shared helpers for the configuration tests: build a config directory in tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import engine.config.machine as machine_module
from tests.config.machines import fake_machine

REFERENCE_HACF = """use_logd no
logfile /var/log/ha-log
debugfile /var/log/ha-debug
logfacility none
debug 0
keepalive 1
deadtime 3
warntime 2
initdead 6
udpport 694
ucast eth0 10.99.0.2
ucast hb1 10.99.1.2
auto_failback on
realtime on
crm no
node alpha
node bravo
"""
REFERENCE_AUTHKEYS = "auth 1\n1 sha1 hbsim-anchor-sha1-key\n"
REFERENCE_HARESOURCES = "alpha IPaddr2::10.99.0.10/24/eth0 hbhttpd\n"


def write_config(
    folder: Path,
    hacf: str | None = REFERENCE_HACF,
    authkeys: str | None = REFERENCE_AUTHKEYS,
    haresources: str | None = REFERENCE_HARESOURCES,
    authkeys_mode: int = 0o600,
) -> Path:
    """Write the three files (None = leave the file out) and return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("ha.cf", hacf), ("authkeys", authkeys), ("haresources", haresources)):
        if text is not None:
            (folder / name).write_text(text)
    if authkeys is not None:
        os.chmod(folder / "authkeys", authkeys_mode)
    return folder


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A directory holding the §0.5 reference configuration of node alpha."""
    return write_config(tmp_path / "ha.d")


@pytest.fixture(autouse=True)
def reference_machine(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """The configuration tests run on a made-up alpha (eth0, hb1, hbhttpd), not on this
    machine, whose interfaces and init scripts are not theirs to know."""
    machine = fake_machine(tmp_path_factory.mktemp("machine"))
    monkeypatch.setattr(machine_module, "this_machine", lambda: machine)
    return machine
