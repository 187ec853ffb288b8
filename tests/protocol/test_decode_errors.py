"""Hostile and broken input: every failure is a RemoteProtocolError with the right reason."""

from __future__ import annotations

import pytest

from engine.errors import LocalProtocolError, RemoteProtocolError
from engine.protocol import (
    MAX_DATAGRAM,
    FieldType,
    Message,
    decode_datagram,
    encode_classic,
    encode_netstring_body,
    encode_wire,
)
from engine.protocol.auth import Authenticator
from tests.protocol.helpers import anchor_auth, make_auth
from tests.protocol.test_worked_example import CLASSIC_207, example_message, spec_payload


def reason_of(data: bytes, auth: Authenticator | None = None) -> tuple[str, str]:
    with pytest.raises(RemoteProtocolError) as err:
        decode_datagram(data, auth)
    assert err.value.detail, "every rejection needs a specific detail"
    return err.value.reason, err.value.detail


def ns(*items: bytes, trailer: bytes = b"") -> bytes:
    """A netstring body from raw items (each wrapped as ``len:item,``)."""
    return b"###\n" + b"".join(b"%d:%s," % (len(i), i) for i in items) + b"%%%\n" + trailer


@pytest.mark.parametrize(
    ("data", "reason", "detail"),
    [
        (b"", "empty", "zero-length"),
        (b"\0", "empty", "zero-length"),
        (b"###\n%%%\n", "empty", "no fields"),
        (b">>>\n<<<\n", "empty", "no fields"),
        (b">>>\n\n\n<<<\n\0", "empty", "no fields"),
        (b"GET / HTTP/1.0\r\n", "bad_format", "expected '###\\n' or '>>>\\n'"),
        (b"##\n", "bad_format", "starts with"),
        (b"###\n", "bad_format", "missing '%%%\\n'"),
        (b"###\n11:(0)t=status,", "bad_format", "missing '%%%\\n'"),
        (b"###\n99999:(0)t=x,%%%\n", "bad_format", "netstring length 99999 exceeds remaining"),
        (b"###\n12345678:(0)t=x,%%%\n", "bad_format", "more than 7 digits"),
        (b"###\n1234", "bad_format", "has no ':'"),
        (b"###\n+8:(0)t=xyz,%%%\n", "bad_format", "expected a decimal netstring length"),
        (b"###\n-8:(0)t=xyz,%%%\n", "bad_format", "expected a decimal netstring length"),
        (b"###\n08:(0)t=xyz,%%%\n", "bad_format", "leading zero"),
        (b"###\n:(0)t=xy,%%%\n", "bad_format", "expected a decimal netstring length"),
        (b"###\n 8:(0)t=xyz,%%%\n", "bad_format", "expected a decimal netstring length"),
        (b"###\n8;(0)t=xyz,%%%\n", "bad_format", "expected a decimal netstring length"),
        (b"###\n8:(0)t=xyz;%%%\n", "bad_format", "expected ',' after 8-byte netstring"),
        (b"###\n7:(0)t=xyz,%%%\n", "bad_format", "expected ','"),
        (b"###\n8:(0)t=xyz,", "bad_format", "missing '%%%\\n'"),
        (ns(b"t=status"), "bad_format", "does not start with '(t)name='"),
        (ns(b"(0"), "bad_format", "does not start with '(t)name='"),
        (ns(b"[0]t=status"), "bad_format", "does not start with '(t)name='"),
        (ns(b"(0)t"), "bad_format", "does not start with '(t)name='"),
        (ns(b"(0)tstatus"), "bad_format", "has no '='"),
        (ns(b"(0)=status"), "bad_format", "is empty"),
        (ns(b"(0)>>>t=status"), "bad_format", "starts with '>>>'"),
        (ns(b"(0)t\xc3\xa9=status"), "bad_format", "is not ASCII"),
        (ns(b"(0)t\n=status"), "bad_format", "control character"),
        (ns(b"(0)t=sta\0tus"), "bad_format", "NUL byte"),
        (ns(b"(2)t=x"), "unsupported_type", "field type 2"),
        (ns(b"(3)t=x"), "unsupported_type", "field type 3"),
        (ns(b"(4)t=x"), "unsupported_type", "field type 4"),
        (ns(b"(5)t=x"), "bad_format", "not a digit 0..4"),
        (ns(b"(x)t=x"), "bad_format", "not a digit 0..4"),
        (ns(b"(0)t=x", trailer=b"3:abc,junk"), "bad_format", "4 bytes after the auth netstring"),
        (ns(b"(0)t=x", trailer=b"3:abc"), "bad_format", "leaves no room for ','"),
        (ns(b"(0)t=x", trailer=b"4:abc"), "bad_format", "length 4 exceeds remaining 3"),
        (ns(b"(0)t=x", trailer=b"3:abc;"), "bad_format", "expected ','"),
        (ns(b"(0)t=x", trailer=b"abc"), "bad_format", "expected a decimal netstring length"),
        (ns(*[b"(0)f=1"] * 1001), "too_large", "more than 1000 fields"),
        (b">>>\nt=status\n", "bad_format", "does not end with '<<<'"),
        (b">>>\nt=status\n<<<\nextra\n<<<\n", "bad_format", "after the '<<<' terminator"),
        (b">>>\nt=status\n<<<\n\0\0", "bad_format", "NUL byte"),
        (b">>>\nt=sta\0tus\n<<<\n", "bad_format", "NUL byte at offset 9"),
        (b">>>\nt=status\nnoequals\n<<<\n", "bad_format", "field line 2 has no '='"),
        (b">>>\n(1)srcuuid=not base64!\n<<<\n", "bad_format", "not valid base64"),
        (b">>>\n(1)srcuuid=OAiHGWoMSEadEwFhKixJ4A\n<<<\n", "bad_format", "not valid base64"),
        (b">>>\n(2)x=y\n<<<\n", "unsupported_type", "field line 1"),
        (b">>>\n(9)x=y\n<<<\n", "bad_format", "not a digit"),
        (b">>>\n(1x=y\n<<<\n", "bad_format", "malformed '(t)' prefix"),
        (b">>>\n(\n<<<\n", "bad_format", "malformed '(t)' prefix"),
        (b">>>\n=y\n<<<\n", "bad_format", "is empty"),
        (b">>>\n>>>x=y\n<<<\n", "bad_format", "starts with '>>>'"),
        (b">>>\n" + b"f=1\n" * 1001 + b"<<<\n", "too_large", "1001 fields > 1000"),
        (b"###\n" + b"x" * MAX_DATAGRAM, "too_large", f"{MAX_DATAGRAM + 4} bytes"),
    ],
)
def test_bad_input_without_auth(data: bytes, reason: str, detail: str) -> None:
    got_reason, got_detail = reason_of(data)
    assert (got_reason, detail in got_detail) == (reason, True), got_detail


def test_detail_names_length_and_offset() -> None:
    data = b"###\n11:(0)t=status,99999:(0)x=y,%%%\n"
    assert reason_of(data) == (
        "bad_format",
        "netstring length 99999 exceeds remaining 11 bytes at offset 19",
    )


def test_every_truncation_of_a_real_packet_is_rejected() -> None:
    payload = spec_payload()
    body_end = payload.index(b"%%%\n") + 4
    for cut in range(len(payload)):
        reason, _ = reason_of(payload[:cut], anchor_auth())
        if cut == 0:
            assert reason == "empty"
        elif cut == body_end:
            assert reason == "bad_auth"  # whole body, trailer missing
        else:
            assert reason == "bad_format", cut


def test_every_truncation_of_the_classic_form_is_rejected() -> None:
    for cut in range(1, len(CLASSIC_207) - 2):  # "...\n<<<" is whole
        reason, _ = reason_of(CLASSIC_207[:cut], anchor_auth())
        assert reason in {"bad_format", "empty"}, cut


def test_netstring_without_trailer_is_accepted_only_without_auth() -> None:
    body = spec_payload()[: spec_payload().index(b"%%%\n") + 4]
    assert decode_datagram(body, None).get("t") == "status"
    assert reason_of(body, anchor_auth()) == (
        "bad_auth",
        "no trailing auth netstring after '%%%\\n'",
    )


def test_non_ascii_trailer_is_bad_auth() -> None:
    body = spec_payload()[: spec_payload().index(b"%%%\n") + 4]
    assert reason_of(body + b"2:\xff\xfe,", anchor_auth())[0] == "bad_auth"


def test_oversized_trailer_token_is_bad_auth() -> None:
    body = spec_payload()[: spec_payload().index(b"%%%\n") + 4]
    token = b"1 " + b"a" * 500
    data = body + b"%d:%s," % (len(token), token)
    assert reason_of(data, anchor_auth()) == ("bad_auth", "trailing auth token is 502 bytes long")


def test_trailing_nul_after_netstring_trailer_is_tolerated() -> None:
    msg = decode_datagram(spec_payload() + b"\0", anchor_auth())
    assert msg.get("seq") == "29"


def test_classic_without_auth_field_is_bad_auth() -> None:
    data = encode_classic(example_message(), None)
    assert reason_of(data, anchor_auth()) == ("bad_auth", "classic message has no auth field")


def test_classic_tampered_is_bad_auth() -> None:
    data = CLASSIC_207.replace(b"st=active", b"st=activf")
    assert reason_of(data, anchor_auth()) == ("bad_auth", "sha1 digest mismatch with key index 1")


def test_classic_wrong_key_and_unknown_index() -> None:
    assert reason_of(CLASSIC_207, make_auth((1, "sha1", b"nope")))[0] == "bad_auth"
    assert reason_of(CLASSIC_207, make_auth((4, "sha1", b"x")))[0] == "unknown_key"


def test_classic_garbled_auth_field_is_bad_auth() -> None:
    data = CLASSIC_207.replace(b"auth=1 090851", b"auth=1 O90851")
    assert reason_of(data, anchor_auth())[0] == "bad_auth"


def test_classic_blank_lines_and_missing_final_newline_are_tolerated() -> None:
    lines = CLASSIC_207[4:-5]
    data = b">>>\n\n" + lines.replace(b"\nst=", b"\n\n\nst=") + b"\n<<<"
    msg = decode_datagram(data, anchor_auth())
    assert msg == decode_datagram(CLASSIC_207, anchor_auth())


def test_newline_in_string_value_round_trips_through_classic() -> None:
    auth = anchor_auth()
    msg = Message.of(("t", "note"), ("info", "line one\nline two"))
    data = encode_classic(msg, auth, nul=True)
    assert b"line one\x13line two" in data
    back = decode_datagram(data, auth)
    assert back.get("info") == "line one\nline two"


def test_newline_in_string_value_is_raw_in_netstring() -> None:
    auth = anchor_auth()
    msg = Message.of(("t", "note"), ("info", "a\nb"))
    data = encode_wire(msg, auth)
    assert b"(0)info=a\nb," in data
    assert decode_datagram(data, auth).get("info") == "a\nb"


def test_invalid_utf8_round_trips_with_surrogateescape() -> None:
    auth = anchor_auth()
    raw = b"(0)t=caf\xe9\xff"
    data = ns(raw)
    msg = decode_datagram(data, None)
    value = msg.get("t")
    assert value is not None and value.encode("utf-8", "surrogateescape") == b"caf\xe9\xff"
    assert encode_netstring_body(msg) == data
    wire = encode_wire(msg, auth)
    assert decode_datagram(wire, auth).get("t") == value
    classic = encode_classic(msg.copy(), auth)
    assert decode_datagram(classic, auth).get("t") == value


def test_duplicate_names_are_kept_in_order() -> None:
    msg = decode_datagram(ns(b"(0)t=a", b"(0)x=1", b"(0)x=2"), None)
    assert [f.value for f in msg.fields] == ["a", "1", "2"]
    assert msg.get("x") == "1"


def test_empty_values_decode_in_both_forms() -> None:
    msg = decode_datagram(ns(b"(0)t=a", b"(0)info=", b"(1)destuuid="), None)
    assert msg.get("info") == "" and msg.get_bytes("destuuid") == b""
    classic = decode_datagram(b">>>\nt=a\ninfo=\n(1)destuuid=\n<<<\n", None)
    assert classic == msg


def test_exactly_max_datagram_is_not_too_large() -> None:
    value = b"v" * (MAX_DATAGRAM - 30)
    item = b"(0)t=" + value
    data = ns(item)
    data += b"x" * (MAX_DATAGRAM - len(data))
    assert len(data) == MAX_DATAGRAM
    assert reason_of(data)[0] == "bad_format"  # trailing junk, but not too_large


def test_exactly_1000_fields_is_accepted() -> None:
    data = ns(*[b"(0)f=1"] * 1000)
    assert len(decode_datagram(data, None)) == 1000


def test_encode_refuses_names_the_decoder_would_reject() -> None:
    auth = anchor_auth()
    for name in ("", "a=b", "a\nb", "\u00e9", ">>>x"):
        msg = Message.of(("t", "x"), (name, "v"))
        with pytest.raises(LocalProtocolError):
            encode_wire(msg, auth)


def test_encode_refuses_nul_in_string_values_but_not_in_binary() -> None:
    with pytest.raises(LocalProtocolError, match="NUL"):
        encode_wire(Message.of(("t", "x"), ("info", "a\0b")), anchor_auth())
    wire = encode_wire(Message.of(("t", "x"), ("srcuuid", b"\0" * 16)), anchor_auth())
    assert decode_datagram(wire, anchor_auth()).get_bytes("srcuuid") == b"\0" * 16


def test_nested_types_skip_the_classic_auth_field() -> None:
    msg = Message.of(("t", "x"))
    msg.append("nested", "opaque", FieldType.STRUCT)
    body = encode_netstring_body(msg)
    assert b"(2)nested=opaque" in body
    wire = encode_wire(msg, anchor_auth())
    assert "auth" not in msg
    assert reason_of(wire, anchor_auth())[0] == "unsupported_type"
