"""Every packet captured from real Heartbeat 3.0.6 decodes, verifies and re-encodes exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import RemoteProtocolError
from engine.protocol import FieldType, classic_signing_text, decode_datagram, encode_wire
from tests.protocol.helpers import (
    FIXTURE_DIR,
    SHARED_FIXTURE_DIR,
    fixture_files,
    make_auth,
    read_authkeys,
)

FIXTURES = fixture_files()
IDS = [p.stem for p in FIXTURES]


def test_fixture_copies_are_present() -> None:
    assert len(FIXTURES) >= 10
    assert (FIXTURE_DIR / "authkeys").is_file()


def test_fixture_copies_match_shared_originals() -> None:
    if not SHARED_FIXTURE_DIR.is_dir():
        pytest.skip(f"{SHARED_FIXTURE_DIR} absent (no ../shared beside the repository)")
    originals = sorted(SHARED_FIXTURE_DIR.glob("*.bin"))
    assert [p.name for p in originals] == [p.name for p in FIXTURES]
    for original in originals:
        assert (FIXTURE_DIR / original.name).read_bytes() == original.read_bytes()
    shared_keys = (SHARED_FIXTURE_DIR / "authkeys").read_bytes()
    assert (FIXTURE_DIR / "authkeys").read_bytes() == shared_keys


@pytest.mark.parametrize("path", FIXTURES, ids=IDS)
def test_fixture_decodes_verifies_and_reencodes(path: Path) -> None:
    data = path.read_bytes()
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
