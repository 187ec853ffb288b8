"""Play captured heartbeat datagrams back at a node: the replay attack of issue 15.

Datagrams recorded by :class:`lab.capture.UdpCapture` are sent again, unchanged, from the
lab's client namespace at their original pace, in a loop, until stopped. Heartbeat (and
hatui) do not look at the source address, only at the signed content, so this is what an
attacker on the heartbeat network who recorded a node's traffic can do.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from lab.capture import UdpDatagram
from lab.netns import Lab


@dataclass
class Replayer:
    """Sends ``datagrams`` to ``target``:``port`` with their captured spacing, looping."""

    lab: Lab
    target: str
    datagrams: Sequence[UdpDatagram]
    port: int = 694
    sent: int = 0
    rounds: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Replayer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start replaying in a thread."""
        if not self.datagrams:
            raise ValueError("nothing captured to replay")
        sock = self.lab.client_socket(kind=socket.SOCK_DGRAM)
        self._thread = threading.Thread(target=self._loop, args=(sock,), name="replay")
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        """Stop replaying (waits for the thread)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self, sock: socket.socket) -> None:
        span = self.datagrams[-1].time - self.datagrams[0].time
        pause = span / len(self.datagrams)  # the average spacing, between two rounds
        with sock:
            while not self._stop.is_set():
                self._one_round(sock)
                self.rounds += 1
                self._stop.wait(pause)

    def _one_round(self, sock: socket.socket) -> None:
        first = self.datagrams[0].time
        started = time.monotonic()
        for datagram in self.datagrams:
            delay = started + (datagram.time - first) - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            try:
                sock.sendto(datagram.payload, (self.target, self.port))
            except OSError:
                continue  # unreachable for a moment: an attacker just goes on
            self.sent += 1
