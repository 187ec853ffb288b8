"""Sockets living in another network namespace, opened without spawning a process.

Why: the VIP sampler runs every 20 ms and the failover probes need sub-10 ms
precision; forking ``ip``/``curl`` per sample costs more than the period on a
2-core machine. ``setns(2)`` for a network namespace only affects the calling
thread, and a socket stays in the namespace it was created in, so a short-lived
helper thread can enter the namespace, create the socket and exit.
"""

from __future__ import annotations

import ctypes
import ipaddress
import os
import socket
import struct
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

CLONE_NEWNET = 0x40000000
NETNS_RUN_DIR = "/run/netns"

_RTM_NEWADDR = 20
_RTM_GETADDR = 22
_NLMSG_ERROR = 2
_NLMSG_DONE = 3
_NLM_F_REQUEST = 0x1
_NLM_F_DUMP = 0x300
_IFA_ADDRESS = 1
_IFA_LOCAL = 2
_NLMSG_HEADER = struct.Struct("=LHHLL")
_IFADDRMSG = struct.Struct("=BBBBI")
_RTATTR = struct.Struct("=HH")

_libc = ctypes.CDLL(None, use_errno=True)


def run_in_netns(namespace: str, func: Callable[[], T]) -> T:
    """Call ``func`` on a helper thread that has entered ``namespace``; return its result."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            fd = os.open(os.path.join(NETNS_RUN_DIR, namespace), os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    errno = ctypes.get_errno()
                    raise OSError(errno, f"setns({namespace}): {os.strerror(errno)}")
            finally:
                os.close(fd)
            outcome["value"] = func()
        except BaseException as exc:  # handed back to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=f"netns-{namespace}", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def socket_in_netns(
    namespace: str,
    family: int = socket.AF_INET,
    kind: int = socket.SOCK_STREAM,
    proto: int = 0,
) -> socket.socket:
    """Return a new socket that belongs to ``namespace``."""
    return run_in_netns(namespace, lambda: socket.socket(family, kind, proto))


class AddressWatcher:
    """Reads the IPv4 addresses of one namespace through a route-netlink dump.

    One netlink socket per namespace, kept open; each :meth:`addresses` call is a single
    request/response exchange (about 50 µs), cheap enough for a 20 ms sampler.
    """

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self._sock = socket_in_netns(namespace, socket.AF_NETLINK, socket.SOCK_RAW, 0)
        self._sock.bind((0, 0))
        self._sock.settimeout(1.0)
        self._seq = 0

    def close(self) -> None:
        """Close the netlink socket."""
        self._sock.close()

    def addresses(self) -> set[str]:
        """Return every IPv4 address configured in the namespace (all interfaces)."""
        self._seq += 1
        body = _IFADDRMSG.pack(socket.AF_INET, 0, 0, 0, 0)
        header = _NLMSG_HEADER.pack(
            _NLMSG_HEADER.size + len(body),
            _RTM_GETADDR,
            _NLM_F_REQUEST | _NLM_F_DUMP,
            self._seq,
            0,
        )
        self._sock.send(header + body)
        found: set[str] = set()
        while True:
            data = self._sock.recv(65536)
            if _parse_addr_dump(data, self._seq, found):
                return found


def _parse_addr_dump(data: bytes, seq: int, found: set[str]) -> bool:
    """Add the addresses in one netlink datagram to ``found``; True when the dump ended."""
    offset = 0
    while offset + _NLMSG_HEADER.size <= len(data):
        length, msg_type, _flags, msg_seq, _pid = _NLMSG_HEADER.unpack_from(data, offset)
        if length < _NLMSG_HEADER.size:
            return True
        if msg_seq == seq:
            if msg_type in (_NLMSG_DONE, _NLMSG_ERROR):
                return True
            if msg_type == _RTM_NEWADDR:
                found.update(_ipv4_attrs(data[offset + _NLMSG_HEADER.size : offset + length]))
        offset += (length + 3) & ~3
    return False


def _ipv4_attrs(payload: bytes) -> list[str]:
    """Return the IFA_LOCAL/IFA_ADDRESS values of one RTM_NEWADDR payload."""
    family = payload[0]
    if family != socket.AF_INET:
        return []
    values: list[str] = []
    offset = _IFADDRMSG.size
    while offset + _RTATTR.size <= len(payload):
        attr_len, attr_type = _RTATTR.unpack_from(payload, offset)
        if attr_len < _RTATTR.size:
            break
        if attr_type in (_IFA_LOCAL, _IFA_ADDRESS) and attr_len == _RTATTR.size + 4:
            raw = payload[offset + _RTATTR.size : offset + attr_len]
            values.append(str(ipaddress.IPv4Address(raw)))
        offset += (attr_len + 3) & ~3
    return values
