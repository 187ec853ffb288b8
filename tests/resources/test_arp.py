"""Gratuitous ARP frame layout and input checks (the real send is in test_netns)."""

from __future__ import annotations

import asyncio
import os
import struct
import sys
import time
from pathlib import Path

import pytest

from engine.resources.arp import build_garp_frame, interface_mac, send_gratuitous_arp
from tests.resources.netns import veth_namespace

REPO = str(Path(__file__).resolve().parents[2])

MAC = bytes.fromhex("02aabbccddee")


def test_frame_is_a_42_byte_broadcast_arp_request() -> None:
    frame = build_garp_frame("10.99.0.10", MAC)
    assert len(frame) == 42
    dst, src, ethertype = frame[:6], frame[6:12], frame[12:14]
    assert dst == b"\xff" * 6
    assert src == MAC
    assert ethertype == b"\x08\x06"
    htype, ptype, hlen, plen, oper = struct.unpack("!HHBBH", frame[14:22])
    assert (htype, ptype, hlen, plen, oper) == (1, 0x0800, 6, 4, 1)
    assert frame[22:28] == MAC  # sender hardware address
    assert frame[28:32] == bytes([10, 99, 0, 10])  # sender protocol address
    assert frame[32:38] == b"\x00" * 6  # target hardware address
    assert frame[38:42] == bytes([10, 99, 0, 10])  # target = sender: gratuitous


def test_frame_refuses_bad_values() -> None:
    with pytest.raises(ValueError):
        build_garp_frame("10.99.0.300", MAC)
    with pytest.raises(ValueError):
        build_garp_frame("10.99.0.10", b"\x01\x02")


def test_interface_mac_reads_sysfs(tmp_path: Path) -> None:
    (tmp_path / "eth7").mkdir()
    (tmp_path / "eth7" / "address").write_text("02:aa:bb:cc:dd:ee\n")
    assert interface_mac("eth7", tmp_path) == MAC
    (tmp_path / "ib0").mkdir()
    (tmp_path / "ib0" / "address").write_text("00:11\n")
    with pytest.raises(ValueError, match="no Ethernet address"):
        interface_mac("ib0", tmp_path)


@pytest.mark.parametrize(
    ("ip", "iface", "count", "message"),
    [
        ("fe80::1", "eth0", 3, "IPv4 only"),
        ("not-an-ip", "eth0", 3, "not an IPv4 address"),
        ("10.99.0.10", "../etc", 3, "not an interface name"),
        ("10.99.0.10", "x" * 16, 3, "not an interface name"),
        ("10.99.0.10", "eth0", 0, "count must be at least 1"),
    ],
)
async def test_bad_input_is_reported_not_raised(
    ip: str, iface: str, count: int, message: str
) -> None:
    result = await send_gratuitous_arp(ip, iface, count)
    assert not result.ok
    assert result.method == "none"
    assert message in result.detail


async def test_missing_interface_fails_on_both_paths() -> None:
    result = await send_gratuitous_arp("10.99.0.10", "nosuchif0", count=1, interval=0)
    assert not result.ok
    assert "raw socket" in result.detail


@pytest.mark.netns
async def test_repeats_stop_after_a_stall() -> None:
    """A loop frozen between two ARPs (here: a blocking call) drops the remaining repeats:
    by then the peer may own the address, and a late ARP would point clients back here."""
    if os.geteuid() != 0:
        pytest.skip("needs root for a raw packet socket")
    with veth_namespace() as ns:
        code = (
            "import asyncio, time\n"
            "from engine.resources.arp import send_gratuitous_arp\n"
            "async def main():\n"
            "    asyncio.get_running_loop().call_later(0.05, time.sleep, 0.9)\n"
            "    r = await send_gratuitous_arp('10.99.0.10', 'eth0', count=5, interval=0.2)\n"
            "    print(r.method, r.sent)\n"
            "asyncio.run(main())\n"
        )
        proc = await asyncio.create_subprocess_exec(
            "ip", "netns", "exec", ns, sys.executable, "-c", code,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": REPO},
        )  # fmt: skip
        started = time.monotonic()
        out, _ = await proc.communicate()
    text = out.decode()
    assert text.splitlines()[-1] == "packet 1", text
    assert "stopped after 1: paused" in text and "the address may have moved" in text, text
    assert time.monotonic() - started < 5
