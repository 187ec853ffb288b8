"""The spec §4.7 packet (bravo → alpha status heartbeat), byte for byte."""

from __future__ import annotations

import re

from engine.protocol import (
    Field,
    Message,
    classic_signing_text,
    decode_datagram,
    encode_classic,
    encode_netstring_body,
    encode_wire,
)
from tests.protocol.helpers import anchor_auth

SRCUUID = bytes.fromhex("380887196a0c48469d1301612a2c49e0")

SPEC_HEXDUMP = """
00000000: 2323 230a 3131 3a28 3029 743d 7374 6174  ###.11:(0)t=stat
00000010: 7573 2c31 323a 2830 2973 743d 6163 7469  us,12:(0)st=acti
00000020: 7665 2c39 3a28 3029 6474 3d62 6238 2c31  ve,9:(0)dt=bb8,1
00000030: 333a 2830 2970 726f 746f 636f 6c3d 312c  3:(0)protocol=1,
00000040: 3132 3a28 3029 7372 633d 6272 6176 6f2c  12:(0)src=bravo,
00000050: 3237 3a28 3129 7372 6375 7569 643d 3808  27:(1)srcuuid=8.
00000060: 8719 6a0c 4846 9d13 0161 2a2c 49e0 2c39  ..j.HF...a*,I.,9
00000070: 3a28 3029 7365 713d 3239 2c31 343a 2830  :(0)seq=29,14:(0
00000080: 2968 673d 3662 3036 6464 3165 2c31 343a  )hg=6b06dd1e,14:
00000090: 2830 2974 733d 3662 3036 6464 3361 2c33  (0)ts=6b06dd3a,3
000000a0: 323a 2830 296c 643d 302e 3036 2030 2e32  2:(0)ld=0.06 0.2
000000b0: 3020 302e 3039 2031 2f31 3033 2031 3631  0 0.09 1/103 161
000000c0: 3839 2c38 3a28 3029 7474 6c3d 332c 3530  89,8:(0)ttl=3,50
000000d0: 3a28 3029 6175 7468 3d31 2030 3930 3835  :(0)auth=1 09085
000000e0: 3161 3634 3036 6166 6634 3333 3561 3632  1a6406aff4335a62
000000f0: 3739 3063 3435 3235 6432 3133 6561 3938  790c4525d213ea98
00000100: 3839 622c 2525 250a 3432 3a31 2063 3139  89b,%%%.42:1 c19
00000110: 6564 3931 3566 3463 3639 6530 3662 6434  ed915f4c69e06bd4
00000120: 6434 3062 3662 3537 3463 3762 3433 6635  d40b6b574c7b43f5
00000130: 3133 3862 322c                           138b2,
"""

SIGNING_TEXT = (
    b"t=status\nst=active\ndt=bb8\nprotocol=1\nsrc=bravo\n"
    b"(1)srcuuid=OAiHGWoMSEadEwFhKixJ4A==\nseq=29\nhg=6b06dd1e\nts=6b06dd3a\n"
    b"ld=0.06 0.20 0.09 1/103 16189\nttl=3\n"
)
EMBEDDED = "1 090851a6406aff4335a62790c4525d213ea9889b"
TRAILER = "1 c19ed915f4c69e06bd4d40b6b574c7b43f5138b2"
CLASSIC_207 = b">>>\n" + SIGNING_TEXT + b"auth=" + EMBEDDED.encode() + b"\n<<<\n\0"


def spec_payload() -> bytes:
    """The 310 bytes of the spec's xxd dump (hex columns only)."""
    hex_text = "".join(re.sub(r"\s", "", line[10:49]) for line in SPEC_HEXDUMP.strip().splitlines())
    return bytes.fromhex(hex_text)


def example_message() -> Message:
    return Message.of(
        ("t", "status"),
        ("st", "active"),
        ("dt", "bb8"),
        ("protocol", "1"),
        ("src", "bravo"),
        ("srcuuid", SRCUUID),
        ("seq", "29"),
        ("hg", "6b06dd1e"),
        ("ts", "6b06dd3a"),
        ("ld", "0.06 0.20 0.09 1/103 16189"),
        ("ttl", "3"),
    )


def test_spec_payload_is_310_bytes() -> None:
    assert len(spec_payload()) == 310


def test_classic_signing_text_and_embedded_hmac() -> None:
    msg = example_message()
    assert classic_signing_text(msg) == SIGNING_TEXT
    assert anchor_auth().token(SIGNING_TEXT) == EMBEDDED


def test_trailer_hmac_covers_body_through_terminator() -> None:
    payload = spec_payload()
    body = payload[: 0x107 + 1]
    assert body.endswith(b"%%%\n")
    assert anchor_auth().token(body) == TRAILER


def test_encode_wire_is_byte_identical_to_the_capture() -> None:
    msg = example_message()
    wire = encode_wire(msg, anchor_auth())
    assert wire == spec_payload()
    assert msg.get("auth") == EMBEDDED
    assert msg.fields[-1].name == "auth"


def test_netstring_body_alone() -> None:
    msg = example_message()
    msg.append("auth", EMBEDDED)
    assert encode_netstring_body(msg) == spec_payload()[:0x108]


def test_encode_wire_replaces_a_stale_auth_field_in_place() -> None:
    fields = example_message().fields
    msg = Message([*fields[:2], Field("auth", "1 stale"), *fields[2:]])
    encode_wire(msg, anchor_auth())
    assert [f.name for f in msg.fields].count("auth") == 1
    assert msg.fields[2].name == "auth"
    assert msg.fields[2].value == EMBEDDED


def test_classic_form_207_bytes() -> None:
    classic = encode_classic(example_message(), anchor_auth(), nul=True)
    assert classic == CLASSIC_207
    assert len(classic) == 207
    assert encode_classic(example_message(), anchor_auth()) == CLASSIC_207[:-1]


def test_classic_without_auth_has_no_auth_line() -> None:
    assert encode_classic(example_message(), None) == b">>>\n" + SIGNING_TEXT + b"<<<\n"


def test_decode_spec_payload_verifies_and_keeps_embedded_auth() -> None:
    msg = decode_datagram(spec_payload(), anchor_auth())
    expected = example_message()
    expected.append("auth", EMBEDDED)
    assert msg == expected
    assert msg.get_bytes("srcuuid") == SRCUUID


def test_decode_classic_207_byte_form() -> None:
    for data in (CLASSIC_207, CLASSIC_207[:-1]):
        msg = decode_datagram(data, anchor_auth())
        expected = example_message()
        expected.append("auth", EMBEDDED)
        assert msg == expected


def test_classic_and_netstring_decode_to_the_same_message() -> None:
    auth = anchor_auth()
    assert decode_datagram(CLASSIC_207, auth) == decode_datagram(spec_payload(), auth)
