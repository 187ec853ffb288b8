"""Heartbeat's two wire encodings: netstring (``###``/``%%%``) and classic (``>>>``/``<<<``).

Spec §4.2-§4.8. We send exactly what Heartbeat 3.0.6 sends on UDP (netstring body with the
embedded classic ``auth`` field, then a trailing auth netstring) and accept both forms.
When the ``auth N`` key encrypts (hatui only, engine/protocol/aead.py) the netstring body
is sealed instead; on serial links such a datagram travels as a classic frame with one
binary field, ``aead``.

Rules of this module: :func:`decode_datagram` runs before any authentication, so it is
attack surface (CVE-2006-3121 was a crafted netstring length). Every length is bounded
before use, there are no per-byte Python loops, and every problem is a
``RemoteProtocolError(reason, detail)``; no other exception escapes for any input.
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import re
from collections.abc import Callable

from engine.errors import LocalProtocolError, RemoteProtocolError
from engine.protocol import aead
from engine.protocol.auth import MAX_TOKEN_LEN, Authenticator
from engine.protocol.message import Field, FieldType, FieldValue, Message

logger = logging.getLogger(__name__)

MAX_DATAGRAM = 262144
"""Heartbeat's ``MAXMSG``: the largest datagram or wire message (spec §4.8)."""

MAX_FIELDS = 1000
"""More fields than any v1 message has by two orders of magnitude."""

MAX_LENGTH_DIGITS = 7
"""A netstring length never needs more digits than ``MAX_DATAGRAM`` has (6)."""

AUTH_FIELD = "auth"
SEALED_FIELD = "aead"
"""The one field of a classic frame that carries an encrypted datagram (serial links)."""

NETSTRING_START = b"###\n"
NETSTRING_END = b"%%%\n"
CLASSIC_START = b">>>\n"
CLASSIC_END = b"<<<\n"

_NESTED_TYPES = frozenset({FieldType.STRUCT, FieldType.LIST, FieldType.COMPRESSED})
_TYPE_PREFIX = {t: f"({t.value})".encode() for t in FieldType}
_UNSUPPORTED_TYPE_DIGITS = frozenset(b"234")
_FIELD_TYPES = {ord("0"): FieldType.STRING, ord("1"): FieldType.BINARY}
_FAST_NAME_LEN = 64
"""Longer field names (none in v1) take the careful parser."""
_ITEM_HEAD = re.compile(
    rb"(0|[1-9][0-9]{0,%d}):\(([01])\)([^=]{1,%d})=" % (MAX_LENGTH_DIGITS - 1, _FAST_NAME_LEN)
)
"""``L:(t)name=`` of a well-formed netstring item whose type v1 uses (the fast path): one
match yields the length, the type and the name (no ``find``, whose argument parsing costs
more than the search)."""
_NAME_CACHE_SIZE = 512
_names: dict[bytes, str] = {}
"""Field names already validated (a few dozen in practice; bounded against floods)."""


# --------------------------------------------------------------------------- encoding


ENCODE_CACHE_SIZE = 512
"""Encoded fields remembered per wire form (a status heartbeat uses a dozen)."""
CACHED_VALUE_LEN = 64
"""Longer values are encoded every time, so a table stays under ~200 KB."""

FieldKey = tuple[str, FieldValue, FieldType]


class _EncodedFields:
    """One wire form of fields, with the forms of short fields remembered.

    Ten of the thirteen fields of our status heartbeat (and most of an ACK) repeat
    verbatim every keepalive: only ``seq``, ``ts`` and ``auth`` change. One loop with a
    dict lookup per field costs a fraction of encoding it (or of a cached function call
    per field). Long values (resource lists, client messages) are not remembered, and a
    full table is emptied, so memory stays bounded.
    """

    def __init__(self, encode: Callable[[str, FieldValue, FieldType], bytes]) -> None:
        self._encode = encode
        self._known: dict[FieldKey, bytes] = {}

    def join(self, fields: list[Field], skip: str = "") -> bytes:
        """The encodings of ``fields`` except those called ``skip``, concatenated."""
        known = self._known
        parts = []
        for f in fields:
            if f.name == skip:
                continue
            key = (f.name, f.value, f.type)
            part = known.get(key)
            if part is None:
                part = self._encode(*key)
                self._remember(key, part)
            parts.append(part)
        return b"".join(parts)

    def _remember(self, key: FieldKey, part: bytes) -> None:
        if len(key[1]) > CACHED_VALUE_LEN:
            return
        if len(self._known) >= ENCODE_CACHE_SIZE:
            self._known.clear()
        self._known[key] = part


def _value_bytes(name: str, value: FieldValue, ftype: FieldType) -> bytes:
    """Raw value bytes; a NUL in a string value would be cut by every C peer, so refuse it."""
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")
    # ``0 in raw``, not ``b"\0" in raw``: CPython first tries a bytes operand as an int
    # and raises and clears an exception inside, ten times slower.
    if ftype != FieldType.BINARY and 0 in raw:
        raise LocalProtocolError(f"string field {name!r} contains a NUL byte")
    return raw


@functools.lru_cache(maxsize=256)
def _name_bytes(name: str) -> bytes:
    """The name as ASCII; a name the decoder would refuse is a bug on our side.

    Cached: the same dozen names are encoded for every message we send.
    """
    if not name or not name.isascii() or "=" in name or not name.isprintable():
        raise LocalProtocolError(f"field name {name!r} cannot be put on the wire")
    if name.startswith(">>>"):
        raise LocalProtocolError(f"field name {name!r} starts with '>>>'")
    return name.encode("ascii")


def _classic_line(name: str, value: FieldValue, ftype: FieldType) -> bytes:
    """``[(t)]name=value\\n`` with binary as base64 and ``\\n`` in strings as 0x13."""
    prefix = b"" if ftype == FieldType.STRING else _TYPE_PREFIX[ftype]
    raw = _value_bytes(name, value, ftype)
    encoded = base64.b64encode(raw) if ftype == FieldType.BINARY else raw.replace(b"\n", b"\x13")
    return b"%s%s=%s\n" % (prefix, _name_bytes(name), encoded)


def _netstring_item(name: str, value: FieldValue, ftype: FieldType) -> bytes:
    """``L:(t)name=value,`` with the raw value."""
    item = b"%s%s=%s" % (_TYPE_PREFIX[ftype], _name_bytes(name), _value_bytes(name, value, ftype))
    return b"%d:%s," % (len(item), item)


_CLASSIC_LINES = _EncodedFields(_classic_line)
_NETSTRING_ITEMS = _EncodedFields(_netstring_item)


def classic_signing_text(msg: Message) -> bytes:
    """What the classic ``auth`` field signs: every other field as a classic line (§4.6a)."""
    return _CLASSIC_LINES.join(msg.fields, skip=AUTH_FIELD)


def add_classic_auth(msg: Message, auth: Authenticator) -> None:
    """Set (or replace in place) the ``auth`` field, as Heartbeat does before sending.

    Skipped for messages with struct/list/compressed fields, like ``msgfmt classic`` does.
    """
    if not _NESTED_TYPES.isdisjoint([f.type for f in msg.fields]):
        return
    msg.set(AUTH_FIELD, auth.token(classic_signing_text(msg)), FieldType.STRING)


def encode_netstring_body(msg: Message) -> bytes:
    """``###\\n`` + ``L:(t)name=value,`` per field (raw values) + ``%%%\\n``."""
    return NETSTRING_START + _NETSTRING_ITEMS.join(msg.fields) + NETSTRING_END


def encode_wire(msg: Message, auth: Authenticator, *, embed_auth: bool = True) -> bytes:
    """Exactly what Heartbeat 3.0.6 puts in a UDP datagram for ``msg`` (§4.5).

    ``msg`` is modified: its ``auth`` field is set, as the real daemon does with
    ``msgfmt classic`` (the default). ``embed_auth=False`` is ``msgfmt netstring``: the
    same netstring datagram without that field (the trailer alone authenticates it).
    """
    if auth.seals:
        data = auth.seal(encode_netstring_body(msg))
    else:
        if embed_auth:
            add_classic_auth(msg, auth)
        body = encode_netstring_body(msg)
        token = auth.token(body).encode("ascii")
        data = b"%s%d:%s," % (body, len(token), token)
    if len(data) > MAX_DATAGRAM:
        raise LocalProtocolError(f"message encodes to {len(data)} bytes > {MAX_DATAGRAM}")
    return data


def encode_classic(msg: Message, auth: Authenticator | None, nul: bool = False) -> bytes:
    """Classic ``>>>``...``<<<\\n`` text (serial links, the FIFO), signed when ``auth`` given.

    ``msg`` is modified when signed (its ``auth`` field is set).
    """
    if auth is not None:
        add_classic_auth(msg, auth)
    lines = _CLASSIC_LINES.join(msg.fields)
    return CLASSIC_START + lines + CLASSIC_END + (b"\0" if nul else b"")


def encode_classic_sealed(data: bytes) -> bytes:
    """An encrypted datagram as a classic frame (serial links frame classic text only):
    one binary field, base64 like every binary field, so no ``<<<`` line can appear."""
    return CLASSIC_START + _classic_line(SEALED_FIELD, data, FieldType.BINARY) + CLASSIC_END


# --------------------------------------------------------------------------- decoding


def decode_datagram(data: bytes, auth: Authenticator | None) -> Message:
    """Parse and authenticate one received datagram (netstring or classic form).

    Args:
        data: the raw datagram (or a classic text from a serial link / the FIFO).
        auth: verifies the message; ``None`` skips verification (tests and tools only).

    Raises:
        RemoteProtocolError: reason ``too_large``, ``bad_format``, ``bad_auth``,
            ``unknown_key``, ``unsupported_type`` or ``empty``, with a specific detail;
            ``plaintext`` for a Heartbeat packet when only encrypted datagrams are
            accepted, ``encrypted`` for an encrypted one that ``auth=None`` cannot read.
    """
    if not isinstance(data, bytes):
        data = bytes(data)
    if len(data) > MAX_DATAGRAM:
        raise RemoteProtocolError("too_large", f"{len(data)} bytes > {MAX_DATAGRAM}")
    if not data or data == b"\0":
        raise RemoteProtocolError("empty", "zero-length datagram")
    if data.startswith(NETSTRING_START):
        _check_plaintext_accepted(data, auth)
        return _decode_netstring(data, auth)
    if data.startswith(CLASSIC_START):
        return _decode_classic(data, auth)
    if aead.is_sealed(data):
        return _decode_sealed(data, auth)
    raise RemoteProtocolError(
        "bad_format", f"datagram starts with {data[:8]!r}, expected '###\\n' or '>>>\\n'"
    )


_CLAIMED_SRC = re.compile(rb"(?:\(0\)|\n)src=([^,\n]{1,64})")


def _check_plaintext_accepted(data: bytes, auth: Authenticator | None) -> None:
    """Refuse a Heartbeat-format packet when every key we accept encrypts: it comes
    from real Heartbeat (which cannot encrypt) or from a node with other authkeys."""
    if auth is None or auth.plaintext_accepted:
        return
    claimed = _CLAIMED_SRC.search(data[:512])
    who = (
        ""
        if claimed is None
        else f" from a node calling itself {claimed[1].decode(errors='replace')!r}"
    )
    methods = ", ".join(auth.sealing_methods)
    raise RemoteProtocolError(
        "plaintext",
        f"unencrypted Heartbeat packet{who}: authkeys here accepts only encrypted datagrams "
        f"({methods}); Heartbeat 3.0.6 cannot encrypt, so a cluster with Heartbeat nodes "
        "must use sha1 (or md5/crc) on every node - or this node's authkeys differs",
    )


def _decode_sealed(data: bytes, auth: Authenticator | None) -> Message:
    """Open an encrypted datagram and parse the netstring body inside (no trailer)."""
    if auth is None:
        raise RemoteProtocolError(
            "encrypted", f"encrypted datagram (key index {aead.sealed_index(data)}): no key given"
        )
    if not aead.is_sealed(data):
        raise RemoteProtocolError("bad_format", "'aead' field does not hold an encrypted datagram")
    body = auth.open(data)
    if not body.startswith(NETSTRING_START):
        raise RemoteProtocolError("bad_format", "decrypted datagram is not a netstring message")
    fields, body_end = _parse_netstring_fields(body)
    if body_end != len(body):
        raise RemoteProtocolError(
            "bad_format", f"{len(body) - body_end} bytes after '%%%\\n' in an encrypted datagram"
        )
    if not fields:
        raise RemoteProtocolError("empty", "encrypted message has no fields")
    return Message(fields)


def _decode_netstring(data: bytes, auth: Authenticator | None) -> Message:
    fields, body_end = _parse_netstring_fields(data)
    token = _parse_trailer(data, body_end)
    if not fields:
        raise RemoteProtocolError("empty", "netstring message has no fields")
    if auth is not None:
        if token is None:
            raise RemoteProtocolError("bad_auth", "no trailing auth netstring after '%%%\\n'")
        auth.verify(data[:body_end], token)
    return Message(fields)


def _parse_netstring_fields(data: bytes) -> tuple[list[Field], int]:
    """Fields of the body and the offset just past ``%%%\\n``.

    One tight loop for well-formed bodies (every check of the careful parser, done with
    as few calls as possible: this runs for every packet); the first anomaly hands the
    whole datagram to :func:`_parse_netstring_fields_checked`, which names the problem.
    """
    fields: list[Field] = []
    append = fields.append
    match = _ITEM_HEAD.match
    names = _names
    size = len(data)
    pos = 4  # len(NETSTRING_START)
    binary, string = FieldType.BINARY, FieldType.STRING
    while (head := match(data, pos)) is not None:  # "%%%\n" is no item head: checked below
        if len(fields) >= MAX_FIELDS:
            return _parse_netstring_fields_checked(data)
        digits, type_digit, raw_name = head.groups()
        value_start = head.end()
        end = pos + len(digits) + 1 + int(digits)
        if end >= size or data[end] != 0x2C or value_start > end:
            return _parse_netstring_fields_checked(data)
        name = names.get(raw_name)
        if name is None:
            name = _new_name(raw_name)
            if name is None:
                return _parse_netstring_fields_checked(data)
        raw = data[value_start:end]
        if type_digit == b"1":
            append(Field(name, raw, binary))
        elif 0 in raw:  # a NUL byte (see _value_bytes)
            return _parse_netstring_fields_checked(data)
        else:
            append(Field(name, raw.decode("utf-8", "surrogateescape"), string))
        pos = end + 1
    if data[pos : pos + 4] != NETSTRING_END:
        return _parse_netstring_fields_checked(data)
    return fields, pos + len(NETSTRING_END)


def _new_name(raw: bytes) -> str | None:
    """Validate a field name seen for the first time; None when the checked path must
    explain why it is bad."""
    if not raw.isascii():
        return None
    name = raw.decode("ascii")
    if not name or not name.isprintable() or name.startswith(">>>"):
        return None
    if len(_names) < _NAME_CACHE_SIZE:
        _names[raw] = name
    return name


def _parse_netstring_fields_checked(data: bytes) -> tuple[list[Field], int]:
    """The careful parser: every length bounded, every problem named precisely."""
    fields: list[Field] = []
    pos = len(NETSTRING_START)
    while not data.startswith(NETSTRING_END, pos):
        if len(fields) >= MAX_FIELDS:
            raise RemoteProtocolError("too_large", f"more than {MAX_FIELDS} fields")
        start, end = _netstring_span(data, pos)
        fields.append(_netstring_field(data, start, end))
        pos = end + 1
    return fields, pos + len(NETSTRING_END)


def _netstring_span(data: bytes, pos: int) -> tuple[int, int]:
    """``(start, end)`` of the payload of the netstring at ``pos``; ``data[end]`` is ``,``."""
    colon = data.find(b":", pos, pos + MAX_LENGTH_DIGITS + 1)
    digits = data[pos:colon] if colon > pos else b""
    if not digits.isdigit() or (digits[0] == 0x30 and len(digits) > 1):
        raise RemoteProtocolError("bad_format", _bad_length_detail(data, pos))
    length = int(digits)
    start = colon + 1
    end = start + length
    if end >= len(data):
        remaining = len(data) - start
        problem = "exceeds" if length > remaining else "leaves no room for ',' in"
        raise RemoteProtocolError(
            "bad_format",
            f"netstring length {length} {problem} remaining {remaining} bytes at offset {pos}",
        )
    if data[end] != 0x2C:
        raise RemoteProtocolError(
            "bad_format",
            f"expected ',' after {length}-byte netstring at offset {pos}, "
            f"got {data[end : end + 1]!r}",
        )
    return start, end


def _bad_length_detail(data: bytes, pos: int) -> str:
    """Explain why no ``digits:`` prefix was found at ``pos`` (failure path only)."""
    if pos >= len(data):
        return f"truncated at offset {pos}: missing '%%%\\n' terminator"
    head = data[pos : pos + MAX_LENGTH_DIGITS + 1]
    if head.isdigit() and len(head) > MAX_LENGTH_DIGITS:
        return f"netstring length at offset {pos} has more than {MAX_LENGTH_DIGITS} digits"
    digits = head.partition(b":")[0]
    if digits.isdigit() and digits.startswith(b"0"):
        return f"netstring length {digits!r} at offset {pos} has a leading zero"
    if b":" not in head and head.isdigit():
        return f"truncated netstring length at offset {pos}: {head!r} has no ':'"
    return f"expected a decimal netstring length at offset {pos}, got {head!r}"


def _netstring_field(data: bytes, start: int, end: int) -> Field:
    """One ``(t)name=value`` item between ``start`` and ``end``."""
    if end - start < 5 or data[start] != 0x28 or data[start + 2] != 0x29:
        raise RemoteProtocolError(
            "bad_format", f"netstring item at offset {start} does not start with '(t)name='"
        )
    ftype = _field_type(data[start + 1], "offset", start)
    eq = data.find(b"=", start + 3, end)
    if eq < 0:
        raise RemoteProtocolError("bad_format", f"netstring item at offset {start} has no '='")
    name = _field_name(data[start + 3 : eq], "offset", start)
    raw = data[eq + 1 : end]
    if ftype is FieldType.BINARY:
        return Field(name, raw, ftype)
    if 0 in raw:
        raise RemoteProtocolError("bad_format", f"string field {name!r} contains a NUL byte")
    return Field(name, raw.decode("utf-8", "surrogateescape"), ftype)


def _field_type(digit: int, unit: str, number: int) -> FieldType:
    """Map the type digit; ``unit number`` (e.g. ``offset 44``) says where, for messages."""
    ftype = _FIELD_TYPES.get(digit)
    if ftype is not None:
        return ftype
    if digit in _UNSUPPORTED_TYPE_DIGITS:
        raise RemoteProtocolError(
            "unsupported_type",
            f"field type {chr(digit)} (struct/list/compressed) at {unit} {number} "
            "is not used by v1",
        )
    raise RemoteProtocolError(
        "bad_format", f"field type {bytes([digit])!r} at {unit} {number} is not a digit 0..4"
    )


def _field_name(raw: bytes, unit: str, number: int) -> str:
    """A name must be non-empty printable ASCII and must not start with ``>>>``."""
    if raw.isascii():
        name = raw.decode("ascii")
        if name and name.isprintable() and not name.startswith(">>>"):
            return name
    if not raw:
        problem = "is empty"
    elif not raw.isascii():
        problem = "is not ASCII"
    elif raw.startswith(b">>>"):
        problem = "starts with '>>>'"
    else:
        problem = "contains a control character"
    raise RemoteProtocolError("bad_format", f"field name at {unit} {number} {problem}")


def _parse_trailer(data: bytes, pos: int) -> str | None:
    """The trailing auth token after ``%%%\\n``, or ``None`` when there is none."""
    if pos >= len(data) or data[pos:] == b"\0":
        return None
    start, end = _netstring_span(data, pos)
    rest = data[end + 1 :]
    if rest and rest != b"\0":
        raise RemoteProtocolError(
            "bad_format", f"{len(rest)} bytes after the auth netstring at offset {end + 1}"
        )
    if end - start > MAX_TOKEN_LEN:
        raise RemoteProtocolError("bad_auth", f"trailing auth token is {end - start} bytes long")
    raw = data[start:end]
    if not raw.isascii():
        raise RemoteProtocolError("bad_auth", "trailing auth token is not ASCII")
    return raw.decode("ascii")


def _decode_classic(data: bytes, auth: Authenticator | None) -> Message:
    fields = _parse_classic_fields(_classic_body(data))
    if not fields:
        raise RemoteProtocolError("empty", "classic message has no fields")
    first = fields[0]
    if len(fields) == 1 and first.name == SEALED_FIELD and isinstance(first.value, bytes):
        return _decode_sealed(first.value, auth)
    _check_plaintext_accepted(data, auth)
    msg = Message(fields)
    if auth is not None:
        token = msg.get(AUTH_FIELD)
        if token is None:
            raise RemoteProtocolError("bad_auth", "classic message has no auth field")
        auth.verify(classic_signing_text(msg), token)
    return msg


def _classic_body(data: bytes) -> bytes:
    """The lines between ``>>>\\n`` and ``<<<``; a trailing NUL is tolerated."""
    if data.endswith(b"\0"):
        data = data[:-1]
    nul = data.find(b"\0")
    if nul >= 0:
        raise RemoteProtocolError("bad_format", f"NUL byte at offset {nul} in classic message")
    if data.endswith(CLASSIC_END):
        body = data[len(CLASSIC_START) : -len(CLASSIC_END)]
    elif data.endswith(b"\n<<<"):
        body = data[len(CLASSIC_START) : -3]
    else:
        raise RemoteProtocolError("bad_format", "classic message does not end with '<<<'")
    if b"\n<<<\n" in body or body.startswith(b"<<<\n"):
        raise RemoteProtocolError("bad_format", "data after the '<<<' terminator")
    return body


def _parse_classic_fields(body: bytes) -> list[Field]:
    """Blank lines are skipped (C-level filter: a datagram of newlines stays cheap)."""
    lines = list(filter(None, body.split(b"\n")))
    if len(lines) > MAX_FIELDS:
        raise RemoteProtocolError("too_large", f"{len(lines)} fields > {MAX_FIELDS}")
    return [_classic_field(line, number) for number, line in enumerate(lines, start=1)]


def _classic_field(line: bytes, number: int) -> Field:
    """One ``[(t)]name=value`` line; ``number`` counts non-blank lines, for messages."""
    ftype = FieldType.STRING
    if line.startswith(b"("):
        if len(line) < 3 or line[2] != 0x29:
            raise RemoteProtocolError("bad_format", f"field line {number}: malformed '(t)' prefix")
        ftype = _field_type(line[1], "field line", number)
        line = line[3:]
    raw_name, sep, raw = line.partition(b"=")
    if not sep:
        raise RemoteProtocolError("bad_format", f"field line {number} has no '='")
    name = _field_name(raw_name, "field line", number)
    if ftype is FieldType.BINARY:
        try:
            return Field(name, binascii.a2b_base64(raw, strict_mode=True), ftype)
        except ValueError as exc:  # binascii.Error is a ValueError
            raise RemoteProtocolError(
                "bad_format", f"field line {number}: field {name!r} is not valid base64 ({exc})"
            ) from None
    value = raw.replace(b"\x13", b"\n").decode("utf-8", "surrogateescape")
    return Field(name, value, ftype)
