"""A minimal reader for the classic libpcap capture files of the wire fixtures.

Only what the fixtures use: Ethernet link type, IPv4, UDP. Anything else in a capture
(ARP, other protocols) is skipped; a malformed record is an error, never silently dropped,
so a truncated copy of a capture fails the tests instead of shrinking them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

LINKTYPE_ETHERNET = 1
ETHERTYPE_IPV4 = 0x0800
IPPROTO_UDP = 17
_MAGICS = {
    b"\xd4\xc3\xb2\xa1": "<",  # microsecond timestamps, little-endian
    b"\xa1\xb2\xc3\xd4": ">",
    b"\x4d\x3c\xb2\xa1": "<",  # nanosecond timestamps
    b"\xa1\xb2\x3c\x4d": ">",
}


@dataclass(frozen=True, slots=True)
class UdpDatagram:
    """One captured UDP datagram: addresses, ports and the exact payload bytes."""

    index: int
    """Position of its frame in the capture (0-based), for test ids and messages."""
    src: str
    sport: int
    dst: str
    dport: int
    payload: bytes


def read_frames(path: Path) -> list[bytes]:
    """Every captured frame of an Ethernet pcap file, in order."""
    data = path.read_bytes()
    order = _MAGICS.get(data[:4])
    if order is None:
        raise ValueError(f"{path}: not a pcap file (magic {data[:4].hex()})")
    linktype = struct.unpack_from(order + "I", data, 20)[0]
    if linktype != LINKTYPE_ETHERNET:
        raise ValueError(f"{path}: link type {linktype}, only Ethernet (1) is read")
    frames: list[bytes] = []
    offset = 24
    while offset < len(data):
        if offset + 16 > len(data):
            raise ValueError(f"{path}: truncated record header at byte {offset}")
        incl_len, orig_len = struct.unpack_from(order + "II", data, offset + 8)
        offset += 16
        if incl_len != orig_len or offset + incl_len > len(data):
            raise ValueError(f"{path}: frame {len(frames)} truncated ({incl_len}/{orig_len})")
        frames.append(data[offset : offset + incl_len])
        offset += incl_len
    return frames


def udp_datagram(index: int, frame: bytes) -> UdpDatagram | None:
    """The UDP datagram in an Ethernet/IPv4 frame, or None for any other frame."""
    if len(frame) < 14 or struct.unpack_from("!H", frame, 12)[0] != ETHERTYPE_IPV4:
        return None
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    total_len, frag, proto = struct.unpack_from("!H2xH1xB", ip, 2)
    if proto != IPPROTO_UDP:
        return None
    if frag & 0x3FFF:
        raise ValueError(f"frame {index}: IP fragment; the reader does not reassemble")
    sport, dport, udp_len = struct.unpack_from("!HHH", ip, ihl)
    if udp_len != total_len - ihl or ihl + udp_len > len(ip):
        raise ValueError(f"frame {index}: UDP length {udp_len} disagrees with IP {total_len}")
    src = ".".join(str(b) for b in ip[12:16])
    dst = ".".join(str(b) for b in ip[16:20])
    return UdpDatagram(index, src, sport, dst, dport, ip[ihl + 8 : ihl + udp_len])


def udp_datagrams(path: Path) -> list[UdpDatagram]:
    """Every UDP datagram of a capture, in capture order."""
    found = (udp_datagram(i, frame) for i, frame in enumerate(read_frames(path)))
    return [d for d in found if d is not None]
