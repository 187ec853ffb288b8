"""The emulator's pure parts: netem spec parsing, per-packet decisions, bit flips, netlink."""

from __future__ import annotations

import math
import random
import socket
import struct

import pytest

from lab import nfqueue
from lab.netemu import Emulator, NetemSpec, flip_bit, udp_checksum


def udp_packet(payload: bytes, checksum: bool = True) -> bytes:
    """An IPv4/UDP datagram 10.99.0.1:694 -> 10.99.0.2:694 with a valid UDP checksum."""
    length = 8 + len(payload)
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + length, 1, 0x4000, 64, 17, 0,
                         socket.inet_aton("10.99.0.1"), socket.inet_aton("10.99.0.2"))  # fmt: skip
    packet = header + struct.pack("!HHHH", 694, 694, length, 0) + payload
    if not checksum:
        return packet
    return packet[:26] + struct.pack("!H", udp_checksum(packet, 20)) + packet[28:]


def checksum_verifies(packet: bytes) -> bool:
    """The receiver's check: the ones' sum over pseudo header and segment is 0xffff."""
    length = struct.unpack_from("!H", packet, 24)[0]
    data = packet[12:20] + struct.pack("!BBH", 0, 17, length) + packet[20 : 20 + length]
    data += b"\0" * (len(data) % 2)
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total == 0xFFFF


# ------------------------------------------------------------------------------- spec


def test_spec_parses_the_kinds_the_lab_uses() -> None:
    assert NetemSpec.parse("delay 300ms 200ms") == NetemSpec(delay=0.3, jitter=0.2)
    assert NetemSpec.parse("delay 3000ms").delay == pytest.approx(3.0)
    assert NetemSpec.parse("loss 30%").loss == pytest.approx(0.3)
    assert NetemSpec.parse("loss random 5% 25%").loss_corr == pytest.approx(0.25)
    assert NetemSpec.parse("corrupt 5%").corrupt == pytest.approx(0.05)
    assert NetemSpec.parse("duplicate 100%").duplicate == 1.0
    combo = NetemSpec.parse("delay 10ms 5ms 20% distribution uniform reorder 25% gap 3 limit 50")
    assert (combo.delay_corr, combo.reorder, combo.gap, combo.limit) == (0.2, 0.25, 3, 50)
    assert NetemSpec.parse("delay 1s reorder 10%").gap == 1  # as tc sets it


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("rate 1mbit", "unsupported option 'rate'"),
        ("loss state 10%", "loss model"),
        ("delay 10ms 5ms distribution normal", "uniform only"),
        ("reorder 25%", "without specifying some delay"),
        ("loss 130%", "bad value for loss"),
        ("delay soon", "bad value for delay"),
        ("", "empty"),
    ],
)
def test_spec_refuses_what_the_emulator_cannot_do(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        NetemSpec.parse(spec)


# -------------------------------------------------------------------------- decisions


def decide(spec: str, count: int, seed: int = 3) -> list[tuple[float, ...]]:
    emulator = Emulator(NetemSpec.parse(spec), random.Random(seed))
    packet = udp_packet(b"x" * 32)
    return [tuple(r.at for r in emulator.decide(packet, 0.0).releases) for _ in range(count)]


def test_loss_drops_the_configured_share() -> None:
    count = 10_000
    kept = sum(bool(fate) for fate in decide("loss 30%", count))
    assert abs((count - kept) - 0.3 * count) <= 4 * math.sqrt(count * 0.3 * 0.7)


def test_jitter_is_uniform_around_the_delay() -> None:
    times = [fate[0] for fate in decide("delay 300ms 200ms", 5000)]
    assert 0.1 <= min(times) < 0.11 and 0.49 < max(times) <= 0.5
    assert sum(times) / len(times) == pytest.approx(0.3, abs=0.01)


def test_reorder_sends_a_share_at_once() -> None:
    immediate = sum(fate[0] == 0.0 for fate in decide("delay 100ms reorder 25%", 4000))
    assert abs(immediate - 1000) <= 4 * math.sqrt(4000 * 0.25 * 0.75)


def test_duplicate_makes_a_copy_that_is_shaped_again() -> None:
    emulator = Emulator(NetemSpec.parse("duplicate 100% delay 50ms 10ms"), random.Random(1))
    fate = emulator.decide(udp_packet(b"hello"), 10.0)
    copies = [r for r in fate.releases if r.copy]
    assert len(fate.releases) == 2 and len(copies) == 1
    assert copies[0].payload == udp_packet(b"hello")  # the runner injects these bytes
    assert all(10.04 <= r.at <= 10.06 for r in fate.releases)


def test_loss_and_duplicate_together_follow_netem() -> None:
    fates = decide("duplicate 50% loss 50%", 4000)
    sizes = [len(f) for f in fates]
    # netem: count = 1 + dup - loss; a clone can be lost again (loss applies twice)
    assert sizes.count(0) == pytest.approx(1000, abs=130)
    assert sizes.count(2) == pytest.approx(500, abs=100)


def test_limit_drops_beyond_what_may_wait() -> None:
    emulator = Emulator(NetemSpec.parse("delay 1s limit 2"), random.Random(1))
    emulator.held = 2
    assert emulator.decide(udp_packet(b"x"), 0.0).dropped


# ------------------------------------------------------------------------- corruption


def test_corrupt_flips_one_payload_bit_and_fixes_the_checksum() -> None:
    rng = random.Random(5)
    for _ in range(200):
        payload = rng.randbytes(rng.randrange(1, 300))
        packet = udp_packet(payload)
        damaged = flip_bit(packet, rng)
        assert damaged is not None and len(damaged) == len(packet)
        assert damaged[:26] == packet[:26], "IP and UDP headers (but the checksum) intact"
        diff = int.from_bytes(damaged[28:], "big") ^ int.from_bytes(packet[28:], "big")
        assert diff.bit_count() == 1
        assert checksum_verifies(damaged)


def test_corrupt_keeps_an_absent_checksum_absent() -> None:
    damaged = flip_bit(udp_packet(b"abc", checksum=False), random.Random(1))
    assert damaged is not None and damaged[26:28] == b"\0\0"


def test_corrupt_leaves_other_protocols_checksums_wrong_and_skips_empty() -> None:
    icmp = udp_packet(b"ping")[:9] + b"\x01" + udp_packet(b"ping")[10:]
    damaged = flip_bit(icmp, random.Random(2))
    assert damaged is not None and damaged[:20] == icmp[:20] and damaged != icmp
    assert flip_bit(udp_packet(b""), random.Random(2)) is None
    assert flip_bit(b"\x60" + bytes(39), random.Random(2)) is None  # IPv6: not shaped


# ---------------------------------------------------------------------------- netlink


def test_bind_message_layout() -> None:
    data = nfqueue.config_bind(4200, seq=7, maxlen=100)
    length, kind, flags, seq, _pid = struct.unpack_from("=IHHII", data)
    assert (length, kind, seq) == (len(data), 0x0302, 7)
    assert flags == nfqueue.NLM_F_REQUEST | nfqueue.NLM_F_ACK
    assert struct.unpack_from("!BBH", data, 16) == (socket.AF_UNSPEC, 0, 4200)
    attrs = nfqueue.parse_attrs(data, 20, len(data))
    assert attrs[nfqueue.NFQA_CFG_CMD][0] == nfqueue.NFQNL_CFG_CMD_BIND
    assert attrs[nfqueue.NFQA_CFG_PARAMS] == struct.pack("!IB", 0xFFFF, 2)
    assert attrs[nfqueue.NFQA_CFG_QUEUE_MAXLEN] == struct.pack("!I", 100)
    assert attrs[nfqueue.NFQA_CFG_FLAGS] == struct.pack("!I", nfqueue.NFQA_CFG_F_FAIL_OPEN)


def test_verdict_carries_id_and_replacement_payload() -> None:
    data = nfqueue.verdict(9, packet_id=77, decision=nfqueue.NF_ACCEPT, payload=b"new!x")
    assert struct.unpack_from("=H", data, 4)[0] == 0x0301
    attrs = nfqueue.parse_attrs(data, 20, len(data))
    assert attrs[nfqueue.NFQA_VERDICT_HDR] == struct.pack("!II", 1, 77)
    assert attrs[nfqueue.NFQA_PAYLOAD] == b"new!x"


def test_parse_packet_and_error_messages() -> None:
    packet = udp_packet(b"hb")
    attrs = nfqueue.attr(nfqueue.NFQA_PACKET_HDR, struct.pack("!IHB", 5, 0x0800, 1))
    attrs += nfqueue.attr(nfqueue.NFQA_HWADDR, struct.pack("!HH", 6, 0) + bytes(range(6)) + b"\0\0")
    attrs += nfqueue.attr(nfqueue.NFQA_MARK, struct.pack("!I", 3))
    attrs += nfqueue.attr(nfqueue.NFQA_PAYLOAD, packet)
    message = nfqueue.message(nfqueue.NFQNL_MSG_PACKET, 9, attrs, seq=0)
    error = struct.pack("=IHHII", 36, nfqueue.NLMSG_ERROR, 0, 4, 0) + struct.pack("=i", -16)
    error += bytes(16)
    [got, err] = nfqueue.parse(message + error)
    assert got == nfqueue.QueuedPacket(5, 0x0800, 1, packet, 3, 0, 0, bytes(range(6)))
    assert err == nfqueue.NetlinkError(4, -16)
    assert nfqueue.parse(message[:-3]) == []  # truncated: ignored, not a crash
