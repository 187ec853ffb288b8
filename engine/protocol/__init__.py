"""Heartbeat messages, their wire encodings and their authentication (spec §3.3, §4)."""

from __future__ import annotations

from engine.protocol.auth import Authenticator, compute_digest, crc32_posix
from engine.protocol.codec import (
    MAX_DATAGRAM,
    add_classic_auth,
    classic_signing_text,
    decode_datagram,
    encode_classic,
    encode_netstring_body,
    encode_wire,
)
from engine.protocol.message import Field, FieldType, FieldValue, Message

__all__ = [
    "MAX_DATAGRAM",
    "Authenticator",
    "Field",
    "FieldType",
    "FieldValue",
    "Message",
    "add_classic_auth",
    "classic_signing_text",
    "compute_digest",
    "crc32_posix",
    "decode_datagram",
    "encode_classic",
    "encode_netstring_body",
    "encode_wire",
]
