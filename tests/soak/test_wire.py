"""The wire measurements of the soak scenarios, on captured and hand-built packets."""

from __future__ import annotations

import math
import socket
import struct

from engine.protocol.codec import decode_datagram, encode_netstring_body
from engine.protocol.message import Message
from lab.capture import UdpDatagram, parse_udp
from tests.soak.wire import (
    ACK_FIXTURE,
    STATUS_FIXTURE,
    Traffic,
    compare_fields,
    field_sizes,
    send_lag,
    wire_floor,
)


def _frame(payload: bytes, source: str = "10.99.0.1", dport: int = 694) -> bytes:
    """Ethernet + IPv4 (20 B header) + UDP around ``payload``."""
    ip_length = 20 + 8 + len(payload)
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, ip_length, 0, 0, 64, 17, 0,
        socket.inet_aton(source), socket.inet_aton("10.99.0.2"),
    )  # fmt: skip
    udp = struct.pack("!HHHH", 40000, dport, 8 + len(payload), 0)
    return b"\x00" * 12 + b"\x08\x00" + ip + udp + payload + b"\x00" * 4  # padded, as on a wire


def test_parse_udp_reads_addresses_ports_and_the_payload_only() -> None:
    status = STATUS_FIXTURE.read_bytes()
    datagram = parse_udp(_frame(status), 1.5, outgoing=True)
    assert datagram is not None
    assert (datagram.source, datagram.dest, datagram.dport) == ("10.99.0.1", "10.99.0.2", 694)
    assert datagram.payload == status and datagram.ip_length == 28 + len(status)
    assert datagram.message_type == "status" and datagram.outgoing and datagram.time == 1.5
    assert parse_udp(b"\x00" * 12 + b"\x08\x06" + b"\x00" * 40) is None  # ARP


def test_message_type_in_both_wire_forms() -> None:
    ack = UdpDatagram(0.0, False, "a", "b", 1, 694, 0, ACK_FIXTURE.read_bytes())
    assert ack.message_type == "NS_ackmsg"
    classic = UdpDatagram(0.0, False, "a", "b", 1, 694, 0, b">>>\nt=status\nst=active\n<<<\n")
    assert classic.message_type == "status"
    assert UdpDatagram(0.0, False, "a", "b", 1, 694, 0, b"garbage").message_type is None


def _status_at(when: float, source: str = "10.99.0.1") -> UdpDatagram:
    return UdpDatagram(when, True, source, "10.99.0.2", 1, 694, 338, STATUS_FIXTURE.read_bytes())


def test_send_lag_is_the_interval_beyond_the_earliest_schedule() -> None:
    earliest = [_status_at(t) for t in (0.0, 0.19, 0.38)]  # keepalive 200 ms, 5 % early
    assert math.isclose(send_lag(earliest, "10.99.0.1", 0.2, 0.05), 0.0, abs_tol=1e-9)
    full = [*earliest, _status_at(0.58)]  # not early at all: up to 10 ms may be lag
    assert math.isclose(send_lag(full, "10.99.0.1", 0.2, 0.05), 0.01, abs_tol=1e-9)
    late = [*full, _status_at(0.58 + 0.19 + 0.25)]  # one send 250 ms late
    assert math.isclose(send_lag(late, "10.99.0.1", 0.2, 0.05), 0.25, abs_tol=1e-9)
    assert send_lag(late, "10.99.0.9", 0.2, 0.05) == math.inf  # nothing from that sender


def test_traffic_rates_and_the_wire_floor() -> None:
    traffic = Traffic(2.0, [_status_at(0.0), _status_at(1.0)])
    assert traffic.bytes_per_s == len(STATUS_FIXTURE.read_bytes())
    assert traffic.largest == 338 and traffic.by_type() == {"status": (2, 310)}
    floor = wire_floor(1.0)
    assert floor == 310 + 285 / 10  # one status per keepalive, an ACK per 10
    assert 8 * floor > 2000  # the §6 budget is below what the wire format needs


def test_compare_fields_names_what_our_status_adds() -> None:
    real = STATUS_FIXTURE.read_bytes()
    assert compare_fields(real, real).endswith("same fields, same sizes")
    msg = decode_datagram(real, None)
    ours = Message(list(msg.fields))
    ours.append("hears", "bravo")
    ours_bytes = encode_netstring_body(ours)
    assert field_sizes(ours_bytes)["hears"] == len("14:(0)hears=bravo,")
    text = compare_fields(ours_bytes, real)
    assert "hears 18 B (ours only)" in text
