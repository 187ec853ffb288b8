"""Message authentication as in Heartbeat's HBauth plugins (spec §3.3, §4.6).

A token is ``"<N> <hexdigest>"``: the authkeys index, one space, the lower-case hex digest.
Methods: ``crc`` (CRC-32/POSIX without the length suffix, printed ``%lx``), ``md5`` and
``sha1`` (HMAC, RFC 2104) and ``sha256`` (HMAC, our addition). The encrypting methods
``aes256gcm`` and ``chacha20poly1305`` (hatui only, engine/protocol/aead.py) seal whole
datagrams instead of signing them; an Authenticator holds both kinds during a rotation.

Rules of this module: tokens come from the network, so they are length-bounded before they
are parsed, every malformed token is a ``RemoteProtocolError`` and digests are compared in
constant time.
"""

from __future__ import annotations

import functools
import hmac
import logging
import re
import zlib
from collections.abc import Callable

from engine.config.model import AuthConfig, AuthKey
from engine.errors import LocalProtocolError, RemoteProtocolError
from engine.protocol import aead

logger = logging.getLogger(__name__)

MAX_TOKEN_LEN = 200
"""Longest token we parse; the longest real one (sha256) is 67 characters."""

_CRC_POLY = 0x04C11DB7
_HEX_DIGITS = frozenset("0123456789abcdef")
_WELL_FORMED_TOKEN = re.compile(r"(0|[1-9][0-9]*) ([0-9a-f]+)")
"""What :func:`_parse_token` accepts, in one C call; its checks then only name problems."""


def _make_crc_table() -> tuple[int, ...]:
    """The 256-entry table for the MSB-first (non-reflected) CRC-32."""
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ _CRC_POLY) if crc & 0x80000000 else crc << 1
        table.append(crc & 0xFFFFFFFF)
    return tuple(table)


_CRC_TABLE = _make_crc_table()

_BIT_REVERSED_BYTES = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))


def crc32_posix_table(data: bytes) -> int:
    """CRC-32/POSIX (no length suffix) the way ``HBauth/crc.c`` computes it, byte by byte.

    Kept as the readable reference for :func:`crc32_posix`, which is the fast path.
    """
    crc = 0
    table = _CRC_TABLE
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ table[(crc >> 24) ^ byte]
    return crc ^ 0xFFFFFFFF


def crc32_posix(data: bytes) -> int:
    """CRC-32/POSIX: poly 0x04C11DB7 MSB-first, init 0, final xor 0xFFFFFFFF, no length.

    Computed with zlib's (C, table-driven) reflected CRC-32 on bit-reversed bytes: the
    MSB-first register is the bit reversal of the reflected one. That is about 100 times
    faster than a Python loop over the table; tests check it against
    :func:`crc32_posix_table`.
    """
    reflected = zlib.crc32(data.translate(_BIT_REVERSED_BYTES), 0xFFFFFFFF)
    return int(f"{reflected:032b}"[::-1], 2)


def _crc_hex(_secret: bytes, data: bytes) -> str:
    return f"{crc32_posix(data):x}"


def _hmac_hex(digest: str) -> Callable[[bytes, bytes], str]:
    def compute(secret: bytes, data: bytes) -> str:
        return hmac.digest(secret, data, digest).hex()

    return compute


_METHODS: dict[str, Callable[[bytes, bytes], str]] = {
    "crc": _crc_hex,
    "md5": _hmac_hex("md5"),
    "sha1": _hmac_hex("sha1"),
    "sha256": _hmac_hex("sha256"),
}

_DIGEST_LEN = {"md5": 32, "sha1": 40, "sha256": 64}
"""Hex length per keyed method; ``crc`` is 1..8 (``%lx`` drops leading zeros)."""

METHODS = frozenset(_METHODS) | aead.METHODS
"""Method names this module can use (signing and encrypting)."""

Signer = Callable[[bytes], str]
"""Lower-case hex digest of some data with one configured key."""


def _signer(key: AuthKey) -> Signer:
    """The digest function of one key, for every packet signed or checked with it.

    An HMAC key is set up once and copied per packet: cheaper than keying a new HMAC for
    every packet (the padded key is hashed once, not twice per packet). Same digests.
    """
    if key.method not in _DIGEST_LEN:
        return functools.partial(_METHODS[key.method], key.secret)
    keyed = hmac.new(key.secret, digestmod=key.method)

    def sign(data: bytes) -> str:
        mac = keyed.copy()
        mac.update(data)
        return mac.hexdigest()

    return sign


def compute_digest(method: str, secret: bytes, data: bytes) -> str:
    """Lower-case hex digest of ``data`` with ``method`` (``crc`` ignores the secret)."""
    try:
        compute = _METHODS[method]
    except KeyError:
        raise LocalProtocolError(f"unknown auth method {method!r}") from None
    return compute(secret, data)


class Authenticator:
    """Signs with the ``auth N`` key and verifies with the key a token names.

    Real Heartbeat verifies netstring trailers with the *algorithm* of the indicated entry
    but the *key* of the outbound entry (spec §4.6 quirk). We always use the indicated
    entry's own key, so key rotation works the same on both framings.
    """

    def __init__(self, auth: AuthConfig) -> None:
        """Check that every key uses a known method and that the send key exists."""
        for key in auth.keys:
            if key.method not in METHODS:
                raise LocalProtocolError(
                    f"auth key {key.index} ({key.where}) uses unknown method {key.method!r}"
                )
        send_key = auth.key(auth.send_index)
        if send_key is None:
            raise LocalProtocolError(f"auth {auth.send_index} names no configured key")
        self._send_key: AuthKey = send_key
        signing = [k for k in auth.keys if k.method in _METHODS]
        self._signers: dict[int, Signer] = {k.index: _signer(k) for k in signing}
        accepted = auth.accept_indices or frozenset(k.index for k in auth.keys)
        self._accepted: dict[int, AuthKey] = {k.index: k for k in signing if k.index in accepted}
        self._sealers: dict[int, aead.Sealer] = {
            k.index: aead.Sealer(k.index, k.method, k.secret)
            for k in auth.keys
            if k.method in aead.METHODS and k.index in accepted
        }
        self._configured = frozenset(k.index for k in auth.keys)
        self._methods = {k.index: k.method for k in auth.keys}
        self._send_sealer = (
            aead.Sealer(send_key.index, send_key.method, send_key.secret)
            if send_key.method in aead.METHODS
            else None
        )

    @property
    def send_index(self) -> int:
        """The authkeys index used for signing."""
        return self._send_key.index

    @property
    def seals(self) -> bool:
        """True when we send encrypted datagrams (the ``auth N`` key encrypts)."""
        return self._send_sealer is not None

    @property
    def plaintext_accepted(self) -> bool:
        """True when some key accepted on receive signs plaintext (a Heartbeat packet can
        verify); False when only encrypted datagrams can."""
        return bool(self._accepted)

    @property
    def sealing_methods(self) -> list[str]:
        """The encrypting methods accepted on receive (for messages)."""
        return sorted({sealer.method for sealer in self._sealers.values()})

    def token(self, data: bytes) -> str:
        """``"<N> <hex>"`` over ``data`` with the send key.

        Raises:
            LocalProtocolError: the send key encrypts (callers seal instead).
        """
        index = self._send_key.index
        signer = self._signers.get(index)
        if signer is None:
            raise LocalProtocolError(
                f"auth key {index} uses {self._send_key.method}: it encrypts whole datagrams "
                "and signs no plaintext message"
            )
        return f"{index} {signer(data)}"

    def seal(self, body: bytes) -> bytes:
        """The encrypted datagram of a netstring ``body`` with the send key."""
        if self._send_sealer is None:
            raise LocalProtocolError(f"auth key {self._send_key.index} does not encrypt")
        return self._send_sealer.seal(body)

    def open(self, data: bytes) -> bytes:
        """The netstring body of an encrypted datagram, checked with the key it names.

        Raises:
            RemoteProtocolError: ``unknown_key`` when that key is not an encrypting key
                accepted here, ``bad_format``/``bad_auth`` from :meth:`aead.Sealer.open`.
        """
        index = aead.sealed_index(data)
        if index is None:
            raise RemoteProtocolError(
                "bad_format",
                f"encrypted datagram of {len(data)} bytes is truncated before its key index",
            )
        sealer = self._sealers.get(index)
        if sealer is None:
            if index in self._configured:
                state = f"{self._methods[index]}, not accepted for encrypted datagrams"
            else:
                state = "not configured here (authkeys differ between the nodes?)"
            raise RemoteProtocolError(
                "unknown_key", f"encrypted datagram with key index {index}: the key is {state}"
            )
        return sealer.open(data)

    def verify(self, data: bytes, token: str) -> None:
        """Check ``token`` against ``data`` with the key of the index the token names.

        Unlike 3.0.6's netstring path (which uses the outbound key), we never mix the
        indicated method with another entry's secret.

        Raises:
            RemoteProtocolError: ``bad_auth`` for a garbled token or a wrong digest,
                ``unknown_key`` when the index is not configured or not accepted.
        """
        index, given = _parse_token(token)
        key = self._accepted.get(index)
        if key is None:
            if index in self._sealers:
                state = "an encrypting key (it signs no plaintext message)"
            elif index in self._configured:
                state = "not accepted for receiving"
            else:
                state = "unknown"
            raise RemoteProtocolError("unknown_key", f"auth key index {index} is {state}")
        _check_digest_shape(key.method, given)
        expected = self._signers[index](data)
        if not hmac.compare_digest(expected, given):
            raise RemoteProtocolError(
                "bad_auth", f"{key.method} digest mismatch with key index {index}"
            )


def _parse_token(token: str) -> tuple[int, str]:
    """Split ``"<N> <hex>"`` strictly; anything else is ``bad_auth``."""
    if len(token) > MAX_TOKEN_LEN:
        raise RemoteProtocolError("bad_auth", f"auth token is {len(token)} chars long")
    well_formed = _WELL_FORMED_TOKEN.fullmatch(token)
    if well_formed is not None:
        return int(well_formed[1]), well_formed[2]
    number, sep, digest = token.partition(" ")
    if not sep:
        raise RemoteProtocolError("bad_auth", "auth token has no space between index and digest")
    if not (number.isascii() and number.isdigit()) or (number[0] == "0" and len(number) > 1):
        raise RemoteProtocolError("bad_auth", f"auth token index {number[:12]!r} is not a number")
    if not digest or not _HEX_DIGITS.issuperset(digest):
        raise RemoteProtocolError(
            "bad_auth", f"auth token digest {digest[:16]!r} is not lower-case hex"
        )
    return int(number), digest


def _check_digest_shape(method: str, digest: str) -> None:
    """Reject digests of the wrong length for the method before comparing."""
    want = _DIGEST_LEN.get(method)
    ok = len(digest) == want if want is not None else len(digest) <= 8
    if not ok:
        raise RemoteProtocolError("bad_auth", f"{method} digest has wrong length {len(digest)}")
