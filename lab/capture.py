"""Packet capture in a lab namespace with a raw AF_PACKET socket (no tcpdump needed).

ARP: to time the gratuitous ARP that a takeover sends for the VIP. UDP: the heartbeat
datagrams a node sends (sizes, rates, intervals between status heartbeats).
"""

from __future__ import annotations

import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import ClassVar, Self

from lab.nsutil import socket_in_netns

ETH_P_ARP = 0x0806
_ARP = struct.Struct("!HHBBH6s4s6s4s")


@dataclass(frozen=True)
class ArpPacket:
    """One captured ARP packet, timestamped with ``time.monotonic()``."""

    time: float
    op: int
    """1 = request, 2 = reply."""
    sender_mac: str
    sender_ip: str
    target_ip: str

    @property
    def gratuitous(self) -> bool:
        """Gratuitous = announces its own address (sender IP == target IP), request or reply."""
        return self.sender_ip == self.target_ip


def parse_arp(frame: bytes, when: float) -> ArpPacket | None:
    """Decode an Ethernet frame carrying IPv4-over-Ethernet ARP, else None."""
    if len(frame) < 14 + _ARP.size or frame[12:14] != b"\x08\x06":
        return None
    htype, ptype, hlen, plen, op, sha, spa, _tha, tpa = _ARP.unpack_from(frame, 14)
    if htype != 1 or ptype != 0x0800 or hlen != 6 or plen != 4:
        return None
    return ArpPacket(when, op, sha.hex(":"), socket.inet_ntoa(spa), socket.inet_ntoa(tpa))


SO_TIMESTAMPNS = 35
"""Linux socket option: the kernel's receive time of each packet (``struct timespec``)."""
_TIMESPEC = struct.Struct("@qq")
_CMSG_SPACE = socket.CMSG_SPACE(_TIMESPEC.size)


@dataclass
class PacketCapture:
    """Records the frames of one ethertype seen on ``ifname`` in ``namespace`` (base class).

    Frames are stamped with the kernel's receive (or, outgoing, transmit) time converted
    to ``time.monotonic()``: a reader thread that competes for the GIL with a busy test
    would otherwise stamp them late. Subclasses decode a frame in :meth:`parse`.
    """

    namespace: str
    ifname: str = "eth0"
    ethertype: ClassVar[int] = ETH_P_ARP
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _sock: socket.socket | None = None
    _to_monotonic: float = 0.0

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Open the packet socket and start the reader thread."""
        proto = socket.htons(self.ethertype)
        sock = socket_in_netns(self.namespace, socket.AF_PACKET, socket.SOCK_RAW, proto)
        sock.bind((self.ifname, self.ethertype))
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.settimeout(0.1)
        self._sock = sock
        self._to_monotonic = time.monotonic() - time.time()
        self._thread = threading.Thread(target=self._loop, name="capture", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop reading and close the socket."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._sock is not None:
            self._sock.close()

    def _loop(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                frame, ancillary, _flags, address = self._sock.recvmsg(2048, _CMSG_SPACE)
            except TimeoutError:
                continue
            except OSError:
                return
            self.parse(frame, self._stamp(ancillary), address[2] == socket.PACKET_OUTGOING)

    def _stamp(self, ancillary: list[tuple[int, int, bytes]]) -> float:
        """The kernel time of the frame on the monotonic clock (now, if it gave none)."""
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                seconds, nanoseconds = _TIMESPEC.unpack_from(data)
                return float(seconds + nanoseconds / 1e9 + self._to_monotonic)
        return time.monotonic()

    def parse(self, frame: bytes, when: float, outgoing: bool) -> None:
        """Decode one captured frame and keep what the subclass records."""
        raise NotImplementedError


@dataclass
class ArpCapture(PacketCapture):
    """Records every ARP packet seen on ``ifname`` in ``namespace`` (context manager)."""

    packets: list[ArpPacket] = field(default_factory=list)

    def parse(self, frame: bytes, when: float, outgoing: bool) -> None:
        """Keep ARP packets (both directions)."""
        packet = parse_arp(frame, when)
        if packet is not None:
            self.packets.append(packet)

    def gratuitous_for(self, ip: str, after: float = 0.0) -> list[ArpPacket]:
        """Gratuitous ARPs announcing ``ip`` captured at/after ``after``."""
        return [
            p for p in list(self.packets) if p.gratuitous and p.sender_ip == ip and p.time >= after
        ]


ETH_P_IP = 0x0800
ETH_P_ALL = 0x0003
STATUS_MARK = b"t=status"
"""Present in both wire forms of a status heartbeat (``(0)t=status`` / ``t=status``)."""


@dataclass(frozen=True)
class UdpDatagram:
    """One captured IPv4 UDP datagram, timestamped on the ``time.monotonic()`` clock."""

    time: float
    outgoing: bool
    """Sent by the capturing namespace (False: received)."""
    source: str
    dest: str
    sport: int
    dport: int
    ip_length: int
    """Bytes of the IP packet (headers included): what has to fit the MTU."""
    payload: bytes

    @property
    def message_type(self) -> str | None:
        """The heartbeat message type (``t=``) in either wire form, None if not found."""
        match = _MESSAGE_TYPE.search(self.payload[:120])
        return None if match is None else match.group(1).decode(errors="replace")


_MESSAGE_TYPE = re.compile(rb"(?:\(0\)|\n)t=([^,\n]+)")


def parse_udp(frame: bytes, when: float = 0.0, outgoing: bool = False) -> UdpDatagram | None:
    """Decode an Ethernet frame carrying IPv4 UDP, else None."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
        return None
    header = (frame[14] & 0x0F) * 4
    ip_length = struct.unpack_from("!H", frame, 16)[0]
    sport, dport = struct.unpack_from("!HH", frame, 14 + header)
    return UdpDatagram(
        when,
        outgoing,
        socket.inet_ntoa(frame[26:30]),
        socket.inet_ntoa(frame[30:34]),
        sport,
        dport,
        ip_length,
        frame[14 + header + 8 : 14 + ip_length],
    )


@dataclass
class UdpCapture(PacketCapture):
    """Records the UDP datagrams to ``port`` seen on ``ifname`` (both directions)."""

    port: int = 694
    ethertype: ClassVar[int] = ETH_P_ALL
    """Not ETH_P_IP: the kernel shows outgoing frames only to taps of every protocol."""
    datagrams: list[UdpDatagram] = field(default_factory=list)

    def parse(self, frame: bytes, when: float, outgoing: bool) -> None:
        """Keep UDP datagrams to ``port``."""
        datagram = parse_udp(frame, when, outgoing)
        if datagram is not None and datagram.dport == self.port:
            self.datagrams.append(datagram)

    def sent(self, source: str, after: float = 0.0) -> list[UdpDatagram]:
        """Datagrams from ``source`` captured at/after ``after``."""
        return [d for d in list(self.datagrams) if d.source == source and d.time >= after]


def is_status_from(frame: bytes, source_ip: str, port: int) -> bool:
    """True for an Ethernet frame carrying a UDP status heartbeat from ``source_ip``."""
    datagram = parse_udp(frame)
    return (
        datagram is not None
        and datagram.source == source_ip
        and datagram.dport == port
        and STATUS_MARK in datagram.payload[:80]
    )


def wait_status_heartbeat(
    namespace: str, ifname: str, source_ip: str, port: int = 694, timeout: float = 10.0
) -> float:
    """Monotonic time a status heartbeat from ``source_ip`` is next seen on ``ifname``.

    The benchmarks crash a node at a chosen phase of its heartbeat period after this
    moment, the same phases for both implementations, so that "crash → service back"
    compares like with like instead of depending on where in the period the crash fell.
    """
    sock = socket_in_netns(namespace, socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    try:
        sock.bind((ifname, ETH_P_IP))
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                frame = sock.recv(2048)
            except TimeoutError:
                break
            if is_status_from(frame, source_ip, port):
                return time.monotonic()
    finally:
        sock.close()
    raise TimeoutError(f"no status heartbeat from {source_ip} on {namespace}:{ifname}")
