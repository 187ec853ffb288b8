"""Real IPaddr2 and gratuitous ARP inside a network namespace we create (root only)."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.config.model import AuthConfig, ClusterConfig, LogConfig, Timing
from engine.process.runner import run_program
from engine.resources.agents import (
    AgentOptions,
    HeartbeatScript,
    OcfAgent,
    script_environment,
)
from engine.resources.model import ResourceState
from engine.resources.resolve import resolve_agent
from tests.resources.lab import SCRIPTS, spec
from tests.resources.netns import addresses, veth_namespace

pytestmark = pytest.mark.netns

IPADDR2 = Path("/usr/lib/ocf/resource.d/heartbeat/IPaddr2")
WRAPPER = Path("/etc/ha.d/resource.d/IPaddr2")
HAVE_IPADDR2 = IPADDR2.exists()
HAVE_WRAPPER = WRAPPER.exists()
HAVE_ARPING = shutil.which("arping") is not None
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def netns() -> Iterator[str]:
    with veth_namespace() as name:
        yield name


def _options(netns: str, tmp_path: Path, config_dir: Path) -> AgentOptions:
    config = ClusterConfig(
        config_dir=str(config_dir),
        node_name="alpha",
        nodes=("alpha",),
        timing=Timing(),
        media=(),
        auth=AuthConfig(send_index=1, keys=()),
        log=LogConfig(logfile=str(tmp_path / "ha-log"), debugfile=str(tmp_path / "ha-debug")),
    )
    rsctmp = tmp_path / "rsctmp"
    rsctmp.mkdir(exist_ok=True)
    env = script_environment(config, tmp_path, rsctmp=rsctmp)
    return AgentOptions(env=env, command_prefix=("ip", "netns", "exec", netns))


async def _cycle_vip(agent: OcfAgent | HeartbeatScript, netns: str) -> None:
    assert (await agent.status()).state is ResourceState.STOPPED
    started = await agent.start()
    assert started.ok, started.detail
    assert "inet 10.99.0.10/24" in addresses(netns)
    assert (await agent.status()).state is ResourceState.RUNNING
    stopped = await agent.stop()
    assert stopped.ok, stopped.detail
    assert "10.99.0.10" not in addresses(netns)
    assert (await agent.status()).state is ResourceState.STOPPED


async def test_ocf_ipaddr2_start_stop_in_netns(netns: str, tmp_path: Path) -> None:
    if not HAVE_IPADDR2:
        pytest.skip("resource-agents IPaddr2 is not installed")
    config_dir = tmp_path / "ha.d"  # no resource.d wrapper: the OCF agent runs directly
    agent = resolve_agent(
        spec("IPaddr2::10.99.0.10/24/eth0"),
        config_dir=config_dir,
        init_dir=tmp_path,
        options=_options(netns, tmp_path, config_dir),
    )
    assert isinstance(agent, OcfAgent)
    await _cycle_vip(agent, netns)


async def test_heartbeat_wrapper_ipaddr2_in_netns(netns: str, tmp_path: Path) -> None:
    if not (HAVE_WRAPPER and HAVE_IPADDR2):
        pytest.skip("heartbeat's resource.d/IPaddr2 wrapper is not installed")
    config_dir = Path("/etc/ha.d")
    agent = resolve_agent(
        spec("IPaddr2::10.99.0.10/24/eth0"),
        config_dir=config_dir,
        init_dir=tmp_path,
        options=_options(netns, tmp_path, config_dir),
    )
    assert isinstance(agent, HeartbeatScript)
    await _cycle_vip(agent, netns)
    probe = await agent.status()
    assert probe.program is not None and "Resource is stopped" in probe.program.stdout


async def _garp_through_veth(netns: str, raw_socket: bool, count: int) -> tuple[str, list[bytes]]:
    """Send GARPs on eth0 from inside ``netns``; return the method and frames on peer0."""
    prefix = ["ip", "netns", "exec", netns]
    vip = await run_program(
        ["ip", "-n", netns, "addr", "add", "10.99.0.10/24", "dev", "eth0"], timeout=5
    )
    assert vip.ok, vip.stderr  # announced addresses are configured first, as after a takeover
    capture = asyncio.create_task(
        run_program(
            [*prefix, sys.executable, str(SCRIPTS / "arp_capture.py"), "peer0", str(count), "8"],
            timeout=12,
        )
    )
    await asyncio.sleep(0.5)  # let the capture socket bind first
    sender_code = (
        "import asyncio, sys; from engine.resources.arp import send_gratuitous_arp as s; "
        f"r = asyncio.run(s('10.99.0.10', 'eth0', count={count}, interval=0.0, "
        f"raw_socket={raw_socket})); "
        "print(r.method, r.sent, r.detail); sys.exit(0 if r.ok else 1)"
    )
    sender = await run_program(
        [*prefix, sys.executable, "-c", sender_code],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=12,
    )
    assert sender.ok, sender.stdout + sender.stderr
    captured = await capture
    lines = captured.stdout.split()
    assert lines[0] == "ready"
    return sender.stdout.split()[0], [bytes.fromhex(line) for line in lines[1:]]


@pytest.mark.parametrize(
    ("raw_socket", "method", "count"), [(True, "packet", 3), (False, "arping", 2)]
)
async def test_gratuitous_arp_reaches_the_peer(
    netns: str, raw_socket: bool, method: str, count: int
) -> None:
    if not raw_socket and not HAVE_ARPING:
        pytest.skip("arping is not installed")
    used, frames = await _garp_through_veth(netns, raw_socket, count)
    assert used == method
    assert len(frames) == count
    mac = bytes.fromhex(
        (
            await run_program(
                ["ip", "netns", "exec", netns, "cat", "/sys/class/net/eth0/address"], timeout=5
            )
        )
        .stdout.strip()
        .replace(":", "")
    )
    for frame in frames:
        assert frame[:6] == b"\xff" * 6  # broadcast
        assert frame[6:12] == mac
        assert frame[12:14] == b"\x08\x06"
        assert frame[28:32] == frame[38:42] == bytes([10, 99, 0, 10])  # sender == target
