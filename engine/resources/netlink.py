"""Which IPv4 addresses an interface has, straight from the kernel (rtnetlink dump).

Asking ``ip`` costs a fork and an exec (5–10 ms); the status check before a takeover is on
the critical path between "peer dead" and the gratuitous ARP, so we read the address
table ourselves. Any problem returns None and the caller falls back to ``ip``.
"""

from __future__ import annotations

import os
import socket
import struct

NETLINK_ROUTE = 0
RTM_GETADDR = 22
RTM_NEWADDR = 20
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300
NLMSG_DONE = 3
NLMSG_ERROR = 2
IFA_ADDRESS = 1
IFA_LOCAL = 2
_NLMSGHDR = struct.Struct("=IHHII")
_IFADDRMSG = struct.Struct("=BBBBI")
_RTATTR = struct.Struct("=HH")


def _align(n: int) -> int:
    return (n + 3) & ~3


def ipv4_addresses() -> list[tuple[int, str]] | None:
    """``(ifindex, address)`` for every IPv4 address in this network namespace."""
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    except OSError:
        return None
    with sock:
        sock.settimeout(1.0)
        payload = _IFADDRMSG.pack(socket.AF_INET, 0, 0, 0, 0)
        header = _NLMSGHDR.pack(
            _NLMSGHDR.size + len(payload), RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 1, os.getpid()
        )
        try:
            sock.send(header + payload)
            return _read_dump(sock)
        except (OSError, struct.error):
            return None


def _read_dump(sock: socket.socket) -> list[tuple[int, str]] | None:
    found: list[tuple[int, str]] = []
    while True:
        data = sock.recv(65536)
        offset = 0
        while offset + _NLMSGHDR.size <= len(data):
            length, kind, _flags, _seq, _pid = _NLMSGHDR.unpack_from(data, offset)
            if length < _NLMSGHDR.size:
                return None
            if kind == NLMSG_DONE:
                return found
            if kind == NLMSG_ERROR:
                return None
            if kind == RTM_NEWADDR:
                found.extend(_parse_addr(data, offset + _NLMSGHDR.size, offset + length))
            offset += _align(length)


def _parse_addr(data: bytes, start: int, end: int) -> list[tuple[int, str]]:
    family, _prefix, _flags, _scope, index = _IFADDRMSG.unpack_from(data, start)
    if family != socket.AF_INET:
        return []
    pos = start + _IFADDRMSG.size
    local = address = None
    while pos + _RTATTR.size <= end:
        rta_len, rta_type = _RTATTR.unpack_from(data, pos)
        if rta_len < _RTATTR.size:
            break
        value = data[pos + _RTATTR.size : pos + rta_len]
        if rta_type == IFA_LOCAL and len(value) == 4:
            local = socket.inet_ntoa(value)
        elif rta_type == IFA_ADDRESS and len(value) == 4:
            address = socket.inet_ntoa(value)
        pos += _align(rta_len)
    chosen = local or address
    return [(index, chosen)] if chosen else []


def interface_has_address(ifname: str, ip: str) -> bool | None:
    """True/False when the kernel could be asked; None when not (use ``ip`` instead)."""
    try:
        index = socket.if_nametoindex(ifname)
    except OSError:
        return False
    addresses = ipv4_addresses()
    if addresses is None:
        return None
    return (index, ip) in addresses
