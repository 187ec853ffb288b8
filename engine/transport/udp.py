"""UDP media: ``ucast``, ``bcast`` and ``mcast`` (spec §5.1–5.3).

Sockets are set up as Heartbeat's HBcomm plugins set them up (IPTOS_LOWDELAY,
SO_BINDTODEVICE, SO_REUSEADDR/SO_REUSEPORT, broadcast/multicast options). Options that
need privileges we may not have (SO_BINDTODEVICE without CAP_NET_RAW) are logged and
skipped, so an unprivileged demo still runs.

The receive socket is read with ``loop.add_reader`` and ``recvfrom_into`` one reusable
buffer, not an asyncio datagram transport: that transport allocates a 256 KiB buffer
per datagram, which on an idle cluster cost more CPU than everything else the engine
does per packet. ``poll`` also lets the engine read copies that arrived on this link
while it was busy with another one, in the same wake-up.

Our own packets are not looped back through the kernel: a ``ucast`` line naming one of
our addresses (identical ha.cf files list every node) is not sent to, and the echo of
our own broadcast/multicast is dropped by source address. Heartbeat receives both and
they only ever prove that the local stack works; the engine already processes its own
messages before sending them, and marks its own links up when a send succeeds.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import socket
import struct
from collections.abc import Callable

from engine.config.model import MediumKind
from engine.core.linkplan import LinkPlan
from engine.transport.base import DatagramHandler, Link

logger = logging.getLogger("heartbeat")

SIOCGIFADDR = 0x8915
SIOCGIFBRDADDR = 0x8919
IPTOS_LOWDELAY = 0x10
RECV_BUFFER = 262143
"""SO_RCVBUF: room for bursts (retransmissions, floods) while the loop is busy."""
MAX_UDP_PAYLOAD = 65535
POLL_BATCH = 64
"""Datagrams read per link per poll: a flood cannot keep the loop from its timers."""


def interface_address(dev: str, request: int = SIOCGIFADDR) -> str:
    """IPv4 address (or broadcast address) of an interface, via ioctl."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        packed = struct.pack("256s", dev.encode()[:15])
        try:
            result = fcntl.ioctl(sock.fileno(), request, packed)
        except OSError as exc:
            raise OSError(exc.errno, f"IP interface [{dev}] has no IPv4 address") from exc
    return socket.inet_ntoa(result[20:24])


def _address_or_empty(dev: str) -> str:
    """The device's address, or "" when it has none yet (then nothing counts as an echo)."""
    try:
        return interface_address(dev)
    except OSError:
        return ""


def _bind_to_device(sock: socket.socket, dev: str, what: str) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode() + b"\0")
    except OSError as exc:
        logger.warning("%s: cannot bind socket to device %s (%s); continuing", what, dev, exc)


def _reuse(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECV_BUFFER)


class UdpLink(Link):
    """One UDP medium: a send socket and a receive socket."""

    def __init__(
        self,
        plan: LinkPlan,
        port: int,
        bind_address: str = "",
        on_readable: Callable[[], None] | None = None,
    ) -> None:
        medium = plan.media[0]
        super().__init__(plan.name, plan.kind.value, f"{plan.kind.value} {plan.name}")
        self.plan = plan
        self.port = medium.port if plan.kind is MediumKind.MCAST else port
        self.bind_address = bind_address
        self.destinations: list[tuple[str, int]] = []
        self._send_sock: socket.socket | None = None
        self._recv_sock: socket.socket | None = None
        self._buffer = bytearray(MAX_UDP_PAYLOAD)
        self._view = memoryview(self._buffer)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._on_readable = on_readable
        """Called when the socket is readable (the engine polls every link then); without
        it the link reads its own socket."""
        self.own_address = ""
        """Source address of what we send on this link; datagrams from it are our echo."""
        self.echoes_dropped = 0

    async def open(self, handler: DatagramHandler) -> None:
        """Create the sockets and start receiving."""
        self._handler = handler
        kind = self.plan.kind
        if kind is MediumKind.UCAST:
            recv = self._open_ucast()
        elif kind is MediumKind.BCAST:
            recv = self._open_bcast()
        else:
            recv = self._open_mcast()
        recv.setblocking(False)
        self._recv_sock = recv
        self.destinations = [d for d in self.destinations if d[0] != self.own_address]
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(recv.fileno(), self._on_readable or self.poll)

    def poll(self) -> int:
        """Deliver the datagrams waiting on the receive socket (at most a batch)."""
        sock = self._recv_sock
        count = 0
        while sock is not None and count < POLL_BATCH:
            try:
                size, source = sock.recvfrom_into(self._buffer)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:  # e.g. an ICMP error queued on the socket
                logger.debug("receive error on %s: %s", self.name, exc)
                break
            count += 1
            if source[0] == self.own_address:
                self.echoes_dropped += 1
                continue
            self.deliver(bytes(self._view[:size]))
            sock = self._recv_sock  # a handler may have closed the link
        return count

    def _open_ucast(self) -> socket.socket:
        dev = self.plan.media[0].dev
        send = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        send.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, IPTOS_LOWDELAY)
        if not self.bind_address:
            _bind_to_device(send, dev, "ucast")
        send.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if self.bind_address:
            send.bind((self.bind_address, 0))
        self.own_address = self.bind_address or _address_or_empty(dev)
        send.setblocking(False)
        self._send_sock = send
        for medium in self.plan.media:
            peer = socket.gethostbyname(medium.peer)
            self.destinations.append((peer, self.port))
            logger.info(
                "glib: ucast: started on port %d interface %s to %s", self.port, dev, medium.peer
            )
        recv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        _reuse(recv)
        if not self.bind_address:
            _bind_to_device(recv, dev, "ucast")
        recv.bind((self.bind_address, self.port))
        return recv

    def _open_bcast(self) -> socket.socket:
        dev = self.plan.media[0].dev
        broadcast = interface_address(dev, SIOCGIFBRDADDR)
        self.own_address = self._shared_medium_source(dev)
        send = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        send.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        send.setsockopt(socket.SOL_SOCKET, socket.SO_DONTROUTE, 1)
        _bind_to_device(send, dev, "bcast")
        send.setblocking(False)
        self._send_sock = send
        self.destinations = [(broadcast, self.port)]
        recv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        _reuse(recv)
        _bind_to_device(recv, dev, "bcast")
        recv.bind((self.bind_address, self.port))
        logger.info(
            "UDP Broadcast heartbeat started on port %d (%d) interface %s",
            self.port,
            self.port,
            dev,
        )
        return recv

    def _open_mcast(self) -> socket.socket:
        medium = self.plan.media[0]
        local = interface_address(medium.dev)
        self.own_address = self._shared_medium_source(medium.dev)
        group = medium.group
        send = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        send.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(local))
        send.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, int(medium.loop))
        send.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, medium.ttl)
        send.setblocking(False)
        self._send_sock = send
        self.destinations = [(group, self.port)]
        recv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        _reuse(recv)
        recv.bind((group, self.port))
        membership = struct.pack("4s4s", socket.inet_aton(group), socket.inet_aton(local))
        recv.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        logger.info(
            "UDP multicast heartbeat started for group %s port %d interface %s (ttl=%d loop=%d)",
            group,
            self.port,
            medium.dev,
            medium.ttl,
            int(medium.loop),
        )
        return recv

    def _shared_medium_source(self, dev: str) -> str:
        """The source address of our broadcasts/multicasts, by which their echo is told
        apart. With ``--bind-address`` (several engines on one host, e.g. the demo on
        loopback) every engine sends from the device's one address: no echo filter."""
        return "" if self.bind_address else _address_or_empty(dev)

    def _write(self, data: bytes) -> None:
        if self._send_sock is None:
            raise OSError(0, "link not open")
        for destination in self.destinations:
            self._send_sock.sendto(data, destination)

    def close(self) -> None:
        """Close both sockets."""
        if self._recv_sock is not None:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(self._recv_sock.fileno())
            self._recv_sock.close()
            self._recv_sock = None
        if self._send_sock is not None:
            self._send_sock.close()
            self._send_sock = None


def make_udp_link(
    plan: LinkPlan,
    udpport: int,
    bind_address: str = "",
    on_readable: Callable[[], None] | None = None,
) -> UdpLink:
    """Build (but do not open) the link for one planned UDP medium."""
    return UdpLink(plan, udpport, bind_address, on_readable)
