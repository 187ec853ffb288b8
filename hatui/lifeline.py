"""A console served to a browser ends when its browser does, whatever Textual is doing.

Why this exists: ``hatui serve`` (textual-serve) runs one console per browser tab, fed
through pipes, and asks it to quit when the tab's websocket closes. A browser that
closes right after loading (a headless screenshot, a tab closed at once, a dropped
tunnel) sends its last resize and the quit together, before the console has drawn its
first frame. Textual 8.2's web driver then stops the app's message loop with a resize
still unprocessed: the screen lays itself out alternately at the browser's new size and
at the app's old one, posting itself a Resize each time, for ever (about one core), and
the shutdown, which waits for that screen, never ends. A SIGTERM only posts another quit
into the same stuck shutdown, so the process "ignores" it.

The lifeline is a small thread, started only under the web driver. Once an exit was
requested (the server's quit, SIGTERM, ``q``), it gives Textual ``EXIT_GRACE_S`` to
finish and then ends the process. It also notices the server itself going away: the
console's stdin pipe hangs up, and the console asks to exit.
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

EXIT_GRACE_S = 2.0
"""How long an orderly exit may take before the process ends itself."""
POLL_S = 0.2


def pipe_hung_up(fd: int) -> bool:
    """True when the other end of pipe ``fd`` is closed (without reading from it: the
    web driver's input thread owns the reading)."""
    poller = select.poll()
    poller.register(fd, 0)  # no events asked: only POLLHUP / POLLERR / POLLNVAL come back
    return any(events & (select.POLLHUP | select.POLLERR) for _, events in poller.poll(0))


class Lifeline:
    """Ends the process ``EXIT_GRACE_S`` after an exit request, and requests one when
    the server's end of stdin closes."""

    def __init__(
        self,
        request_exit: Callable[[], None],
        loop: asyncio.AbstractEventLoop,
        *,
        stdin_fd: int = 0,
        grace_s: float = EXIT_GRACE_S,
        end_process: Callable[[int], object] = os._exit,
    ) -> None:
        self._request_exit = request_exit
        self._loop = loop
        self._stdin_fd = stdin_fd
        self._grace_s = grace_s
        self._end_process = end_process
        self._deadline: float | None = None
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._watch, name="hatui-lifeline", daemon=True)

    def start(self) -> None:
        """Start watching (a daemon thread: it never keeps the process alive)."""
        self.thread.start()

    def exit_requested(self) -> None:
        """An exit was asked for: from now on, the process ends within the grace time."""
        with self._lock:
            if self._deadline is None:
                self._deadline = time.monotonic() + self._grace_s

    def _watch(self) -> None:
        while True:
            time.sleep(POLL_S)
            with self._lock:
                deadline = self._deadline
            if deadline is not None and time.monotonic() >= deadline:
                logger.warning("exit unfinished after %.1f s; ending the process", self._grace_s)
                self._end_process(0)
                return
            if deadline is None and pipe_hung_up(self._stdin_fd):
                self.exit_requested()
                self._loop.call_soon_threadsafe(self._request_exit)
