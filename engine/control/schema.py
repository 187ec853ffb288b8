"""The control-socket protocol: JSON objects, one per line, over a Unix stream socket.

Rules of this module: pure data and pure functions (no sockets). Both the server and the
client build and check their lines here, so the wire format lives in exactly one place.
See docs/architecture.md ("control socket") for the contract.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from engine.errors import HeartbeatError

MAX_REQUEST_BYTES = 64 * 1024
"""A request line longer than this is answered with ``bad_request`` and discarded."""

STREAM_LIMIT = 1 << 20
"""asyncio stream buffer limit on both ends (a status document can be large)."""

PROTOCOL_VERSION = 1

# Error codes carried in ``{"ok": false, "code": ...}`` replies.
BAD_REQUEST = "bad_request"
FORBIDDEN = "forbidden"
REFUSED = "refused"
UNKNOWN_CMD = "unknown_cmd"
INTERNAL = "internal"
DISCONNECTED = "disconnected"
"""Client side only: the connection went away before the reply came."""

READ_ONLY_VERBS = frozenset({"hello", "status", "subscribe", "hbparameter", "ping"})
"""Verbs anybody who can open the socket may use."""


class CommandRefused(HeartbeatError):
    """The handler will not do what was asked now; ``reason`` is shown to the operator."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ControlError(HeartbeatError):
    """A request failed: the server replied ``ok: false`` or the connection broke."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class PeerInfo:
    """Who is on the other end of a control connection (SO_PEERCRED, SO_PEERGROUPS)."""

    uid: int
    gid: int
    pid: int
    user: str
    can_act: bool
    cmdline: str = ""
    groups: tuple[int, ...] = field(default=())
    reason: str = ""
    """Why ``can_act`` is what it is (e.g. "same user as the engine ... may act")."""

    def as_dict(self) -> dict[str, Any]:
        """The ``peer`` part of the ``hello`` reply."""
        return {
            "uid": self.uid,
            "gid": self.gid,
            "pid": self.pid,
            "user": self.user,
            "can_act": self.can_act,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Request:
    """One well-formed request line."""

    id: int
    cmd: str
    args: dict[str, Any]


class RequestError(Exception):
    """A request line we cannot serve; ``request_id`` is echoed when it could be read."""

    def __init__(self, code: str, message: str, request_id: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


def parse_request(line: bytes, known_verbs: frozenset[str]) -> Request:
    """Check one request line (without or with its newline) and return it typed.

    Raises:
        RequestError: with code ``bad_request`` or ``unknown_cmd`` and a message that
            says exactly what is wrong.
    """
    if len(line) > MAX_REQUEST_BYTES:
        raise RequestError(
            BAD_REQUEST, f"request line is {len(line)} bytes; the limit is {MAX_REQUEST_BYTES}"
        )
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestError(BAD_REQUEST, f"request is not valid UTF-8: {exc}") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RequestError(BAD_REQUEST, f"request is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise RequestError(BAD_REQUEST, f"request must be a JSON object, not {type(obj).__name__}")
    return _check_fields(obj, known_verbs)


def _check_fields(obj: dict[str, Any], known_verbs: frozenset[str]) -> Request:
    raw_id = obj.get("id")
    if "id" not in obj:
        raise RequestError(BAD_REQUEST, 'request has no "id" (an integer is required)')
    if not isinstance(raw_id, int) or isinstance(raw_id, bool):
        raise RequestError(BAD_REQUEST, f'"id" must be an integer, not {raw_id!r}')
    request_id: int = raw_id
    cmd = obj.get("cmd")
    if not isinstance(cmd, str):
        what = "missing" if "cmd" not in obj else f"not a string ({cmd!r})"
        raise RequestError(BAD_REQUEST, f'"cmd" is {what}', request_id)
    args = obj.get("args", {})
    if not isinstance(args, dict):
        raise RequestError(
            BAD_REQUEST, f'"args" must be a JSON object, not {type(args).__name__}', request_id
        )
    extra = sorted(set(obj) - {"id", "cmd", "args"})
    if extra:
        names = ", ".join(extra)
        raise RequestError(BAD_REQUEST, f"unexpected request fields: {names}", request_id)
    if cmd not in known_verbs:
        known = ", ".join(sorted(known_verbs))
        raise RequestError(UNKNOWN_CMD, f"unknown command {cmd!r}; known: {known}", request_id)
    return Request(id=request_id, cmd=cmd, args=args)


def encode_json(value: Any) -> bytes:
    """Compact JSON, as every line carries it (anything else is written as its text)."""
    return json.dumps(value, separators=(",", ":"), default=str).encode("utf-8")


def _line(obj: dict[str, Any]) -> bytes:
    return encode_json(obj) + b"\n"


def encode_request(request_id: int, cmd: str, args: dict[str, Any]) -> bytes:
    """One request line."""
    return _line({"id": request_id, "cmd": cmd, "args": args})


def encode_result(request_id: int, result: Any) -> bytes:
    """One ``ok: true`` reply line."""
    return _line({"id": request_id, "ok": True, "result": result})


def encode_result_json(request_id: int, result_json: bytes) -> bytes:
    """One ``ok: true`` reply line around an already-encoded result."""
    return b'{"id":%d,"ok":true,"result":%s}\n' % (request_id, result_json)


def subscribe_result_json(snapshot: bytes, seq: int, timeline: bytes, log: bytes) -> bytes:
    """The ``subscribe`` result from its encoded parts (each shared by many replies)."""
    return b'{"snapshot":%s,"seq":%d,"timeline":%s,"log":%s}' % (snapshot, seq, timeline, log)


def encode_error(request_id: int | None, code: str, message: str) -> bytes:
    """One ``ok: false`` reply line (``id`` is null when the request had none)."""
    return _line({"id": request_id, "ok": False, "error": message, "code": code})


def event_body(data_json: bytes) -> bytes:
    """The end of an event line, the same for every client: its data and the newline."""
    return data_json + b"}\n"


def event_head(event: str, seq: int) -> bytes:
    """The start of an event line, one client's own: the event's name and its seq."""
    return f'{{"event":{json.dumps(event)},"seq":{seq},"data":'.encode()


def decode_line(line: bytes) -> dict[str, Any]:
    """Parse a reply or event line (client side).

    Raises:
        ControlError: code ``bad_reply`` when the server sent something unreadable.
    """
    try:
        obj = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ControlError("bad_reply", f"server sent a line that is not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ControlError("bad_reply", f"server sent a JSON {type(obj).__name__}, not an object")
    return obj
