"""Encrypted datagrams (``aes256gcm``, ``chacha20poly1305``; issue 15 part 4).

Round trips, nothing readable on the wire, a fresh nonce per datagram and across a
restart with identical state, tampering and truncation at every byte, wrong keys, key
rotation (two keys), the serial framing, and clear refusals of plaintext Heartbeat
packets when only encrypted ones are accepted (and the other way round).
"""

from __future__ import annotations

import random

import pytest

from engine.errors import LocalProtocolError, RemoteProtocolError
from engine.protocol import aead
from engine.protocol.codec import (
    decode_datagram,
    encode_classic,
    encode_classic_sealed,
    encode_netstring_body,
    encode_wire,
)
from engine.protocol.message import Message
from tests.protocol.helpers import anchor_auth, fixture_files, make_auth

SECRET = b"0123456789abcdef0123456789abcdef"
OTHER = b"fedcba9876543210fedcba9876543210"
METHODS = sorted(aead.METHODS)


def status(seq: int = 0x6400000001) -> Message:
    return Message.of(
        ("t", "status"),
        ("st", "active"),
        ("dt", "3e8"),
        ("protocol", "1"),
        ("src", "bravo"),
        ("srcuuid", b"\x02" * 16),
        ("seq", format(seq, "x")),
        ("hg", "64"),
        ("ts", "6b06dd3a"),
        ("ttl", "3"),
    )


def fields(msg: Message) -> list[tuple[str, str | bytes]]:
    return list(msg.pairs())


@pytest.mark.parametrize("method", METHODS)
def test_round_trip_and_nothing_readable_on_the_wire(method: str) -> None:
    auth = make_auth((1, method, SECRET))
    data = encode_wire(status(), auth)
    assert data.startswith(aead.MAGIC + b"\x01")
    assert len(data) == len(encode_netstring_body(status())) + aead.OVERHEAD
    for word in (b"bravo", b"status", b"active", b"seq=", b"6400000001", b"auth"):
        assert word not in data
    msg = decode_datagram(data, auth)
    assert fields(msg) == fields(status())
    assert "auth" not in msg


@pytest.mark.parametrize("method", METHODS)
def test_every_datagram_gets_a_fresh_nonce_and_ciphertext(method: str) -> None:
    auth = make_auth((1, method, SECRET))
    sealed = [encode_wire(status(), auth) for _ in range(2000)]
    nonces = {d[aead.HEADER_BYTES : aead.HEADER_BYTES + aead.NONCE_BYTES] for d in sealed}
    assert len(nonces) == len(sealed)
    assert len(set(sealed)) == len(sealed)


def test_no_nonce_repeats_across_a_restart_with_identical_state() -> None:
    """Two runs with the same generation, uuid, random seed and messages (a state dir
    restored from a backup, a resumed VM snapshot): nonces still never repeat, because
    they come from the kernel's CSPRNG, not from any state that could be replayed."""
    from engine.core.membership import Membership
    from tests.core.sim import make_config

    auth_config = make_auth((1, "aes256gcm", SECRET))

    def one_run() -> list[bytes]:
        core = Membership(
            make_config("alpha"),
            auth_config,
            uuid=b"\x01" * 16,
            generation=100,
            now=0.0,
            rng=random.Random(1),
        )
        core.start(0.0, 1_795_611_934.0)
        for step in range(1, 500):
            core.tick(step * 0.2, 1_795_611_934.0 + step * 0.2)
        return core.drain_outbound()

    first, second = one_run(), one_run()
    assert len(first) > 500
    nonce = slice(aead.HEADER_BYTES, aead.HEADER_BYTES + aead.NONCE_BYTES)
    assert not {d[nonce] for d in first} & {d[nonce] for d in second}
    # Same plaintexts in both runs (same seq numbers): only the nonces tell them apart.
    same = [decode_datagram(d, auth_config).get("seq") for d in first[:5]]
    assert same == [decode_datagram(d, auth_config).get("seq") for d in second[:5]]


@pytest.mark.parametrize("method", METHODS)
def test_any_flipped_bit_is_rejected(method: str) -> None:
    auth = make_auth((1, method, SECRET), (2, method, OTHER), send=1)
    data = encode_wire(status(), auth)
    reasons = set()
    for position in range(len(data)):
        for bit in (0x01, 0x80):
            forged = bytearray(data)
            forged[position] ^= bit
            with pytest.raises(RemoteProtocolError) as err:
                decode_datagram(bytes(forged), auth)
            reasons.add(err.value.reason)
    assert reasons <= {"bad_auth", "bad_format", "unknown_key"}
    assert "bad_auth" in reasons


@pytest.mark.parametrize("method", METHODS)
def test_every_truncation_and_extension_is_rejected(method: str) -> None:
    auth = make_auth((1, method, SECRET))
    data = encode_wire(status(), auth)
    for end in range(len(aead.MAGIC), len(data)):
        with pytest.raises(RemoteProtocolError) as err:
            decode_datagram(data[:end], auth)
        assert err.value.reason in {"bad_auth", "bad_format"}
        if end < aead.OVERHEAD:
            assert "truncated" in err.value.detail
    for tail in (b"\x00", b"x" * 40):
        with pytest.raises(RemoteProtocolError) as err:
            decode_datagram(data + tail, auth)
        assert err.value.reason == "bad_auth"


def test_wrong_secret_and_unknown_index_are_rejected_with_clear_reasons() -> None:
    sender = make_auth((1, "aes256gcm", SECRET))
    data = encode_wire(status(), sender)
    wrong = make_auth((1, "aes256gcm", OTHER))
    with pytest.raises(RemoteProtocolError) as err:
        decode_datagram(data, wrong)
    assert err.value.reason == "bad_auth"
    assert "aes256gcm authentication failed with key index 1" in err.value.detail
    other_cipher = make_auth((1, "chacha20poly1305", SECRET))
    with pytest.raises(RemoteProtocolError) as err:
        decode_datagram(data, other_cipher)
    assert err.value.reason == "bad_auth"
    elsewhere = make_auth((2, "aes256gcm", SECRET))
    with pytest.raises(RemoteProtocolError) as err:
        decode_datagram(data, elsewhere)
    assert err.value.reason == "unknown_key"
    assert "key index 1: the key is not configured here" in err.value.detail


def test_key_rotation_two_encrypting_keys() -> None:
    """Rotation as with sha1: every node lists keys 1 and 2; nodes move ``auth 1`` to
    ``auth 2`` one by one, then key 1 is removed everywhere."""
    old_sender = make_auth((1, "aes256gcm", SECRET), (2, "aes256gcm", OTHER), send=1)
    new_sender = make_auth((1, "aes256gcm", SECRET), (2, "aes256gcm", OTHER), send=2)
    from_old = encode_wire(status(), old_sender)
    from_new = encode_wire(status(), new_sender)
    assert from_old[len(aead.MAGIC)] == 1 and from_new[len(aead.MAGIC)] == 2
    for receiver in (old_sender, new_sender):
        assert fields(decode_datagram(from_old, receiver)) == fields(status())
        assert fields(decode_datagram(from_new, receiver)) == fields(status())
    done = make_auth((2, "aes256gcm", OTHER))
    assert fields(decode_datagram(from_new, done)) == fields(status())
    with pytest.raises(RemoteProtocolError) as err:
        decode_datagram(from_old, done)
    assert err.value.reason == "unknown_key"


def test_rotation_from_sha1_to_encryption_accepts_both_meanwhile() -> None:
    both = make_auth((1, "sha1", b"old-sha1-key"), (2, "aes256gcm", SECRET), send=1)
    signed = encode_wire(status(), both)
    assert signed.startswith(b"###\n") and b"(0)auth=1 " in signed
    sealed = encode_wire(status(), make_auth((2, "aes256gcm", SECRET)))
    assert fields(decode_datagram(signed, both))[:10] == fields(status())
    assert fields(decode_datagram(sealed, both)) == fields(status())


def test_plaintext_heartbeat_packet_refused_clearly_when_only_encryption_is_accepted() -> None:
    real_heartbeat = fixture_files()[0].read_bytes()  # captured from Heartbeat 3.0.6
    encrypted_only = make_auth((1, "aes256gcm", SECRET))
    with pytest.raises(RemoteProtocolError) as err:
        decode_datagram(real_heartbeat, encrypted_only)
    assert err.value.reason == "plaintext"
    detail = err.value.detail
    assert "unencrypted Heartbeat packet from a node calling itself" in detail
    assert "accepts only encrypted datagrams (aes256gcm)" in detail
    assert "must use sha1" in detail
    classic = encode_classic(status(), anchor_auth())
    with pytest.raises(RemoteProtocolError) as err:
        decode_datagram(classic, encrypted_only)
    assert err.value.reason == "plaintext" and "'bravo'" in err.value.detail


def test_encrypted_datagram_at_a_signing_node_is_named_as_such() -> None:
    data = encode_wire(status(), make_auth((1, "aes256gcm", SECRET)))
    with pytest.raises(RemoteProtocolError) as err:
        decode_datagram(data, anchor_auth())
    assert err.value.reason == "unknown_key"
    assert "encrypted datagram with key index 1" in err.value.detail
    with pytest.raises(RemoteProtocolError) as err:
        decode_datagram(data, None)
    assert err.value.reason == "encrypted"


def test_encrypting_key_signs_nothing_and_verifies_no_token() -> None:
    auth = make_auth((1, "aes256gcm", SECRET), (2, "sha1", b"k"), send=1)
    with pytest.raises(LocalProtocolError):
        auth.token(b"data")
    signed = encode_wire(status(), make_auth((1, "sha1", b"k")))
    with pytest.raises(RemoteProtocolError) as err:
        decode_datagram(signed, auth)
    assert err.value.reason == "unknown_key"
    assert "encrypting key" in err.value.detail


def test_serial_framing_carries_the_sealed_datagram_whole() -> None:
    auth = make_auth((1, "chacha20poly1305", SECRET))
    data = encode_wire(status(), auth)
    text = encode_classic_sealed(data)
    assert text.startswith(b">>>\n(1)aead=") and text.endswith(b"\n<<<\n")
    assert text.count(b"\n") == 3  # one field line: no '<<<' can appear inside
    assert fields(decode_datagram(text, auth)) == fields(status())
    with pytest.raises(RemoteProtocolError) as err:
        decode_datagram(text.replace(b"aead=", b"aead=AAAA"), auth)
    assert err.value.reason in {"bad_format", "bad_auth"}


def test_key_derivation_differs_per_method_and_secret() -> None:
    keys = {aead.derive_key(m, s) for m in METHODS for s in (SECRET, OTHER)}
    assert len(keys) == 4 and all(len(k) == 32 for k in keys)
