"""ARP capture in a lab namespace with a raw AF_PACKET socket (no tcpdump needed).

Used to time the gratuitous ARP that a takeover sends for the VIP.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from dataclasses import dataclass, field

from tests.lab.nsutil import socket_in_netns

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


@dataclass
class ArpCapture:
    """Records every ARP packet seen on ``ifname`` in ``namespace`` (context manager)."""

    namespace: str
    ifname: str = "eth0"
    packets: list[ArpPacket] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _sock: socket.socket | None = None

    def __enter__(self) -> ArpCapture:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Open the packet socket and start the reader thread."""
        sock = socket_in_netns(
            self.namespace, socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP)
        )
        sock.bind((self.ifname, ETH_P_ARP))
        sock.settimeout(0.1)
        self._sock = sock
        self._thread = threading.Thread(target=self._loop, name="arp-capture", daemon=True)
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
                frame = self._sock.recv(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            packet = parse_arp(frame, time.monotonic())
            if packet is not None:
                self.packets.append(packet)

    def gratuitous_for(self, ip: str, after: float = 0.0) -> list[ArpPacket]:
        """Gratuitous ARPs announcing ``ip`` captured at/after ``after``."""
        return [
            p for p in list(self.packets) if p.gratuitous and p.sender_ip == ip and p.time >= after
        ]


ETH_P_IP = 0x0800
STATUS_MARK = b"t=status"
"""Present in both wire forms of a status heartbeat (``(0)t=status`` / ``t=status``)."""


def is_status_from(frame: bytes, source_ip: str, port: int) -> bool:
    """True for an Ethernet frame carrying a UDP status heartbeat from ``source_ip``."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
        return False
    header = (frame[14] & 0x0F) * 4
    if socket.inet_ntoa(frame[26:30]) != source_ip:
        return False
    dport = struct.unpack_from("!H", frame, 14 + header + 2)[0]
    return bool(dport == port and STATUS_MARK in frame[14 + header + 8 : 14 + header + 80])


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
