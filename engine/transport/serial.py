"""Serial heartbeat medium: ``serial /dev/ttyS0`` at ``baud`` (spec §5.4).

What Heartbeat's serial plugin does, and so do we:

* the port is opened with a UUCP lock (``/var/lock/LCK..ttyS0``) and put in raw mode
  (``IGNCR``, ``ISTRIP``, ``CS8 CREAD CLOCAL CRTSCTS``, no ``OPOST``/``ICANON``/``ECHO``,
  ``VMIN=1 VTIME=1``), flushed, and a break is sent;
* only the classic ``>>>``/``<<<`` text goes on the wire: every outgoing wire message is
  converted to classic form and re-signed with the ``auth`` field;
* a message is written in 512-byte fragments with a pause of ``512 / (baud / 8)``
  seconds between fragments, each write bounded by a 500 ms timeout;
* the reader discards everything until a ``>>>`` line, collects lines until ``<<<`` and
  hands the classic text up.

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

from engine.core.linkplan import LinkPlan
from engine.errors import RemoteProtocolError
from engine.protocol.auth import Authenticator
from engine.protocol.codec import MAX_DATAGRAM, decode_datagram, encode_classic
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

BAUD_RATES: dict[int, int] = {
    9600: termios.B9600,
    19200: termios.B19200,
    38400: termios.B38400,
    57600: termios.B57600,
    115200: termios.B115200,
    230400: termios.B230400,
    460800: termios.B460800,
}

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
    """A HDB UUCP lock file ``LCK..<tty>`` holding our pid (``%10d\\n``)."""

    def __init__(self, device: str, lock_dir: str | None = None) -> None:
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
        owner = self._owner()
        if owner is not None and owner != os.getpid() and _alive(owner):
            return f"device locked by process {owner} ({self.path})"
        try:
            self.path.write_text(f"{os.getpid():10d}\n")
        except OSError as exc:
            logger.warning("cannot write lock file %s: %s; continuing unlocked", self.path, exc)
            return None
        self.held = True
        return None

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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def configure_tty(fd: int, baud: int) -> None:
    """Raw mode exactly as Heartbeat's ``ttysetup`` (spec §5.4)."""
    attrs = termios.tcgetattr(fd)
    iflag, oflag, cflag, lflag, _ispeed, _ospeed, cc = attrs
    iflag &= ~(
        termios.IGNBRK
        | termios.IUCLC
        | termios.IXANY
        | termios.IXOFF
        | termios.IXON
        | termios.ICRNL
        | termios.PARMRK
    )
    iflag |= termios.INPCK | termios.ISTRIP | termios.IGNCR | termios.BRKINT
    oflag &= ~termios.OPOST
    cflag &= ~(termios.CSIZE | termios.PARENB)
    cflag |= termios.CS8 | termios.CREAD | termios.CLOCAL | termios.CRTSCTS
    lflag &= ~(termios.ICANON | termios.ECHO | termios.ISIG | termios.IEXTEN)
    cc[termios.VMIN] = 1
    cc[termios.VTIME] = 1
    speed = BAUD_RATES.get(baud, termios.B19200)
    termios.tcsetattr(fd, termios.TCSANOW, [iflag, oflag, cflag, lflag, speed, speed, cc])
    termios.tcflush(fd, termios.TCIOFLUSH)
    with contextlib.suppress(termios.error, OSError):
        termios.tcsendbreak(fd, 0)


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
        problem = self._try_open()
        if problem is None:
            logger.info("Starting serial heartbeat on tty %s (%d baud)", self.device, self.baud)
        else:
            logger.error("serial %s: cannot open: %s; retrying in background", self.device, problem)
            self._schedule_reopen()

    def _try_open(self) -> str | None:
        """Open, lock and configure the port; returns why it failed, or None."""
        problem = check_serial_device(self.device)
        if problem is not None:
            return problem
        refusal = self._lock.acquire()
        if refusal is not None:
            return refusal
        try:
            fd = os.open(self.device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError as exc:
            self._lock.release()
            return f"open failed: {exc.strerror}"
        try:
            configure_tty(fd, self.baud)
        except (termios.error, OSError) as exc:
            os.close(fd)
            self._lock.release()
            return f"cannot set tty modes: {exc}"
        self._fd = fd
        self._framer = ClassicFramer()
        asyncio.get_running_loop().add_reader(fd, self._on_readable)
        return None

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
                problem = self._try_open()
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
        self._close_fd()
        self._schedule_reopen()

    def _close_fd(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(fd)
            with contextlib.suppress(OSError):
                os.close(fd)
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
        try:
            msg = decode_datagram(data, None)
        except RemoteProtocolError as exc:
            raise OSError(errno.EINVAL, f"cannot convert message to classic: {exc}") from exc
        text = encode_classic(msg, self._auth)
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
            await asyncio.wait_for(ready, remaining)
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
        self._close_fd()


def make_serial_link(
    plan: LinkPlan, baud: int, auth: Authenticator, lock_dir: str | None = None
) -> SerialLink:
    """Build (but do not open) the link for one planned serial medium."""
    return SerialLink(plan, baud, auth, lock_dir=lock_dir)
