"""The netstring fast path agrees with the careful parser on every input.

``_parse_netstring_fields`` (one tight loop for well-formed bodies) must give the same
fields, or the very same error, as ``_parse_netstring_fields_checked`` for anything the
network can send; the fuzz mutators of test_fuzz_and_speed drive both.
"""

from __future__ import annotations

import random

import pytest

from engine.errors import RemoteProtocolError
from engine.protocol import codec
from engine.protocol.message import Field, FieldType, Message
from tests.protocol.test_fuzz_and_speed import MUTATORS, _corpus

Outcome = tuple[str, object]


def _outcome(parse: object, data: bytes) -> Outcome:
    try:
        fields, end = parse(data)  # type: ignore[operator]
    except RemoteProtocolError as exc:
        return ("error", (exc.reason, exc.detail))
    return ("ok", ([(f.name, f.value, f.type) for f in fields], end))


def test_fast_and_checked_parsers_agree_on_mutated_packets() -> None:
    rng = random.Random(7)
    seeds = [s for s in _corpus() if s.startswith(codec.NETSTRING_START)]
    agreed_ok = 0
    for _ in range(20000):
        data = rng.choice(seeds)
        for _ in range(rng.randrange(1, 4)):
            data = rng.choice(MUTATORS)(rng, data)
        if not data.startswith(codec.NETSTRING_START):
            continue
        fast = _outcome(codec._parse_netstring_fields, data)
        checked = _outcome(codec._parse_netstring_fields_checked, data)
        assert fast == checked, data
        agreed_ok += fast[0] == "ok"
    assert agreed_ok > 100  # the comparison also covered inputs that parse


@pytest.mark.parametrize(
    "body",
    [
        b"###\n6:(0)t=a,%%%\n",  # well formed
        b"###\n06:(0)t=ab,%%%\n",  # leading zero
        b"###\n5:(2)t=a,%%%\n",  # struct type
        b"###\n6:(0)\x01=ab,%%%\n",  # control character in the name
        b"###\n8:(0)>>>t=a,%%%\n",  # name starts with >>>
        b"###\n7:(0)t=a\0b,%%%\n",  # NUL in a string
        b"###\n7:(1)u=a\0b,%%%\n",  # NUL in a binary value is fine
        b"###\n4:(0)t=,%%%\n",  # too short for (t)name=
        b"###\n99:(0)t=a,%%%\n",  # length past the end
        b"###\n6:(0)t=a;%%%\n",  # no comma
        b"###\n6:(0)t=a,",  # no terminator
        b"###\n6:(0)=abc,%%%\n",  # empty name
        b"###\n6:(0)abc,=x,%%%\n",  # the first '=' is past the item
        b"###\n72:(0)" + b"n" * 66 + b"=v,%%%\n",  # a name too long for the fast pattern
    ],
)
def test_edge_cases_agree(body: bytes) -> None:
    fast = _outcome(codec._parse_netstring_fields, body)
    assert fast == _outcome(codec._parse_netstring_fields_checked, body)


def test_message_index_follows_every_change() -> None:
    msg = Message([Field("t", "status"), Field("x", b"\x01", FieldType.BINARY), Field("x", "s")])
    assert msg.get("x") == "s"  # the first string field, as before the index
    assert msg.get_bytes("x") == b"\x01"
    msg.set("t", "resource")
    assert msg.type == "resource" and msg.fields[0].value == "resource"
    msg.append("t", "shadowed")
    assert msg.type == "resource"
    msg.set("new", "v")
    assert "new" in msg and msg.fields[-1].name == "new"
    msg.remove("t")
    assert "t" not in msg and msg.type is None
    msg.append("t", "again")
    assert msg.type == "again"
    copy = msg.copy()
    copy.set("new", "changed")
    assert msg.get("new") == "v" and copy.get("new") == "changed"
