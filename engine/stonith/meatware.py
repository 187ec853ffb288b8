"""The ``meatware`` device: a human power-cycles the node and confirms it (spec §8.5).

Heartbeat's plugin blocks on a FIFO ``/run/meatware.<node>`` that ``meatclient -c NODE``
writes ``meatware reply NODE`` to. We make the same FIFO, so that meatclient still
works, and also accept the confirmation through the control socket (``hactl meatware
confirm NODE`` or the console), recorded in a :class:`MeatwareBoard` shared by the
fencer and the daemon. Whichever comes first wins.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from engine.config.stonithconf import MEATWARE_DIR, MEATWARE_TIMEOUT  # defaults: hatui.conf
from engine.stonith.base import S_TIMEOUT, StonithPlugin, StonithResult

logger = logging.getLogger("heartbeat")

REPLY_SIZE = 256
"""meatclient writes one buffer of this size: ``meatware reply <node>`` then NULs."""


@dataclass(slots=True)
class _Waiter:
    future: asyncio.Future[str]
    since: float


class MeatwareBoard:
    """Pending operator confirmations, one per node."""

    def __init__(self) -> None:
        self._waiting: dict[str, _Waiter] = {}

    def pending(self) -> list[str]:
        """Nodes waiting for an operator right now."""
        return sorted(self._waiting)

    def wait_for(self, node: str) -> asyncio.Future[str]:
        """Register a wait for ``node`` (replacing an older one) and return its future."""
        old = self._waiting.pop(node, None)
        if old is not None and not old.future.done():
            old.future.cancel()
        loop = asyncio.get_running_loop()
        waiter = _Waiter(loop.create_future(), loop.time())
        self._waiting[node] = waiter
        return waiter.future

    def forget(self, node: str, future: asyncio.Future[str]) -> None:
        """Drop the wait for ``node`` if it is still ``future``."""
        waiter = self._waiting.get(node)
        if waiter is not None and waiter.future is future:
            del self._waiting[node]

    def confirm(self, node: str, who: str) -> str | None:
        """The operator says ``node`` was power-cycled; None when accepted, else why not."""
        node = node.lower()
        waiter = self._waiting.get(node)
        if waiter is None or waiter.future.done():
            waiting = ", ".join(self.pending()) or "none"
            return f"no meatware reset of {node} is waiting (waiting: {waiting})"
        waiter.future.set_result(who)
        return None


class MeatwareFifo:
    """The FIFO ``<dir>/meatware.<node>`` that Heartbeat's ``meatclient -c`` writes to.

    Both ends are opened non-blocking and the write end is kept open by us, so the read
    end never reports end-of-file while no client is connected; the loop watches the
    read end and ``reply`` gets the first message's text.
    """

    def __init__(self, directory: Path, node: str) -> None:
        self.path = Path(directory) / f"meatware.{node}"
        self.reply: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._fds: list[int] = []
        self._buffer = b""

    def open(self) -> str | None:
        """Make the FIFO (mode 0600, an older one removed); None when ready, else why not."""
        try:
            if self.path.exists() or self.path.is_symlink():
                if not stat.S_ISFIFO(self.path.lstat().st_mode):
                    return f"{self.path} exists and is not a FIFO; not touching it"
                self.path.unlink()
            os.mkfifo(self.path, 0o600)
            os.chmod(self.path, 0o600)
            self._fds.append(os.open(self.path, os.O_RDONLY | os.O_NONBLOCK))
            self._fds.append(os.open(self.path, os.O_WRONLY | os.O_NONBLOCK))
        except OSError as exc:
            self.close()
            return f"cannot make {self.path}: {exc.strerror or exc}"
        asyncio.get_running_loop().add_reader(self._fds[0], self._readable)
        return None

    def _readable(self) -> None:
        try:
            chunk = os.read(self._fds[0], REPLY_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            logger.error("meatware: reading %s failed: %s", self.path, exc)
            return
        self._buffer += chunk
        if (b"\0" in self._buffer or len(self._buffer) >= REPLY_SIZE) and not self.reply.done():
            text = self._buffer.split(b"\0", 1)[0].decode("utf-8", "replace")
            self.reply.set_result(text)

    def close(self) -> None:
        """Stop watching, close both ends and remove the FIFO."""
        if self._fds:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._fds[0])
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        if self._fds:
            with contextlib.suppress(OSError):
                self.path.unlink()
        self._fds = []


class MeatwarePlugin(StonithPlugin):
    """Waits until an operator confirms the power-cycle, or times out."""

    board: MeatwareBoard | None = None
    """Set by the fencer; a plugin without a board cannot be confirmed."""

    timeout: float = MEATWARE_TIMEOUT
    fifo_dir: Path = Path(MEATWARE_DIR)

    @property
    def device_id(self) -> str:
        """As cluster-glue names it."""
        return "Meatware STONITH device"

    async def reset(self, node: str) -> StonithResult:
        """Ask the operator, then wait for meatclient, ``meatware_confirm`` or the timeout."""
        hosts = await self.hosts() or []
        node = node.lower()
        if node not in hosts or "/" in node:
            return StonithResult.failure(4, f"Device {self.device_id} cannot reset host {node}.")
        if self.board is None:
            return StonithResult.failure(1, "meatware plugin has no confirmation board")
        future = self.board.wait_for(node)
        fifo = MeatwareFifo(self.fifo_dir, node)
        problem = fifo.open()
        logger.critical("OPERATOR INTERVENTION REQUIRED to reset %s.", node)
        if problem is None:
            logger.critical('Run "meatclient -c %s" AFTER power-cycling the machine.', node)
        else:
            logger.warning("meatware: %s; meatclient cannot confirm this reset", problem)
        logger.critical('Run "hactl meatware confirm %s" AFTER power-cycling the machine.', node)
        try:
            done, _ = await asyncio.wait(
                {future, fifo.reply}, timeout=self.timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            fifo.close()
            self.board.forget(node, future)
        if not done:
            return StonithResult.failure(
                S_TIMEOUT, f"no operator confirmed the reset of {node} within {self.timeout:g} s"
            )
        if future.done():
            if future.cancelled():
                return StonithResult.failure(5, f"meatware reset of {node} superseded")
            who = future.result()
        else:
            refusal = _check_reply(fifo.reply.result(), node)
            if refusal:
                return StonithResult.failure(5, refusal)
            who = f"meatclient ({fifo.path})"
            logger.warning("Meatware reset of %s confirmed by %s", node, who)
        logger.info("node Meatware-reset: %s", node)
        return StonithResult.success(f"operator {who} confirmed {node} was power-cycled")


def _check_reply(text: str, node: str) -> str:
    """ "" when ``text`` is ``meatware reply <node>``, else the failure (logged CRIT)."""
    words = text.split()
    if len(words) != 3 or words[:2] != ["meatware", "reply"]:
        logger.critical("Format error - failed to Meatware-reset node %s", node)
        return f"meatware reply for {node} has a bad format: {text[:60]!r}"
    if words[2].lower() != node:
        logger.critical("failed to Meatware-reset node %s", node)
        return f"meatware reply names {words[2]!r}, not {node}"
    return ""
