"""CRC-32/POSIX, the HMAC methods, token format and the verify error codes."""

from __future__ import annotations

import hashlib
import hmac
import random

import pytest

from engine.errors import LocalProtocolError, RemoteProtocolError
from engine.protocol.auth import compute_digest, crc32_posix, crc32_posix_table
from tests.protocol.helpers import ANCHOR_KEY, anchor_auth, make_auth


def test_crc_check_value() -> None:
    assert crc32_posix(b"123456789") == 0x765E7680
    assert crc32_posix_table(b"123456789") == 0x765E7680
    assert compute_digest("crc", b"", b"123456789") == "765e7680"


def test_crc_of_empty_input_is_final_xor_only() -> None:
    assert crc32_posix(b"") == 0xFFFFFFFF


def test_crc_fast_path_matches_table_reference() -> None:
    rng = random.Random(7)
    for size in [*range(0, 40), 255, 256, 310, 4096]:
        data = rng.randbytes(size)
        assert crc32_posix(data) == crc32_posix_table(data), size


def test_crc_hex_has_no_zero_padding() -> None:
    rng = random.Random(3)
    for _ in range(20000):
        data = rng.randbytes(6)
        if crc32_posix(data) < 0x10000000:
            break
    else:
        pytest.fail("no small CRC found")
    digest = compute_digest("crc", b"", data)
    assert digest == f"{crc32_posix(data):x}"
    assert len(digest) < 8 and not digest.startswith("0")
    auth = make_auth((3, "crc", b""))
    assert auth.token(data) == f"3 {digest}"
    auth.verify(data, f"3 {digest}")
    with pytest.raises(RemoteProtocolError) as err:
        auth.verify(data, f"3 0{digest}")
    assert err.value.reason == "bad_auth"


@pytest.mark.parametrize(
    ("method", "key", "data", "expected"),
    [
        # RFC 2202 test case 2 (md5 and sha1), RFC 4231 test case 2 (sha256).
        ("md5", b"Jefe", b"what do ya want for nothing?", "750c783e6ab0b503eaa86e310a5db738"),
        (
            "sha1",
            b"Jefe",
            b"what do ya want for nothing?",
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
        ),
        (
            "sha256",
            b"Jefe",
            b"what do ya want for nothing?",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
    ],
)
def test_hmac_known_vectors(method: str, key: bytes, data: bytes, expected: str) -> None:
    assert compute_digest(method, key, data) == expected


def test_worked_example_classic_hmac() -> None:
    text = (
        b"t=status\nst=active\ndt=bb8\nprotocol=1\nsrc=bravo\n"
        b"(1)srcuuid=OAiHGWoMSEadEwFhKixJ4A==\nseq=29\nhg=6b06dd1e\nts=6b06dd3a\n"
        b"ld=0.06 0.20 0.09 1/103 16189\nttl=3\n"
    )
    token = "1 090851a6406aff4335a62790c4525d213ea9889b"
    assert anchor_auth().token(text) == token
    anchor_auth().verify(text, token)


@pytest.mark.parametrize(
    ("method", "secret"),
    [("crc", b""), ("md5", b"md5-secret"), ("sha1", b"sha1-secret"), ("sha256", b"k" * 70)],
)
def test_token_round_trip_per_method(method: str, secret: bytes) -> None:
    auth = make_auth((2, method, secret))
    data = b"t=status\nst=active\n"
    token = auth.token(data)
    number, digest = token.split(" ")
    assert number == "2"
    assert digest == compute_digest(method, secret, data)
    auth.verify(data, token)
    with pytest.raises(RemoteProtocolError) as err:
        auth.verify(data + b"x", token)
    assert err.value.reason == "bad_auth"


def test_md5_token_matches_stdlib_hmac() -> None:
    auth = make_auth((1, "md5", b"secret"))
    expected = hmac.new(b"secret", b"payload", hashlib.md5).hexdigest()
    assert auth.token(b"payload") == f"1 {expected}"


def test_wrong_key_is_bad_auth() -> None:
    data = b"t=status\n"
    token = make_auth((1, "sha1", b"other-key")).token(data)
    with pytest.raises(RemoteProtocolError) as err:
        anchor_auth().verify(data, token)
    assert err.value.reason == "bad_auth"
    assert "mismatch" in err.value.detail


def test_unknown_index_is_unknown_key() -> None:
    data = b"t=status\n"
    token = make_auth((7, "sha1", ANCHOR_KEY)).token(data)
    with pytest.raises(RemoteProtocolError) as err:
        anchor_auth().verify(data, token)
    assert err.value.reason == "unknown_key"
    assert "7" in err.value.detail


def test_configured_but_not_accepted_index_is_unknown_key() -> None:
    auth = make_auth((1, "sha1", ANCHOR_KEY), (2, "crc", b""), accept=frozenset({1}))
    data = b"t=status\n"
    crc_token = make_auth((2, "crc", b"")).token(data)
    with pytest.raises(RemoteProtocolError) as err:
        auth.verify(data, crc_token)
    assert err.value.reason == "unknown_key"
    assert "not accepted" in err.value.detail


def test_empty_accept_set_accepts_every_listed_key() -> None:
    auth = make_auth((1, "sha1", ANCHOR_KEY), (2, "crc", b""))
    data = b"t=status\n"
    auth.verify(data, make_auth((2, "crc", b"")).token(data))
    auth.verify(data, make_auth((1, "sha1", ANCHOR_KEY)).token(data))


def test_verify_uses_the_key_of_the_indicated_index() -> None:
    """Key rotation: we send with 2 but must verify a peer still sending with 1."""
    ours = make_auth((1, "sha1", b"old-key"), (2, "sha256", b"new-key"), send=2)
    theirs = make_auth((1, "sha1", b"old-key"))
    data = b"t=status\n"
    assert ours.token(data).startswith("2 ")
    ours.verify(data, theirs.token(data))


@pytest.mark.parametrize(
    "token",
    [
        "",
        "1",
        "1 ",
        " 090851a6406aff4335a62790c4525d213ea9889b",
        "x 090851a6406aff4335a62790c4525d213ea9889b",
        "-1 090851a6406aff4335a62790c4525d213ea9889b",
        "+1 090851a6406aff4335a62790c4525d213ea9889b",
        "01 090851a6406aff4335a62790c4525d213ea9889b",
        "1  090851a6406aff4335a62790c4525d213ea9889b",
        "1 090851A6406AFF4335A62790C4525D213EA9889B",
        "1 090851a6406aff4335a62790c4525d213ea9889",
        "1 090851a6406aff4335a62790c4525d213ea9889b0",
        "1 090851a6406aff4335a62790c4525d213ea9889g",
        "1 090851a6406aff4335a62790c4525d213ea9889b ",
        "\u0661 090851a6406aff4335a62790c4525d213ea9889b",
        "1 " + "0" * 300,
    ],
)
def test_garbled_token_is_bad_auth(token: str) -> None:
    with pytest.raises(RemoteProtocolError) as err:
        anchor_auth().verify(b"t=status\n", token)
    assert err.value.reason == "bad_auth"
    assert err.value.detail


def test_huge_index_is_unknown_key_not_a_crash() -> None:
    with pytest.raises(RemoteProtocolError) as err:
        anchor_auth().verify(b"x", "2147483648 " + "0" * 40)
    assert err.value.reason == "unknown_key"


def test_constructor_rejects_missing_send_key_and_unknown_method() -> None:
    with pytest.raises(LocalProtocolError, match="names no configured key"):
        make_auth((1, "sha1", b"k"), send=2)
    with pytest.raises(LocalProtocolError, match="unknown method"):
        make_auth((1, "sha512", b"k"))
