"""The built-in IPaddr2 fast path: same effect as the agent, in milliseconds."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from engine.config.model import ResourceSpec
from engine.resources.agents import AgentOptions, HeartbeatScript
from engine.resources.model import ResourceState
from engine.resources.native_ip import NativeIPAddr
from engine.resources.resolve import resolve_agent
from tests.resources.netns import addresses, veth_namespace


def spec(token: str) -> ResourceSpec:
    script, _, arg = token.partition("::")
    return ResourceSpec(token, script, (arg,) if arg else ())


@pytest.mark.parametrize(
    ("token", "native"),
    [
        ("IPaddr2::10.99.0.10/24/eth0", True),
        ("IPaddr::10.99.0.10/24/eth0/10.99.0.255", True),
        ("IPaddr2::10.99.0.10/24", False),  # no interface: the agent's findif decides
        ("IPaddr2::fd00::5/64/eth0", False),
        ("IPaddr2::10.99.0.10/24/eth0:1", False),
    ],
)
def test_native_only_for_the_explicit_ipv4_form(tmp_path: Path, token: str, native: bool) -> None:
    agent = resolve_agent(spec(token), config_dir=tmp_path)
    assert isinstance(agent, NativeIPAddr) is native


def test_switch_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HATUI_NATIVE_IP", "0")
    agent = resolve_agent(spec("IPaddr2::10.99.0.10/24/eth0"), config_dir=tmp_path)
    assert not isinstance(agent, NativeIPAddr)


SITE_IPADDR2 = """#!/bin/sh
# a site's own IPaddr2: records how it was called instead of touching any interface
echo "$*" >> "$(dirname "$0")/../calls"
case "$1 $2" in *status*) echo "site IPaddr2 is stopped" ;; esac
exit 0
"""


@pytest.mark.parametrize("place", ["resource.d", "init.d"])
def test_a_site_script_named_ipaddr2_wins_over_the_native_path(tmp_path: Path, place: str) -> None:
    """Heartbeat looks in resource.d, then init.d; the fast path only replaces OCF."""
    config_dir, init_dir = tmp_path / "ha.d", tmp_path / "init.d"
    script = (config_dir / "resource.d" if place == "resource.d" else init_dir) / "IPaddr2"
    script.parent.mkdir(parents=True)
    script.write_text(SITE_IPADDR2)
    script.chmod(0o755)
    agent = resolve_agent(
        spec("IPaddr2::10.99.0.10/24/eth0"), config_dir=config_dir, init_dir=init_dir
    )
    assert isinstance(agent, HeartbeatScript) and agent.path == str(script)
    started = asyncio.run(agent.start())
    status = asyncio.run(agent.status())
    assert started.ok and status.state is ResourceState.STOPPED  # the script's own verdict
    calls = (script.parent.parent / "calls").read_text().splitlines()
    assert calls == ["10.99.0.10/24/eth0 start", "10.99.0.10/24/eth0 status"]


def test_native_path_stands_in_for_ocf_when_no_site_script(tmp_path: Path) -> None:
    config_dir, init_dir = tmp_path / "ha.d", tmp_path / "init.d"
    (config_dir / "resource.d").mkdir(parents=True)
    init_dir.mkdir()
    (init_dir / "IPaddr2").write_text(SITE_IPADDR2)  # not executable: not a candidate
    agent = resolve_agent(
        spec("IPaddr2::10.99.0.10/24/eth0"), config_dir=config_dir, init_dir=init_dir
    )
    assert isinstance(agent, NativeIPAddr)


@pytest.mark.netns
def test_native_start_status_stop_in_netns(tmp_path: Path) -> None:
    with veth_namespace() as ns:
        options = AgentOptions(command_prefix=("ip", "netns", "exec", ns))
        agent = resolve_agent(
            spec("IPaddr2::10.99.7.10/24/eth0"), config_dir=tmp_path, options=options
        )
        assert isinstance(agent, NativeIPAddr)

        async def cycle() -> list[object]:
            t0 = time.monotonic()
            before = await agent.status()
            started = await agent.start()
            took = time.monotonic() - t0
            running = await agent.status()
            again = await agent.start()  # idempotent
            return [before, started, running, again, took]

        before, started, running, again, took = asyncio.run(cycle())
        assert before.state is ResourceState.STOPPED  # type: ignore[attr-defined]
        assert started.ok and running.state is ResourceState.RUNNING  # type: ignore[attr-defined]
        assert again.ok  # type: ignore[attr-defined]
        assert "10.99.7.10/24" in addresses(ns)
        print(f"built-in IPaddr2 status+start: {float(took) * 1000:.1f} ms")  # type: ignore[arg-type]
        stopped = asyncio.run(agent.stop())
        assert stopped.ok and "10.99.7.10" not in addresses(ns)
        assert asyncio.run(agent.stop()).ok  # stopping a stopped address succeeds


def test_netlink_address_table_matches_ip_command() -> None:
    import json
    import socket
    import subprocess

    from engine.resources.netlink import interface_has_address, ipv4_addresses

    out = subprocess.run(["ip", "-j", "-4", "addr"], capture_output=True, text=True, check=True)
    expected = {
        (socket.if_nametoindex(link["ifname"]), info["local"])
        for link in json.loads(out.stdout)
        for info in link.get("addr_info", [])
    }
    found = ipv4_addresses()
    assert found is not None and set(found) == expected
    assert interface_has_address("lo", "127.0.0.1") is True
    assert interface_has_address("lo", "192.0.2.123") is False
    assert interface_has_address("no-such-if0", "127.0.0.1") is False
