"""The remembered field encodings: same bytes as encoding afresh, bounded memory."""

from __future__ import annotations

from engine.protocol import codec
from engine.protocol.message import Message


def _sample() -> Message:
    return Message.of(("t", "x"), ("v", "a\nb"), ("u", b"\x00\xff"))


def test_remembered_encodings_give_the_same_bytes() -> None:
    for _ in range(2):  # the second round comes from the tables
        msg = _sample()
        assert codec.encode_netstring_body(msg) == (
            b"###\n6:(0)t=x,8:(0)v=a\nb,7:(1)u=\x00\xff,%%%\n"
        )
        assert codec.classic_signing_text(msg) == b"t=x\nv=a\x13b\n(1)u=AP8=\n"


def test_tables_stay_bounded_and_skip_long_values() -> None:
    long_value = "L" * (codec.CACHED_VALUE_LEN + 1)
    for n in range(3 * codec.ENCODE_CACHE_SIZE):
        codec.encode_netstring_body(Message.of(("seq", format(n, "x")), ("big", long_value)))
    known = codec._NETSTRING_ITEMS._known
    assert 0 < len(known) <= codec.ENCODE_CACHE_SIZE
    assert all(value != long_value for _, value, _ in known)
    assert codec.encode_netstring_body(_sample()).startswith(b"###\n6:(0)t=x,")
