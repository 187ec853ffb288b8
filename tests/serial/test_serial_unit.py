"""Serial medium pieces: classic framer, pacing, UUCP lock, and a link on a real pty."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import subprocess
import termios
from pathlib import Path

import pytest

from engine.config.hacf import BAUD_RATES
from engine.config.model import MediumKind, MediumSpec, SourceRef
from engine.core.linkplan import LinkPlan
from engine.protocol.auth import Authenticator
from engine.protocol.codec import MAX_DATAGRAM, decode_datagram, encode_wire
from engine.protocol.message import Message
from engine.transport import serial as ser
from engine.transport.serial import ClassicFramer, SerialLink, UucpLock, check_serial_device
from tests.core.sim import KEY

AUTH = Authenticator(KEY)


def test_framer_discards_noise_and_reassembles_across_reads() -> None:
    framer = ClassicFramer()
    assert framer.feed(b"garbage\nmore\r\n>>>\nt=sta") == []
    assert framer.feed(b"tus\r\nsrc=alpha\n<<") == []
    assert framer.feed(b"<\n>>>\nt=x\n<<<\n") == [
        b">>>\nt=status\nsrc=alpha\n<<<\n",
        b">>>\nt=x\n<<<\n",
    ]


def test_framer_drops_a_frame_that_restarts_or_never_ends() -> None:
    framer = ClassicFramer()
    assert framer.feed(b">>>\na=1\n>>>\nb=2\n<<<\n") == [b">>>\nb=2\n<<<\n"]
    assert framer.dropped == 1
    big = b">>>\n" + (b"x=" + b"y" * 1000 + b"\n") * (MAX_DATAGRAM // 1000 + 2)
    assert framer.feed(big + b"<<<\n") == []
    assert framer.dropped == 2
    assert framer.feed(b">>>\nok=1\n<<<\n") == [b">>>\nok=1\n<<<\n"]


def test_pacing_and_capacity_follow_the_baud_rate() -> None:
    assert ser.fragment_pause(19200) == pytest.approx(0.2133, abs=1e-3)
    assert ser.line_capacity(19200) == 1920
    assert set(BAUD_RATES) == {9600, 19200, 38400, 57600, 115200, 230400, 460800}


def test_device_checks_use_heartbeats_wording(tmp_path: Path) -> None:
    assert check_serial_device("ttyS0") == "Serial port not full pathname [ttyS0]"
    assert (
        check_serial_device(str(tmp_path / "nope")) == f"Nonexistent serial port [{tmp_path}/nope]"
    )
    assert check_serial_device(str(tmp_path)) == f"Serial port [{tmp_path}] not a char device"
    assert check_serial_device("/dev/null") is None


def test_uucp_lock_refuses_a_live_owner_and_replaces_a_stale_one(tmp_path: Path) -> None:
    lock_file = tmp_path / "LCK..ttyS7"
    lock_file.write_text(f"{os.getppid():10d}\n")
    lock = UucpLock("/dev/ttyS7", str(tmp_path))
    refusal = lock.acquire()
    assert refusal and "locked by process" in refusal
    assert not lock.held
    lock_file.write_text(f"{2**22 + 12345:10d}\n")  # no such pid
    assert lock.acquire() is None
    assert lock_file.read_text() == f"{os.getpid():10d}\n"
    lock.release()
    assert not lock_file.exists()


def plan_for(path: str) -> LinkPlan:
    spec = MediumSpec(MediumKind.SERIAL, path, SourceRef("ha.cf", 1), dev=path)
    return LinkPlan(path, MediumKind.SERIAL, (spec,))


def status_datagram(extra: int = 0) -> bytes:
    msg = Message.of(
        ("t", "status"),
        ("st", "active"),
        ("src", "alpha"),
        ("seq", "1"),
        ("ts", "6a0b1c2d"),
        ("pad", "p" * extra),
    )
    return encode_wire(msg, AUTH)


def read_all(fd: int, until: bytes, timeout: float = 5.0) -> bytes:
    import select
    import time

    data, deadline = b"", time.monotonic() + timeout
    while until not in data and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            data += os.read(fd, 65536)
    return data


async def test_link_writes_signed_classic_in_fragments_and_reads_frames(tmp_path: Path) -> None:
    master, slave = os.openpty()
    path = os.ttyname(slave)
    got: list[tuple[bytes, str]] = []
    link = SerialLink(plan_for(path), 115200, AUTH, lock_dir=str(tmp_path))
    await link.open(lambda data, name: got.append((data, name)))
    try:
        assert link.is_open
        assert (tmp_path / f"LCK..{os.path.basename(path)}").exists()
        big = status_datagram(extra=1500)
        assert link.send(big)
        loop = asyncio.get_running_loop()
        start = loop.time()
        text = await asyncio.to_thread(read_all, master, b"<<<\n")
        took = loop.time() - start
        assert text.startswith(b">>>\n") and text.endswith(b"<<<\n")
        msg = decode_datagram(text, AUTH)  # re-signed with the classic auth field
        assert msg.get("pad") == "p" * 1500
        # ~1.7 kB = 4 fragments: three pauses of 512/(115200/8) s
        assert took >= 3 * ser.fragment_pause(115200) * 0.9
        os.write(master, b"noise\n" + decode_and_classic(status_datagram()))
        for _ in range(100):
            if got:
                break
            await asyncio.sleep(0.01)
        assert got and got[0][1] == path
        assert decode_datagram(got[0][0], AUTH).get("st") == "active"
    finally:
        link.close()
        os.close(master)
        os.close(slave)


def decode_and_classic(data: bytes) -> bytes:
    from engine.protocol.codec import encode_classic

    return encode_classic(decode_datagram(data, None), AUTH)


async def test_port_loss_is_detected_and_reopen_is_retried(tmp_path: Path) -> None:
    master, slave = os.openpty()
    path = os.ttyname(slave)
    os.close(slave)
    link = SerialLink(plan_for(path), 19200, AUTH, lock_dir=str(tmp_path))
    await link.open(lambda data, name: None)
    try:
        assert link.is_open
        os.close(master)  # the other end goes away: reads fail with EIO
        for _ in range(200):
            if not link.is_open:
                break
            await asyncio.sleep(0.01)
        assert not link.is_open
        assert not link.send(status_datagram())  # counted as a write error, never raises
        assert link.stats.send_errors == 1
    finally:
        link.close()
    assert not os.listdir(tmp_path), "lock file left behind"


async def wait_until_async(predicate: object, timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.02)
    return False


@pytest.mark.parametrize("baud", BAUD_RATES)
async def test_port_is_set_up_as_heartbeat_does(tmp_path: Path, baud: int) -> None:
    """Read the tty modes back from the pty after the link opened it (spec §5.4)."""
    master, slave = os.openpty()
    path = os.ttyname(slave)
    link = SerialLink(plan_for(path), baud, AUTH, lock_dir=str(tmp_path))
    await link.open(lambda data, name: None)
    try:
        assert link.is_open
        iflag, oflag, cflag, lflag, ispeed, ospeed, cc = termios.tcgetattr(slave)
        speed = getattr(termios, f"B{baud}")
        assert (ispeed, ospeed) == (speed, speed)
        assert cflag & termios.CSIZE == termios.CS8  # 8N1
        assert not cflag & (termios.PARENB | termios.CSTOPB)
        for flag in (termios.CREAD, termios.CLOCAL, termios.CRTSCTS):
            assert cflag & flag, flag
        for flag in (termios.INPCK, termios.ISTRIP, termios.IGNCR, termios.BRKINT):
            assert iflag & flag, flag
        cleared = termios.IGNBRK | termios.IUCLC | termios.IXANY | termios.IXOFF | termios.IXON
        assert not iflag & (cleared | termios.ICRNL | termios.PARMRK)
        assert not oflag & termios.OPOST
        assert not lflag & (termios.ICANON | termios.ECHO | termios.ISIG | termios.IEXTEN)
        assert (cc[termios.VMIN], cc[termios.VTIME]) == (1, 1)
        assert link._fd is not None
        assert fcntl.fcntl(link._fd, fcntl.F_GETFL) & os.O_NONBLOCK
    finally:
        link.close()
        os.close(master)
        os.close(slave)


async def test_a_second_opener_is_refused_by_the_exclusive_flock(tmp_path: Path) -> None:
    master, slave = os.openpty()
    path = os.ttyname(slave)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = SerialLink(plan_for(path), 19200, AUTH, lock_dir=str(tmp_path / "a"))
    second = SerialLink(plan_for(path), 19200, AUTH, lock_dir=str(tmp_path / "b"))
    await first.open(lambda data, name: None)
    try:
        problem = await second._try_open()
        assert problem is not None and "exclusively lock" in problem, problem
        assert not second.is_open
        assert not (tmp_path / "b" / f"LCK..{os.path.basename(path)}").exists()
    finally:
        second.close()
        first.close()
        os.close(master)
        os.close(slave)


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


async def test_link_writes_heartbeats_uucp_lock_and_takes_over_a_stale_one(
    tmp_path: Path,
) -> None:
    master, slave = os.openpty()
    path = os.ttyname(slave)
    lock_file = tmp_path / f"LCK..{os.path.basename(path)}"
    lock_file.write_text(f"{dead_pid():10d}\n")
    link = SerialLink(plan_for(path), 19200, AUTH, lock_dir=str(tmp_path))
    await link.open(lambda data, name: None)
    try:
        assert link.is_open
        assert lock_file.read_bytes() == b"%10d\n" % os.getpid()  # HDB: 10 wide + newline
        assert len(lock_file.read_bytes()) == 11
        assert lock_file.stat().st_mode & 0o777 == 0o644
        assert sorted(os.listdir(tmp_path)) == [lock_file.name]  # no temporary file left
    finally:
        link.close()
        os.close(master)
        os.close(slave)
    assert not lock_file.exists(), "lock not removed on close"


async def test_a_live_lock_is_refused_with_its_owner_and_taken_once_it_dies(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    master, slave = os.openpty()
    path = os.ttyname(slave)
    lock_file = tmp_path / f"LCK..{os.path.basename(path)}"
    holder = subprocess.Popen(["sleep", "30"])
    lock_file.write_text(f"{holder.pid:10d}\n")
    link = SerialLink(plan_for(path), 19200, AUTH, lock_dir=str(tmp_path))
    try:
        with caplog.at_level(logging.ERROR, logger="heartbeat"):
            await link.open(lambda data, name: None)
        assert not link.is_open
        message = caplog.text
        assert f"{path} is in use: locked by process {holder.pid} ({lock_file})" in message
        assert "retrying in background" in message
        assert lock_file.read_text() == f"{holder.pid:10d}\n"  # a live lock is left alone
        holder.kill()
        holder.wait()
        assert await wait_until_async(lambda: link.is_open, 5), "stale lock not taken over"
        assert lock_file.read_text() == f"{os.getpid():10d}\n"
    finally:
        holder.kill()
        holder.wait()
        link.close()
        os.close(master)
        os.close(slave)
    assert not lock_file.exists()
