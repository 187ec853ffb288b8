"""Gratuitous ARP for a takeover address, so neighbours update their caches at once.

The IPaddr2 agent sends its own ARPs (send_arp); this helper is the engine's fast path
and the tests'. It prefers a raw AF_PACKET socket (no child process, needs root or
CAP_NET_RAW) and falls back to ``arping -U`` run through the runner.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
import re
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

from engine.process.runner import run_program

logger = logging.getLogger(__name__)

ETH_P_ARP = 0x0806
BROADCAST_MAC = b"\xff" * 6
SYS_CLASS_NET = Path("/sys/class/net")
_IFACE_NAME = re.compile(r"[A-Za-z0-9_.:@-]{1,15}")
STALE_PAUSE = 0.5
"""Seconds a pause between two ARPs may overrun before the rest are dropped: a process
frozen that long may have been declared dead, its address taken over by the peer, and a
late repeat would point the neighbours back at us."""


@dataclass(frozen=True, slots=True)
class ArpResult:
    """What a gratuitous ARP attempt did: how many frames, by which means, or why not."""

    ok: bool
    method: str
    """``packet`` (raw socket), ``arping`` or ``none``."""
    sent: int = 0
    detail: str = ""


def build_garp_frame(ip: str, mac: bytes) -> bytes:
    """The 42-byte Ethernet frame of an ARP request announcing ``ip`` at ``mac``.

    Sender and target protocol address are both ``ip`` (that makes it gratuitous);
    the target hardware address is zero, as in an RFC 5227 announcement.
    """
    if len(mac) != 6:
        raise ValueError(f"a MAC address has 6 bytes, got {len(mac)}")
    addr = ipaddress.IPv4Address(ip).packed
    ethernet = BROADCAST_MAC + mac + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + addr + b"\x00" * 6 + addr
    return ethernet + arp


def interface_mac(iface: str, sys_net: Path = SYS_CLASS_NET) -> bytes:
    """The hardware address of ``iface`` from ``/sys/class/net/IFACE/address``."""
    text = (sys_net / iface / "address").read_text().strip()
    mac = bytes.fromhex(text.replace(":", ""))
    if len(mac) != 6:
        raise ValueError(f"{iface} has no Ethernet address ({text!r})")
    return mac


async def send_gratuitous_arp(
    ip: str, iface: str, count: int = 3, interval: float = 0.2, *, raw_socket: bool = True
) -> ArpResult:
    """Announce ``ip`` on ``iface`` ``count`` times, ``interval`` seconds apart.

    Never raises: bad input or a failure on both paths comes back as ``ok=False`` with
    the reason in ``detail``. ``raw_socket=False`` goes straight to ``arping``.
    """
    problem = _check_input(ip, iface, count)
    if problem:
        logger.error("Cannot send gratuitous ARP: %s", problem)
        return ArpResult(False, "none", detail=problem)
    if not raw_socket:
        return await _send_arping(ip, iface, count, interval, "raw socket not wanted")
    try:
        sent = await _send_raw(ip, iface, count, interval)
    except (OSError, ValueError) as exc:
        logger.debug("Raw ARP on %s not possible (%s); trying arping", iface, exc)
        return await _send_arping(ip, iface, count, interval, f"raw socket: {exc}")
    logger.info("Sent %d gratuitous ARP(s) for %s on %s", sent, ip, iface)
    return ArpResult(True, "packet", sent)


def _check_input(ip: str, iface: str, count: int) -> str:
    """Empty when the arguments are usable, else what is wrong with them."""
    try:
        ipaddress.IPv4Address(ip)
    except ValueError:
        return f"{ip!r} is not an IPv4 address (gratuitous ARP is IPv4 only)"
    if not _IFACE_NAME.fullmatch(iface) or iface in (".", ".."):
        return f"{iface!r} is not an interface name"
    if count < 1:
        return f"count must be at least 1, got {count}"
    return ""


async def _send_raw(ip: str, iface: str, count: int, interval: float) -> int:
    """Send ``count`` frames on a raw packet socket bound to ``iface``; returns how many
    went out (fewer when a pause overran by more than STALE_PAUSE)."""
    frame = build_garp_frame(ip, interface_mac(iface))
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP)) as sock:
        sock.bind((iface, 0))
        for number in range(count):
            if number:
                paused_at = loop.time()
                await asyncio.sleep(interval)
                late = loop.time() - paused_at - interval
                if late > STALE_PAUSE:
                    logger.warning(
                        "Gratuitous ARPs for %s on %s stopped after %d: paused %.0f ms too "
                        "long (were we frozen?); the address may have moved meanwhile",
                        ip, iface, number, late * 1000,
                    )  # fmt: skip
                    return number
            sock.send(frame)
    return count


async def _send_arping(
    ip: str, iface: str, count: int, interval: float, why_not_raw: str
) -> ArpResult:
    """``arping -U -c COUNT -i SECONDS -I IFACE IP`` through the runner.

    iputils arping takes whole seconds only (and hangs after one packet with ``-i 0``),
    so the interval is rounded up to at least one second.
    """
    seconds = max(1, math.ceil(interval))
    argv = ["arping", "-U", "-c", str(count), "-i", str(seconds), "-I", iface, ip]
    result = await run_program(argv, timeout=count * seconds + 5.0)
    if result.ok:
        logger.info("Sent %d gratuitous ARP(s) for %s on %s (arping)", count, ip, iface)
        return ArpResult(True, "arping", count)
    detail = f"{why_not_raw}; arping: {result.describe()} {result.last_line()}".strip()
    logger.error("Gratuitous ARP for %s on %s failed: %s", ip, iface, detail)
    return ArpResult(False, "arping", detail=detail)
