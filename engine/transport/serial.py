"""Serial heartbeat medium: ``serial /dev/ttyS0`` at ``baud`` (spec §5.4).

What Heartbeat's serial plugin does, and so do we:

* the port is opened with a UUCP lock (``/var/lock/LCK..ttyS0``) and put in raw mode
  (``IGNCR``, ``ISTRIP``, ``CS8 CREAD CLOCAL CRTSCTS``, no ``OPOST``/``ICANON``/``ECHO``,
  ``VMIN=1 VTIME=1``), flushed, and a break is sent;
* only the classic ``>>>``/``<<<`` text goes on the wire: every outgoing wire message is
  converted to classic form and re-signed with the ``auth`` field (an encrypted datagram,
  hatui's ``aes256gcm``/``chacha20poly1305``, travels whole in one base64 field);
* a message is written in 512-byte fragments with a pause of ``512 / (baud / 8)``
  seconds between fragments, each write bounded by a 500 ms timeout;
* the reader discards everything until a ``>>>`` line, collects lines until ``<<<`` and
  hands the classic text up.

pyserial opens and configures the port (8N1, baud, RTS/CTS, no XON/XOFF, exclusive,
non-blocking); the few modes it does not know are added on top. The open runs once on a
worker thread because a break blocks for a quarter second on real hardware; after that
the port's fd lives on the event loop (``add_reader``/``add_writer``), no thread polls.

Our addition: a port that vanishes (USB adapter pulled, pty bridge gone) is closed and
reopened with exponential backoff, and both events are logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import stat
import termios
import time
from collections import deque
from pathlib import Path
from typing import Any

import serial

from engine.core.linkplan import LinkPlan
from engine.errors import RemoteProtocolError
from engine.process.pids import pid_alive
from engine.protocol.aead import is_sealed
from engine.protocol.auth import Authenticator
from engine.protocol.codec import (
    MAX_DATAGRAM,
    decode_datagram,
    encode_classic,
    encode_classic_sealed,
)
from engine.transport.base import DatagramHandler, Link

logger = logging.getLogger("heartbeat")

FRAGMENT = 512
"""Bytes written per fragment (Heartbeat's serial ``FRAGSIZE``)."""
WRITE_TIMEOUT = 0.5
"""Seconds one fragment may wait for the port to accept it."""
WRITE_TIMEOUT_LOG_EVERY = 3600.0
"""Heartbeat logs the TTY write timeout at most hourly."""
MAX_QUEUE = 64
"""Messages waiting for the port; older ones are discarded beyond this."""
REOPEN_FIRST = 0.5
REOPEN_MAX = 10.0
LOCK_DIRS = ("/var/lock", "/run/lock")

_START = b">>>"
_END = b"<<<"


def fragment_pause(baud: int) -> float:
    """Seconds Heartbeat sleeps between two 512-byte fragments (19200 baud: ~213 ms)."""
    return FRAGMENT / (baud / 8)


def line_capacity(baud: int) -> float:
    """Bytes per second a port carries at ``baud`` (8N1: ten bits per byte)."""
    return baud / 10


class ClassicFramer:
    """Turns a byte stream into classic messages: discard until ``>>>``, collect to ``<<<``.

    Bounded: a frame larger than ``MAX_DATAGRAM`` (noise, a peer that never ends its
    message) is dropped and counted, so a babbling line cannot grow our memory.
    """

    def __init__(self) -> None:
        self._partial = b""
        self._lines: list[bytes] | None = None
        self._size = 0
        self.dropped = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return every complete ``>>>\\n...<<<\\n`` text."""
        buf = self._partial + data
        *lines, self._partial = buf.split(b"\n")
        if len(self._partial) > MAX_DATAGRAM:
            self._partial = b""
            self._abandon()
        out: list[bytes] = []
        for line in lines:
            frame = self._line(line.rstrip(b"\r"))
            if frame is not None:
                out.append(frame)
        return out

    def _line(self, line: bytes) -> bytes | None:
        if line == _START:
            if self._lines is not None:
                self.dropped += 1
            self._lines, self._size = [], 0
            return None
        if self._lines is None:
            return None
        if line == _END:
            body = b"".join(x + b"\n" for x in self._lines)
            self._lines = None
            return b">>>\n" + body + b"<<<\n"
        self._size += len(line) + 1
        if self._size > MAX_DATAGRAM:
            self._abandon()
            return None
        self._lines.append(line)
        return None

    def _abandon(self) -> None:
        if self._lines is not None:
            self.dropped += 1
        self._lines = None
        self._size = 0


def check_serial_device(path: str) -> str | None:
    """Heartbeat's checks on a ``serial`` line; returns what is wrong, or None."""
    if not path.startswith("/"):
        return f"Serial port not full pathname [{path}]"
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return f"Nonexistent serial port [{path}]"
    if not stat.S_ISCHR(mode):
        return f"Serial port [{path}] not a char device"
    return None


class UucpLock:
    """A HDB UUCP lock file ``LCK..<tty>`` holding our pid as ``%10d\n`` (11 bytes).

    Created atomically the way UUCP tools do it: the pid goes into a private temporary
    file that is then hard-linked to the lock name, so two programs racing for the port
    cannot both believe they hold it. A lock whose pid no longer exists is stale and is
    removed; a live one is respected.
    """

    def __init__(self, device: str, lock_dir: str | None = None) -> None:
        self.device = device
        base = os.path.basename(device)
        self.path: Path | None = None
        dirs = (lock_dir,) if lock_dir else LOCK_DIRS
        for candidate in dirs:
            if candidate and os.path.isdir(candidate) and os.access(candidate, os.W_OK):
                self.path = Path(candidate) / f"LCK..{base}"
                break
        self.held = False

    def acquire(self) -> str | None:
        """Take the lock; returns why not (held by a live process), or None."""
        if self.path is None:
            logger.debug("no writable lock directory; serial port opened without UUCP lock")
            return None
        for _ in range(3):
            refusal = self._remove_stale()
            if refusal is not None:
                return refusal
            if self._link_new():
                return None
        return f"{self.device}: lock file {self.path} keeps reappearing; another program races us"

    def _remove_stale(self) -> str | None:
        """Delete a lock left by a dead process; returns a refusal for a live owner."""
        assert self.path is not None
        owner = self._owner()
        if owner is None or owner == os.getpid():
            if owner is None and self.path.exists():
                logger.info("removing unreadable lock file %s", self.path)
                with contextlib.suppress(OSError):
                    self.path.unlink()
            return None
        if pid_alive(owner):
            return (
                f"{self.device} is in use: locked by process {owner} ({self.path}); "
                "stop that program or remove the lock if it is not a serial user"
            )
        logger.info("removing stale lock file %s of dead process %d", self.path, owner)
        with contextlib.suppress(OSError):
            self.path.unlink()
        return None

    def _link_new(self) -> bool:
        """Write our pid and link it into place; False when another process won the race.

        A lock directory we cannot write to is logged and the port used unlocked (True),
        as before a lock existed.
        """
        assert self.path is not None
        temp = self.path.with_name(f"TMP..{os.getpid()}.{self.path.name}")
        try:
            temp.write_text(f"{os.getpid():10d}\n")
            os.chmod(temp, 0o644)
            try:
                os.link(temp, self.path)
            except FileExistsError:
                if self._owner() != os.getpid():
                    return False
        except OSError as exc:
            logger.warning("cannot write lock file %s: %s; continuing unlocked", self.path, exc)
            return True
        finally:
            with contextlib.suppress(OSError):
                temp.unlink()
        self.held = True
        return True

    def _owner(self) -> int | None:
        assert self.path is not None
        try:
            text = self.path.read_text().strip()
        except OSError:
            return None
        try:
            return int(text.split()[0]) if text else None
        except ValueError:
            return None

    def release(self) -> None:
        """Remove the lock file if we wrote it."""
        if self.held and self.path is not None:
            if self._owner() == os.getpid():
                with contextlib.suppress(OSError):
                    self.path.unlink()
            self.held = False


def heartbeat_modes(fd: int) -> None:
    """The part of Heartbeat's ``ttysetup`` pyserial does not do (spec §5.4).

    pyserial already clears IGNBRK/IUCLC/IXANY/IXOFF/IXON/ICRNL/PARMRK, OPOST, ICANON,
    ECHO, ISIG, IEXTEN and sets CS8/CREAD/CLOCAL/CRTSCTS without parity; Heartbeat also
    sets INPCK/ISTRIP/IGNCR/BRKINT and reads with VMIN=1 VTIME=1.
    """
    iflag, oflag, cflag, lflag, ispeed, ospeed, cc = termios.tcgetattr(fd)
    iflag |= termios.INPCK | termios.ISTRIP | termios.IGNCR | termios.BRKINT
    cc[termios.VMIN] = 1
    cc[termios.VTIME] = 1
    termios.tcsetattr(fd, termios.TCSANOW, [iflag, oflag, cflag, lflag, ispeed, ospeed, cc])


def open_port(device: str, baud: int) -> Any:
    """Open ``device`` with pyserial as Heartbeat sets it up; returns the ``serial.Serial``.

    8N1 at ``baud``, hardware flow control as Heartbeat (``CRTSCTS``), no XON/XOFF,
    ``flock`` exclusive, non-blocking (timeouts 0); then flushed and a break is sent.
    Blocking (the break): call it off the event loop.

    Raises:
        serial.SerialException: the port cannot be opened, locked or configured.
    """
    port = serial.Serial(
        port=device,
        baudrate=baud,
        bytesize=serial.EIGHTBITS,
        parity=serial.PARITY_NONE,
        stopbits=serial.STOPBITS_ONE,
        xonxoff=False,
        rtscts=True,
        dsrdtr=False,
        timeout=0,
        write_timeout=0,
        exclusive=True,
    )
    try:
        heartbeat_modes(port.fileno())
        port.reset_input_buffer()
        port.reset_output_buffer()
        with contextlib.suppress(termios.error, OSError):
            port.send_break(0)
    except (termios.error, OSError) as exc:
        close_port(port)
        raise serial.SerialException(f"cannot set tty modes: {exc}") from exc
    return port


def close_port(port: Any) -> None:
    """Drop unsent output (a close would otherwise wait for it to drain), then close."""
    with contextlib.suppress(termios.error, OSError, serial.SerialException):
        port.reset_output_buffer()
    with contextlib.suppress(OSError, serial.SerialException):
        port.close()


class SerialLink(Link):
    """One ``serial`` medium: classic framing, paced fragments, reopen on loss."""

    def __init__(
        self,
        plan: LinkPlan,
        baud: int,
        auth: Authenticator,
        *,
        lock_dir: str | None = None,
    ) -> None:
        device = plan.media[0].dev
        super().__init__(plan.name, "serial", f"serial {device}")
        self.device = device
        self.baud = baud
        self._auth = auth
        self._lock = UucpLock(device, lock_dir)
        self._port: Any = None
        self._fd: int | None = None
        self._framer = ClassicFramer()
        self._queue: deque[bytes] = deque()
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._reopen: asyncio.Task[None] | None = None
        self._closed = False
        self._last_timeout_log = -WRITE_TIMEOUT_LOG_EVERY
        self.discarded = 0
        self.reopened = 0

    @property
    def is_open(self) -> bool:
        """True while the port is open."""
        return self._fd is not None

    async def open(self, handler: DatagramHandler) -> None:
        """Open the port (or start retrying in the background) and start the writer."""
        self._handler = handler
        self._writer = asyncio.create_task(self._write_loop(), name=f"serial-writer {self.name}")
        problem = await self._try_open()
        if problem is None:
            logger.info("Starting serial heartbeat on tty %s (%d baud)", self.device, self.baud)
        else:
            logger.error("serial %s: cannot open: %s; retrying in background", self.device, problem)
            self._schedule_reopen()

    async def _try_open(self) -> str | None:
        """Lock, open and configure the port; returns why it failed, or None."""
        problem = check_serial_device(self.device)
        if problem is not None:
            return problem
        refusal = self._lock.acquire()
        if refusal is not None:
            return refusal
        loop = asyncio.get_running_loop()
        opening = loop.run_in_executor(None, open_port, self.device, self.baud)
        try:
            port = await asyncio.shield(opening)
        except asyncio.CancelledError:
            opening.add_done_callback(self._discard_opened)
            raise
        except (serial.SerialException, OSError, ValueError) as exc:
            self._lock.release()
            return f"open failed: {exc}"
        if self._closed:
            self._discard_opened(opening)
            return "link closed while opening"
        self._port, self._fd = port, port.fileno()
        self._framer = ClassicFramer()
        loop.add_reader(self._fd, self._on_readable)
        return None

    def _discard_opened(self, opening: asyncio.Future[Any]) -> None:
        """An open finished after the link was closed: give the port and lock back."""
        if not opening.cancelled() and opening.exception() is None:
            close_port(opening.result())
        self._lock.release()

    def _schedule_reopen(self) -> None:
        if self._reopen is None and not self._closed:
            self._reopen = asyncio.create_task(
                self._reopen_loop(), name=f"serial-reopen {self.name}"
            )

    async def _reopen_loop(self) -> None:
        delay = REOPEN_FIRST
        try:
            while not self._closed:
                await asyncio.sleep(delay)
                problem = await self._try_open()
                if problem is None:
                    self.reopened += 1
                    logger.info(
                        "serial %s: port is back; reopened (%d baud)", self.device, self.baud
                    )
                    self._wake.set()
                    return
                logger.debug("serial %s: still unavailable: %s", self.device, problem)
                delay = min(delay * 2, REOPEN_MAX)
        finally:
            self._reopen = None

    def _lost(self, why: str) -> None:
        """The port went away: close it and start reopening."""
        if self._fd is None:
            return
        logger.error("serial %s: port lost (%s); reopening with backoff", self.device, why)
        self._close_port()
        self._schedule_reopen()

    def _close_port(self) -> None:
        fd, self._fd = self._fd, None
        port, self._port = self._port, None
        if fd is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(fd)
        if port is not None:
            close_port(port)
        self._lock.release()

    # ------------------------------------------------------------------ reading

    def _on_readable(self) -> None:
        fd = self._fd
        if fd is None:
            return
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        except OSError as exc:
            self._lost(exc.strerror or str(exc))
            return
        if not data:
            self._lost("end of file")
            return
        for frame in self._framer.feed(data):
            self.deliver(frame)

    # ------------------------------------------------------------------ writing

    def _write(self, data: bytes) -> None:
        """Queue one wire message converted to signed classic text."""
        if self._fd is None:
            raise OSError(errno.ENODEV, f"serial port {self.device} is not open")
        text = self._classic_text(data)
        # count what goes on the line (classic text), not the netstring handed to us
        self.stats.bytes_sent += len(text) - len(data)
        self._queue.append(text)
        if len(self._queue) > MAX_QUEUE:
            self._queue.popleft()
            self.discarded += 1
            if self.discarded == 1 or self.discarded % 100 == 0:
                logger.warning(
                    "%d messages discarded due to write errors on serial %s",
                    self.discarded,
                    self.device,
                )
        self._wake.set()

    def _classic_text(self, data: bytes) -> bytes:
        """Our wire datagram as the classic frame a serial line carries."""
        if is_sealed(data):
            return encode_classic_sealed(data)
        try:
            msg = decode_datagram(data, None)
        except RemoteProtocolError as exc:
            raise OSError(errno.EINVAL, f"cannot convert message to classic: {exc}") from exc
        return encode_classic(msg, self._auth)

    async def _write_loop(self) -> None:
        while not self._closed:
            if not self._queue or self._fd is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            text = self._queue.popleft()
            for start in range(0, len(text), FRAGMENT):
                if start:
                    await asyncio.sleep(fragment_pause(self.baud))
                if not await self._write_fragment(text[start : start + FRAGMENT]):
                    break

    async def _write_fragment(self, chunk: bytes) -> bool:
        """Write one fragment within ``WRITE_TIMEOUT``; False when it was given up."""
        deadline = time.monotonic() + WRITE_TIMEOUT
        while chunk:
            fd = self._fd
            if fd is None:
                return False
            try:
                written = os.write(fd, chunk)
            except BlockingIOError:
                written = 0
            except OSError as exc:
                self._lost(exc.strerror or str(exc))
                return False
            chunk = chunk[written:]
            if chunk and not await self._wait_writable(fd, deadline):
                self._write_timed_out()
                return False
        return True

    async def _wait_writable(self, fd: int, deadline: float) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()

        def writable() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_writer(fd, writable)
        try:
            async with asyncio.timeout(remaining):
                await ready
        except TimeoutError:
            return False
        finally:
            with contextlib.suppress(Exception):
                loop.remove_writer(fd)
        return True

    def _write_timed_out(self) -> None:
        now = time.monotonic()
        if now - self._last_timeout_log >= WRITE_TIMEOUT_LOG_EVERY:
            self._last_timeout_log = now
            logger.warning(
                "TTY write timeout on [%s] (no connection or bad cable? [see documentation])",
                self.device,
            )

    def close(self) -> None:
        """Stop the tasks, close the port, remove the lock."""
        self._closed = True
        for task in (self._writer, self._reopen):
            if task is not None:
                task.cancel()
        self._writer = self._reopen = None
        self._close_port()


def make_serial_link(
    plan: LinkPlan, baud: int, auth: Authenticator, lock_dir: str | None = None
) -> SerialLink:
    """Build (but do not open) the link for one planned serial medium."""
    return SerialLink(plan, baud, auth, lock_dir=lock_dir)
