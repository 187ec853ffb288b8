"""Ping media: ``ping <addr>...`` and ``ping_group <name> <addr>...`` (spec §11.1-11.2).

Each time our status heartbeat is written, a ping medium sends instead an ICMP Echo
Request whose payload is a signed wire message ``t=NS_st st=ping info=ping src=<ping
node> ts=<ts of our status>``: "the packet we want to hear back". The Echo Reply carries
it back unchanged; we hand it to the membership core as a packet from the ping node on
the link named after it. Only a router that really answered can produce it, and only a
holder of our key could forge one.

A raw ICMP socket needs root (CAP_NET_RAW). Without it we try the unprivileged ICMP
datagram socket (``net.ipv4.ping_group_range``); when neither works the link stays
closed, says so once, and the ping node is declared dead after ``deadping``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import struct

from engine.config.model import ClusterConfig, MediumKind
from engine.errors import RemoteProtocolError
from engine.protocol.aead import is_sealed
from engine.protocol.auth import Authenticator
from engine.protocol.codec import NETSTRING_START, decode_datagram, encode_wire
from engine.protocol.message import Message
from engine.transport.base import DatagramHandler, Link

logger = logging.getLogger("heartbeat")

ICMP_ECHO_REQUEST = 8
ICMP_ECHO_REPLY = 0
RECV_SIZE = 65535


def icmp_checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def echo_request(ident: int, seq: int, payload: bytes) -> bytes:
    """An ICMP Echo Request packet (header + payload) with a valid checksum."""
    header = struct.pack("!BBHHH", ICMP_ECHO_REQUEST, 0, 0, ident, seq & 0xFFFF)
    checksum = icmp_checksum(header + payload)
    return struct.pack("!BBHHH", ICMP_ECHO_REQUEST, 0, checksum, ident, seq & 0xFFFF) + payload


def parse_echo_reply(packet: bytes, *, has_ip_header: bool) -> tuple[int, bytes] | None:
    """``(ident, payload)`` of an Echo Reply, or None for anything else."""
    if has_ip_header:
        if len(packet) < 20:
            return None
        packet = packet[(packet[0] & 0x0F) * 4 :]
    if len(packet) < 8 or packet[0] != ICMP_ECHO_REPLY:
        return None
    ident = struct.unpack("!H", packet[4:6])[0]
    return ident, packet[8:]


def ping_payload(node: str, ts: str, auth: Authenticator) -> bytes:
    """The signed ``NS_st`` message a ping node's reply must carry back (spec §11.1)."""
    msg = Message.of(("t", "NS_st"), ("st", "ping"), ("info", "ping"), ("src", node), ("ts", ts))
    return encode_wire(msg, auth)


def status_ts(data: bytes, auth: Authenticator | None = None) -> str | None:
    """The ``ts`` of our outgoing status message, or None if ``data`` is anything else.

    An encrypted datagram (hatui's encrypting methods) is opened with ``auth``.
    """
    if is_sealed(data):
        if auth is None:
            return None
    elif b"t=status," not in data[:80]:
        return None
    try:
        msg = decode_datagram(data, auth)
    except RemoteProtocolError:
        return None
    return msg.get("ts") if msg.type == "status" else None


class PingLink(Link):
    """One ping pseudo-node: echo requests to every member, replies refresh the node."""

    def __init__(self, name: str, members: tuple[str, ...], auth: Authenticator) -> None:
        super().__init__(name, "ping", f"ping {' '.join(members)}")
        self.members = members
        self._auth = auth
        self._ident = os.getpid() & 0xFFFF
        self._seq = 0
        self._sock: socket.socket | None = None
        self._raw = True
        self._addresses: list[str] = []
        self.unavailable = 0
        """Status messages not pinged because the socket could not be opened."""

    async def open(self, handler: DatagramHandler) -> None:
        """Open the ICMP socket (raw, else datagram) and start reading replies."""
        self._handler = handler
        for member in self.members:
            try:
                self._addresses.append(socket.gethostbyname(member))
            except OSError as exc:
                logger.error("ping: cannot resolve [%s]: %s", member, exc)
        sock = self._open_socket()
        if sock is None:
            return
        self._sock = sock
        asyncio.get_running_loop().add_reader(sock.fileno(), self._on_readable)
        logger.info("ping heartbeat started.")

    def _open_socket(self) -> socket.socket | None:
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        except PermissionError:
            try:
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
            except OSError as exc:
                logger.error(
                    "ping %s: cannot open an ICMP socket (raw needs root or CAP_NET_RAW; "
                    "datagram ICMP needs net.ipv4.ping_group_range): %s; "
                    "ping node %s will be declared dead after deadping",
                    self.name,
                    exc,
                    self.name,
                )
                return None
            self._raw = False
            logger.info("ping %s: no raw socket permission; using ICMP datagram socket", self.name)
        sock.setblocking(False)
        return sock

    def send(self, data: bytes) -> bool:
        """Only our status messages become pings; other traffic is not for this medium.

        Filtering here (not in ``_write``) keeps the base class's consecutive-failure
        count meaningful, so a blackholed route is logged with Heartbeat's suppression.
        """
        if status_ts(data, self._auth) is None:
            return False
        return super().send(data)

    def _write(self, data: bytes) -> None:
        """Ping every member for each of our status messages; ignore everything else."""
        ts = status_ts(data, self._auth)
        if ts is None:
            return
        if self._sock is None:
            self.unavailable += 1
            return
        payload = ping_payload(self.name, ts, self._auth)
        self._seq += 1
        packet = echo_request(self._ident, self._seq, payload)
        errors: list[OSError] = []
        for address in self._addresses:
            try:
                self._sock.sendto(packet, (address, 0))
            except OSError as exc:
                errors.append(exc)
        if errors and len(errors) == len(self._addresses):
            raise errors[0]

    def _on_readable(self) -> None:
        sock = self._sock
        if sock is None:
            return
        try:
            packet = sock.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            logger.debug("ping %s: receive error: %s", self.name, exc)
            return
        reply = parse_echo_reply(packet, has_ip_header=self._raw)
        if reply is None:
            return
        ident, payload = reply
        if self._raw and ident != self._ident:
            return  # another process's ping
        if payload.startswith(NETSTRING_START) or is_sealed(payload):
            self.deliver(payload)

    def close(self) -> None:
        """Stop reading and close the socket."""
        if self._sock is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None


def make_ping_links(config: ClusterConfig, auth: Authenticator) -> list[PingLink]:
    """One link per ping pseudo-node (each ``ping`` address, each ``ping_group``)."""
    links: list[PingLink] = []
    for medium in config.media:
        if medium.kind is MediumKind.PING:
            links.extend(PingLink(m, (m,), auth) for m in medium.members)
        elif medium.kind is MediumKind.PING_GROUP:
            links.append(PingLink(medium.name, medium.members, auth))
    return links
