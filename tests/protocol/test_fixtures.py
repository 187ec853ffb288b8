"""Every packet captured from real Heartbeat 3.0.6 decodes, verifies and re-encodes exactly."""

from __future__ import annotations

import re
from hashlib import sha256
from pathlib import Path

import pytest

from engine.errors import RemoteProtocolError
from engine.protocol import FieldType, classic_signing_text, decode_datagram, encode_wire
from engine.protocol.message import Message
from tests.protocol.helpers import (
    FIXTURE_DIR,
    PCAP_DIR,
    SHARED_FIXTURE_DIR,
    fixture_files,
    make_auth,
    read_authkeys,
)
from tests.protocol.pcap import UdpDatagram, udp_datagrams

FIXTURES = fixture_files()
IDS = [p.stem for p in FIXTURES]
CAPTURES = sorted(PCAP_DIR.glob("*.pcap"))
HEARTBEAT_PORT = 694
NODE_ADDRESSES = {"10.99.0.1": "alpha", "10.99.0.2": "bravo"}
"""The captured cluster (wire-fixtures/README.md)."""
CAPTURE_DATAGRAMS = {
    "killmaster-fast.udp694+arp.pcap": 28,
    "killmaster-slow.udp694+arp.pcap": 11,
    "standby-slow.udp694+arp.pcap": 16,
}
"""UDP datagrams per capture (55 in all); the rest of the frames are ARP."""


def test_fixture_copies_are_present() -> None:
    assert len(FIXTURES) >= 10
    assert (FIXTURE_DIR / "authkeys").is_file()


def test_fixture_copies_match_the_recorded_checksums() -> None:
    """The copies are the captured originals, byte for byte (``SHA256SUMS`` was written
    from ``shared/spec/wire-fixtures``); where ``../shared`` is present it is checked
    against the same list, so the two cannot drift apart unnoticed."""
    sums = read_checksums(FIXTURE_DIR / "SHA256SUMS")
    assert sorted(sums) == sorted(
        [p.name for p in FIXTURES] + ["authkeys"] + [f"pcap/{p.name}" for p in CAPTURES]
    )
    for name, digest in sums.items():
        assert sha256((FIXTURE_DIR / name).read_bytes()).hexdigest() == digest, name
    if SHARED_FIXTURE_DIR.is_dir():
        for name, digest in sums.items():
            assert sha256((SHARED_FIXTURE_DIR / name).read_bytes()).hexdigest() == digest, name


def read_checksums(path: Path) -> dict[str, str]:
    """``sha256sum`` output: file name -> hex digest."""
    pairs = (line.split(maxsplit=1) for line in path.read_text().splitlines() if line.strip())
    return {name.strip(): digest for digest, name in pairs}


def assert_round_trip(data: bytes) -> Message:
    """Decode with the fixture key (verifies the trailer), verify the embedded classic
    ``auth`` field too, and re-encode byte-identical with and without that field."""
    auth = read_authkeys(FIXTURE_DIR / "authkeys")
    msg = decode_datagram(data, auth)
    assert msg.fields[0].name == "t"
    assert msg.get("src") in {"alpha", "bravo"}
    uuid = msg.get_bytes("srcuuid")
    assert uuid is not None and len(uuid) == 16
    embedded = msg.get("auth")
    assert embedded is not None
    # The embedded classic auth field verifies too (both authenticators, as the README says).
    auth.verify(classic_signing_text(msg), embedded)

    without_auth = msg.copy()
    without_auth.remove("auth")
    assert encode_wire(without_auth, auth) == data
    assert without_auth.get("auth") == embedded
    assert encode_wire(msg.copy(), auth) == data
    return msg


@pytest.mark.parametrize("path", FIXTURES, ids=IDS)
def test_fixture_decodes_verifies_and_reencodes(path: Path) -> None:
    assert_round_trip(path.read_bytes())


@pytest.mark.parametrize("path", FIXTURES, ids=IDS)
def test_fixture_binary_fields_are_raw_bytes(path: Path) -> None:
    msg = decode_datagram(path.read_bytes(), None)
    for f in msg.fields:
        if f.name.endswith("uuid"):
            assert f.type is FieldType.BINARY and isinstance(f.value, bytes)
        else:
            assert f.type is FieldType.STRING and isinstance(f.value, str)


def _value_offset(data: bytes, name: bytes) -> int:
    """Offset of the first byte of a field's value."""
    return data.index(b")" + name + b"=") + len(name) + 2


@pytest.mark.parametrize("path", FIXTURES, ids=IDS)
def test_tampered_value_is_bad_auth(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[_value_offset(bytes(data), b"t")] ^= 0x01
    with pytest.raises(RemoteProtocolError) as err:
        decode_datagram(bytes(data), read_authkeys(FIXTURE_DIR / "authkeys"))
    assert err.value.reason == "bad_auth"


@pytest.mark.parametrize("path", FIXTURES, ids=IDS)
def test_tampered_embedded_auth_field_is_ignored_on_netstring(path: Path) -> None:
    """The trailer is what authenticates netstring; the embedded field is covered by it."""
    data = bytearray(path.read_bytes())
    data[_value_offset(bytes(data), b"auth") + 5] ^= 0x01
    with pytest.raises(RemoteProtocolError) as err:
        decode_datagram(bytes(data), read_authkeys(FIXTURE_DIR / "authkeys"))
    assert err.value.reason == "bad_auth"


def test_fixture_with_wrong_key_is_bad_auth() -> None:
    data = FIXTURES[0].read_bytes()
    with pytest.raises(RemoteProtocolError) as err:
        decode_datagram(data, make_auth((1, "sha1", b"not-the-key")))
    assert err.value.reason == "bad_auth"


def test_fixture_with_unknown_index_is_unknown_key() -> None:
    data = FIXTURES[0].read_bytes()
    with pytest.raises(RemoteProtocolError) as err:
        decode_datagram(data, make_auth((2, "sha1", b"hbsim-anchor-sha1-key")))
    assert err.value.reason == "unknown_key"


@pytest.mark.parametrize("path", FIXTURES, ids=IDS)
def test_fixture_reencodes_with_other_methods(path: Path) -> None:
    """md5, crc and sha256 round trips on real message shapes."""
    msg = decode_datagram(path.read_bytes(), None)
    for method, secret in (("md5", b"m"), ("crc", b""), ("sha256", b"s" * 40)):
        auth = make_auth((5, method, secret))
        wire = encode_wire(msg.copy(), auth)
        back = decode_datagram(wire, auth)
        token = back.get("auth")
        assert token is not None and token.startswith("5 ")
        auth.verify(classic_signing_text(back), token)
        assert encode_wire(back.copy(), auth) == wire


def _capture_datagrams() -> list[tuple[str, UdpDatagram]]:
    return [(path.name, d) for path in CAPTURES for d in udp_datagrams(path)]


CAPTURED = _capture_datagrams()


def test_captures_hold_every_heartbeat_datagram() -> None:
    """All three captures are read, and none lost or gained a datagram."""
    counts = {name: sum(1 for n, _ in CAPTURED if n == name) for name in CAPTURE_DATAGRAMS}
    assert [p.name for p in CAPTURES] == sorted(CAPTURE_DATAGRAMS)
    assert counts == CAPTURE_DATAGRAMS
    assert len(CAPTURED) == 55


@pytest.mark.parametrize(
    ("capture", "datagram"),
    CAPTURED,
    ids=[f"{name.split('.')[0]}-frame{d.index}" for name, d in CAPTURED],
)
def test_captured_datagram_decodes_verifies_and_reencodes(
    capture: str, datagram: UdpDatagram
) -> None:
    assert datagram.dport == HEARTBEAT_PORT
    msg = assert_round_trip(datagram.payload)
    # The message names the node whose address sent it, and goes to the other one.
    assert msg.get("src") == NODE_ADDRESSES[datagram.src]
    assert datagram.dst in NODE_ADDRESSES and datagram.dst != datagram.src


@pytest.mark.parametrize("path", CAPTURES, ids=[p.name.split(".")[0] for p in CAPTURES])
def test_captured_sequence_numbers_run_without_gaps(path: Path) -> None:
    """Per sender: one generation, and ``seq`` +1 for every numbered message (NS_* carry
    none), as the receive pipeline expects from a lossless capture."""
    last: dict[str, int] = {}
    for datagram in udp_datagrams(path):
        msg = decode_datagram(datagram.payload, None)
        src, hg, seq = msg.get("src"), msg.get("hg"), msg.get("seq")
        assert src is not None and hg is not None
        assert NODE_ADDRESSES[datagram.src] == src
        if (msg.type or "").startswith("NS_"):
            assert seq is None
            continue
        assert seq is not None
        if src in last:
            assert int(seq, 16) == last[src] + 1, f"frame {datagram.index}: {src} seq {seq}"
        last[src] = int(seq, 16)
    assert last, "no numbered message in the capture"


@pytest.mark.parametrize("path", FIXTURES, ids=IDS)
def test_single_fixture_is_the_numbered_datagram_of_its_capture(path: Path) -> None:
    """``<capture>-NNNN-<type>.bin`` is the NNNN-th UDP datagram of ``<capture>``."""
    named = re.fullmatch(r"(?P<capture>.+)-(?P<number>\d{4})-(?P<type>.+)", path.stem)
    assert named is not None, path.name
    datagrams = udp_datagrams(PCAP_DIR / f"{named['capture']}.udp694+arp.pcap")
    assert datagrams[int(named["number"])].payload == path.read_bytes()
    assert decode_datagram(path.read_bytes(), None).type == named["type"]


@pytest.mark.parametrize("path", FIXTURES, ids=IDS)
def test_msgfmt_netstring_leaves_out_the_embedded_auth_field(path: Path) -> None:
    """``msgfmt netstring``: the same datagram minus the classic ``auth`` field (spec §4.4
    step 3 is skipped); the trailer alone authenticates it, as receivers check it."""
    auth = read_authkeys(FIXTURE_DIR / "authkeys")
    msg = decode_datagram(path.read_bytes(), auth)
    msg.remove("auth")
    wire = encode_wire(msg.copy(), auth, embed_auth=False)
    assert b"auth=" not in wire
    back = decode_datagram(wire, auth)
    assert "auth" not in back and list(back.pairs()) == list(msg.pairs())
    assert encode_wire(back, auth, embed_auth=False) == wire
