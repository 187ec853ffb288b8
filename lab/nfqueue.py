"""NFQUEUE spoken directly over netfilter netlink: bind a queue, read packets, give verdicts.

The lab's network emulator (``lab.netemu``) holds each queued packet until its
time has come, then accepts it (optionally with a replacement payload) or drops it. The
kernel lets verdicts come in any order and at any later time, which is how delay and
reordering work; ``NFQA_PAYLOAD`` in a verdict replaces the packet, which is how
corruption works.

Formats (``linux/netfilter/nfnetlink.h``, ``nfnetlink_queue.h``): every message is a
``nlmsghdr`` (host order) whose type is ``NFNL_SUBSYS_QUEUE << 8 | msg``, then an
``nfgenmsg`` (family, version, queue number big-endian), then attributes (``nlattr``
header in host order, payload values big-endian, each padded to 4 bytes).

Rules of this module: the message builders and parsers are pure functions (tested
without root); :class:`NfQueue` is the only part that touches a socket.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFNETLINK_V0 = 0

NFQNL_MSG_PACKET = 0
NFQNL_MSG_VERDICT = 1
NFQNL_MSG_CONFIG = 2

NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NFQA_MARK = 3
NFQA_IFINDEX_INDEV = 5
NFQA_IFINDEX_OUTDEV = 6
NFQA_HWADDR = 9
NFQA_PAYLOAD = 10

NFQNL_CFG_CMD_BIND = 1
NFQNL_CFG_CMD_UNBIND = 2
NFQNL_COPY_PACKET = 2
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQA_CFG_QUEUE_MAXLEN = 3
NFQA_CFG_MASK = 4
NFQA_CFG_FLAGS = 5
NFQA_CFG_F_FAIL_OPEN = 0x1

NF_DROP = 0
NF_ACCEPT = 1

NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLMSG_ERROR = 2
NLMSG_DONE = 3
SOL_NETLINK = 270
NETLINK_NO_ENOBUFS = 5

_NLMSGHDR = struct.Struct("=IHHII")
_NFGENMSG = struct.Struct("!BBH")
_NLATTR = struct.Struct("=HH")
_ATTR_TYPE_MASK = 0x3FFF  # without NLA_F_NESTED / NLA_F_NET_BYTEORDER
_HEADER = _NLMSGHDR.size + _NFGENMSG.size


@dataclass(frozen=True, slots=True)
class QueuedPacket:
    """One packet the kernel handed to the queue (``NFQNL_MSG_PACKET``)."""

    packet_id: int
    hw_protocol: int
    hook: int
    payload: bytes
    """The network-layer packet (IP header first), up to the copy range."""
    mark: int = 0
    indev: int = 0
    outdev: int = 0
    hwaddr: bytes = b""
    """Source link-layer address (ingress hooks only)."""


@dataclass(frozen=True, slots=True)
class NetlinkError:
    """An ``NLMSG_ERROR`` message: ``code`` 0 is an acknowledgement, else ``-errno``."""

    seq: int
    code: int


def _align(length: int) -> int:
    return (length + 3) & ~3


def attr(kind: int, value: bytes) -> bytes:
    """One netlink attribute, padded to a multiple of four bytes."""
    length = _NLATTR.size + len(value)
    return _NLATTR.pack(length, kind) + value + b"\0" * (_align(length) - length)


def message(msg: int, queue: int, attrs: bytes, seq: int, flags: int = NLM_F_REQUEST) -> bytes:
    """A queue-subsystem netlink message for ``queue`` carrying ``attrs``."""
    body = _NFGENMSG.pack(socket.AF_UNSPEC, NFNETLINK_V0, queue) + attrs
    kind = (NFNL_SUBSYS_QUEUE << 8) | msg
    return _NLMSGHDR.pack(_NLMSGHDR.size + len(body), kind, flags, seq, 0) + body


def config_bind(
    queue: int, seq: int, copy_range: int = 0xFFFF, maxlen: int = 4096, fail_open: bool = True
) -> bytes:
    """Bind ``queue`` in copy-packet mode with a bounded length (one message, acked).

    With ``fail_open`` the kernel accepts packets instead of dropping them when the
    queue is full or the socket cannot take more (``NFQA_CFG_F_FAIL_OPEN``).
    """
    attrs = attr(NFQA_CFG_CMD, struct.pack("!BBH", NFQNL_CFG_CMD_BIND, 0, socket.AF_INET))
    attrs += attr(NFQA_CFG_PARAMS, struct.pack("!IB", copy_range, NFQNL_COPY_PACKET))
    attrs += attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", maxlen))
    flags = NFQA_CFG_F_FAIL_OPEN if fail_open else 0
    attrs += attr(NFQA_CFG_FLAGS, struct.pack("!I", flags))
    attrs += attr(NFQA_CFG_MASK, struct.pack("!I", NFQA_CFG_F_FAIL_OPEN))
    return message(NFQNL_MSG_CONFIG, queue, attrs, seq, NLM_F_REQUEST | NLM_F_ACK)


def config_unbind(queue: int, seq: int) -> bytes:
    """Unbind ``queue`` (the kernel drops what is still waiting for a verdict)."""
    attrs = attr(NFQA_CFG_CMD, struct.pack("!BBH", NFQNL_CFG_CMD_UNBIND, 0, socket.AF_INET))
    return message(NFQNL_MSG_CONFIG, queue, attrs, seq, NLM_F_REQUEST | NLM_F_ACK)


def verdict(queue: int, packet_id: int, decision: int, payload: bytes | None = None) -> bytes:
    """``NFQNL_MSG_VERDICT`` for one packet; ``payload`` replaces the packet's bytes."""
    attrs = attr(NFQA_VERDICT_HDR, struct.pack("!II", decision, packet_id))
    if payload is not None:
        attrs += attr(NFQA_PAYLOAD, payload)
    return message(NFQNL_MSG_VERDICT, queue, attrs, 0)


def parse_attrs(data: bytes, offset: int, end: int) -> dict[int, bytes]:
    """The attributes in ``data[offset:end]`` by type (the last one wins)."""
    found: dict[int, bytes] = {}
    while offset + _NLATTR.size <= end:
        length, kind = _NLATTR.unpack_from(data, offset)
        if length < _NLATTR.size or offset + length > end:
            break
        found[kind & _ATTR_TYPE_MASK] = data[offset + _NLATTR.size : offset + length]
        offset += _align(length)
    return found


def parse(data: bytes) -> list[QueuedPacket | NetlinkError]:
    """Every packet and error/ack message in one netlink datagram (others are skipped)."""
    out: list[QueuedPacket | NetlinkError] = []
    offset = 0
    while offset + _NLMSGHDR.size <= len(data):
        length, kind, _flags, seq, _pid = _NLMSGHDR.unpack_from(data, offset)
        if length < _NLMSGHDR.size or offset + length > len(data):
            break
        if kind == NLMSG_ERROR and length >= _NLMSGHDR.size + 4:
            (code,) = struct.unpack_from("=i", data, offset + _NLMSGHDR.size)
            out.append(NetlinkError(seq, code))
        elif kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET and length >= _HEADER:
            packet = _packet(parse_attrs(data, offset + _HEADER, offset + length))
            if packet is not None:
                out.append(packet)
        offset += _align(length)
    return out


def _packet(attrs: dict[int, bytes]) -> QueuedPacket | None:
    header = attrs.get(NFQA_PACKET_HDR)
    if header is None or len(header) < 7:
        return None
    packet_id, hw_protocol, hook = struct.unpack_from("!IHB", header)
    hwaddr = b""
    if (raw := attrs.get(NFQA_HWADDR)) is not None and len(raw) >= 4:
        (addrlen,) = struct.unpack_from("!H", raw)
        hwaddr = raw[4 : 4 + min(addrlen, 8)]
    return QueuedPacket(
        packet_id,
        hw_protocol,
        hook,
        attrs.get(NFQA_PAYLOAD, b""),
        _u32(attrs.get(NFQA_MARK)),
        _u32(attrs.get(NFQA_IFINDEX_INDEV)),
        _u32(attrs.get(NFQA_IFINDEX_OUTDEV)),
        hwaddr,
    )


def _u32(raw: bytes | None) -> int:
    return struct.unpack("!I", raw[:4])[0] if raw is not None and len(raw) >= 4 else 0


class NfQueue:
    """A bound NFQUEUE: :meth:`receive` packets, answer each with :meth:`verdict`.

    Args:
        queue: the queue number the firewall rule sends packets to (per network
            namespace: the socket belongs to the namespace it is created in).
        maxlen: packets the kernel keeps waiting for a verdict before it fails open.
        rcvbuf: socket receive buffer (bytes); a full buffer also fails open.
    """

    def __init__(self, queue: int, maxlen: int = 4096, rcvbuf: int = 4 << 20) -> None:
        self.queue = queue
        self.errors = 0
        """Asynchronous netlink errors seen (e.g. a verdict for an unknown packet)."""
        self._seq = 0
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        try:
            self._sock.bind((0, 0))
            self._buffer(rcvbuf)
            self._sock.setsockopt(SOL_NETLINK, NETLINK_NO_ENOBUFS, 1)
            self._request(lambda seq: config_bind(queue, seq, maxlen=maxlen))
            self._sock.setblocking(False)
        except BaseException:
            self._sock.close()
            raise

    def _buffer(self, size: int) -> None:
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, 33, size)  # SO_RCVBUFFORCE (root)
        except OSError:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)

    def _request(self, build: Callable[[int], bytes]) -> None:
        """Send one acked request and raise ``OSError`` when the kernel refuses it."""
        self._seq += 1
        seq = self._seq
        self._sock.settimeout(2.0)
        self._sock.send(build(seq))
        while True:
            for item in parse(self._sock.recv(1 << 16)):
                if isinstance(item, NetlinkError) and item.seq == seq:
                    if item.code:
                        reason = os.strerror(-item.code)
                        raise OSError(-item.code, f"nfqueue {self.queue}: {reason}")
                    return

    def fileno(self) -> int:
        """The netlink socket's descriptor (for selectors)."""
        return self._sock.fileno()

    def receive(self, most: int = 256) -> list[QueuedPacket]:
        """Packets waiting on the socket now, from ``most`` datagrams at most (never blocks).

        The bound lets a caller under a flood get back to its timers between batches.
        """
        packets: list[QueuedPacket] = []
        for _ in range(most):
            try:
                data = self._sock.recv(1 << 17)
            except BlockingIOError:
                return packets
            except OSError as exc:
                if exc.errno == errno.ENOBUFS:  # the kernel failed open meanwhile
                    continue
                raise
            for item in parse(data):
                if isinstance(item, QueuedPacket):
                    packets.append(item)
                elif item.code:
                    self.errors += 1
        return packets

    def verdict(self, packet_id: int, decision: int, payload: bytes | None = None) -> None:
        """Accept or drop one packet (``payload`` replaces its bytes)."""
        self._sock.send(verdict(self.queue, packet_id, decision, payload))

    def close(self) -> None:
        """Close the socket: the kernel unbinds the queue and drops what it still holds."""
        self._sock.close()
