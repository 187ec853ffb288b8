"""Encrypted datagrams for hatui-only clusters: ``aes256gcm`` and ``chacha20poly1305``.

Heartbeat's methods (crc, md5, sha1) sign a message and leave it readable: node names,
who holds which group, standby requests. These two ``authkeys`` methods encrypt and
authenticate the whole datagram with an AEAD from ``cryptography``. Layout::

    b"hAE\\x01"   magic and format version (never ``###``/``>>>``: no Heartbeat frame)
    index         1 byte: the authkeys key number (0-15), as the signed methods name it
    nonce         12 random bytes, fresh for every datagram (os.urandom)
    ciphertext    the netstring body (``###\\n...%%%\\n``) encrypted, then the 16-byte tag

The header (magic and index) is authenticated as associated data; the generation, the
sequence number, the sender and every other field are inside the encrypted body, so a
datagram can neither be read nor re-labelled. Replays (same bytes) decrypt and are then
dropped by the sequence and freshness rules like any other replay.

Nonces: random, 96 bits, from the kernel's CSPRNG for every datagram. A counter would
repeat as soon as a state directory is restored from a backup, a VM snapshot is resumed,
a disk is cloned or ``hbgenmethod time`` meets a clock that went back, and one repeated
nonce under AES-GCM reveals the XOR of two plaintexts and lets an attacker forge packets.
Random nonces need no state at all; the price is a bound on how many datagrams one key
may encrypt: after 2^32 datagrams (all nodes together; 13 years at ten per second) the
chance of any repeat is 2^-33. Rotate the key well before that (two keys during the
rotation, as with the signed methods).

The 32-byte cipher key is derived from the authkeys secret with HKDF-SHA256 (salt names
the method, so one secret never keys two ciphers).

Rules of this module: everything taken from the network is length-checked before use and
every problem is a ``RemoteProtocolError``; nothing else escapes ``open``. ``cryptography``
is imported when the first encrypting key is set up (30 ms of start-up the signing
methods do not pay).
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

from engine.errors import RemoteProtocolError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

MAGIC = b"hAE\x01"
NONCE_BYTES = 12
TAG_BYTES = 16
HEADER_BYTES = len(MAGIC) + 1
OVERHEAD = HEADER_BYTES + NONCE_BYTES + TAG_BYTES
"""Bytes a sealed datagram adds to the plain netstring body (33)."""
MIN_SECRET_LEN = 16
"""Shortest authkeys secret accepted for an encrypting method."""

CIPHERS = {"aes256gcm": "AESGCM", "chacha20poly1305": "ChaCha20Poly1305"}
"""Method -> class of ``cryptography.hazmat.primitives.ciphers.aead``."""
METHODS = frozenset(CIPHERS)
"""The encrypting ``authkeys`` methods."""


def _crypto(module: str) -> Any:
    return importlib.import_module(f"cryptography.{module}")


def is_sealed(data: bytes) -> bool:
    """True for a datagram in our encrypted format (any key, any validity)."""
    return data.startswith(MAGIC)


def sealed_index(data: bytes) -> int | None:
    """The key number a sealed datagram names (None when too short to have one)."""
    return data[len(MAGIC)] if len(data) > len(MAGIC) else None


def derive_key(method: str, secret: bytes) -> bytes:
    """The 32-byte cipher key of an authkeys secret (HKDF-SHA256)."""
    hashes = _crypto("hazmat.primitives.hashes")
    hkdf = _crypto("hazmat.primitives.kdf.hkdf").HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"hatui authkeys " + method.encode("ascii"),
        info=b"hatui datagram key v1",
    )
    key: bytes = hkdf.derive(secret)
    return key


class Sealer:
    """Encrypts and decrypts datagrams with one authkeys entry."""

    def __init__(self, index: int, method: str, secret: bytes) -> None:
        self.index = index
        self.method = method
        cipher_class = getattr(_crypto("hazmat.primitives.ciphers.aead"), CIPHERS[method])
        self._cipher: AESGCM | ChaCha20Poly1305 = cipher_class(derive_key(method, secret))
        self._invalid_tag: type[Exception] = _crypto("exceptions").InvalidTag
        self._header = MAGIC + bytes([index])

    def seal(self, body: bytes) -> bytes:
        """``header + nonce + ciphertext + tag`` of ``body``, with a fresh random nonce."""
        nonce = os.urandom(NONCE_BYTES)
        return self._header + nonce + self._cipher.encrypt(nonce, body, self._header)

    def open(self, data: bytes) -> bytes:
        """The body of a sealed datagram that names this key.

        Raises:
            RemoteProtocolError: ``bad_format`` when too short, ``bad_auth`` when the tag
                does not verify (tampered, truncated, or sealed with another secret).
        """
        if len(data) < OVERHEAD:
            raise RemoteProtocolError(
                "bad_format",
                f"encrypted datagram of {len(data)} bytes is truncated (at least {OVERHEAD})",
            )
        nonce = data[HEADER_BYTES : HEADER_BYTES + NONCE_BYTES]
        try:
            return self._cipher.decrypt(nonce, data[HEADER_BYTES + NONCE_BYTES :], self._header)
        except self._invalid_tag:
            raise RemoteProtocolError(
                "bad_auth",
                f"{self.method} authentication failed with key index {self.index} "
                "(tampered, truncated, or encrypted with another secret)",
            ) from None
