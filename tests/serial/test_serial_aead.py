"""Encrypted datagrams on a serial line (issue 15 part 4): one base64 field per frame."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from engine.config.model import AuthConfig, AuthKey, SourceRef
from engine.protocol.auth import Authenticator
from engine.protocol.codec import decode_datagram, encode_classic_sealed, encode_wire
from engine.protocol.message import Message
from engine.transport.serial import ClassicFramer, SerialLink
from tests.serial.test_serial_unit import plan_for, read_all

AUTH = Authenticator(
    AuthConfig(1, (AuthKey(1, "aes256gcm", b"serial-secret-0123456789abcdef", SourceRef("a", 2)),))
)


def sealed_status() -> bytes:
    msg = Message.of(("t", "status"), ("st", "active"), ("src", "alpha"), ("seq", "1"))
    msg.set("ts", "6a0b1c2d")
    return encode_wire(msg, AUTH)


def test_framer_passes_a_sealed_frame_whole() -> None:
    frame = encode_classic_sealed(sealed_status())
    framer = ClassicFramer()
    half = len(frame) // 2
    assert framer.feed(b"noise\n" + frame[:half]) == []
    assert framer.feed(frame[half:]) == [frame]
    assert decode_datagram(frame, AUTH).get("st") == "active"


async def test_link_sends_and_receives_sealed_frames_on_a_real_pty(tmp_path: Path) -> None:
    master, slave = os.openpty()
    path = os.ttyname(slave)
    got: list[bytes] = []
    link = SerialLink(plan_for(path), 115200, AUTH, lock_dir=str(tmp_path))
    await link.open(lambda data, name: got.append(data))
    try:
        assert link.send(sealed_status())
        text = await asyncio.to_thread(read_all, master, b"<<<\n")
        assert text.startswith(b">>>\n(1)aead=") and b"alpha" not in text
        assert decode_datagram(text, AUTH).get("src") == "alpha"
        os.write(master, encode_classic_sealed(sealed_status()))
        for _ in range(100):
            if got:
                break
            await asyncio.sleep(0.01)
        assert got and decode_datagram(got[0], AUTH).get("st") == "active"
    finally:
        link.close()
        os.close(master)
        os.close(slave)
