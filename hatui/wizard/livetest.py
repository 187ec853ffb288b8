"""Optional live test: signed test heartbeats to each ucast peer, and which links answer.

Each probe is a real Heartbeat netstring packet (``t=hatui-probe``), signed with the
key the wizard is about to write, sent from ``udpport`` to the peer's ``udpport``. A
link "works" when an authenticated packet from that peer address arrives: the echo of
our probe (the peer runs the wizard's live test too, which answers every probe) or the
peer engine's own heartbeats. Packets that fail authentication are counted, because
"reached but wrong key" is the most useful thing to tell someone at this point.
Only ``ucast`` media are probed; other media are listed as not tested.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import cast

from engine.config import AuthConfig, AuthKey, SourceRef
from engine.protocol import Authenticator, Message, decode_datagram, encode_wire
from hatui.wizard.state import WizardState

logger = logging.getLogger(__name__)

PROBE, ECHO = "hatui-probe", "hatui-probe-echo"


@dataclass
class LinkResult:
    """What the live test saw on one medium."""

    medium: str
    peer: str = ""
    sent: int = 0
    heard: int = 0
    rejected: int = 0
    first_reply_ms: float | None = None
    note: str = ""

    @property
    def works(self) -> bool:
        """An authenticated packet came back from the peer."""
        return self.heard > 0

    def describe(self) -> str:
        """One line for the review screen."""
        if self.note:
            return f"{self.medium}: {self.note}"
        if self.works:
            rtt = f" after {self.first_reply_ms:.0f} ms" if self.first_reply_ms else ""
            return f"✔ {self.medium}: {self.heard} signed packet(s) from {self.peer}{rtt}"
        if self.rejected:
            return (
                f"✖ {self.medium}: {self.rejected} packet(s) from {self.peer} FAILED "
                "authentication (different authkeys on the peer?)"
            )
        return f"✖ {self.medium}: no answer from {self.peer} ({self.sent} probes sent)"


def authenticator_for(state: WizardState) -> Authenticator:
    """An authenticator with exactly the key the wizard will write."""
    key = AuthKey(1, state.auth_method, state.auth_key.strip().encode(), SourceRef("wizard"))
    return Authenticator(AuthConfig(1, (key,), frozenset({1})))


@dataclass
class _Probe(asyncio.DatagramProtocol):
    node: str
    auth: Authenticator
    results: dict[str, LinkResult]
    started: float = field(default_factory=time.monotonic)
    transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        host = str(addr[0])
        result = self.results.get(host)
        try:
            message = decode_datagram(data, self.auth)
        except Exception as exc:  # RemoteProtocolError: bad packets are only counted
            logger.debug("live test: packet from %s refused: %s", host, exc)
            if result is not None:
                result.rejected += 1
            return
        if message.get("t") == PROBE and message.get("src") != self.node:
            self.send(ECHO, (host, addr[1]))
        if result is not None and message.get("src") != self.node:
            result.heard += 1
            if result.first_reply_ms is None:
                result.first_reply_ms = (time.monotonic() - self.started) * 1000

    def send(self, kind: str, target: tuple[str, int]) -> None:
        msg = Message.of(("t", kind), ("src", self.node), ("ts", f"{int(time.time()):x}"))
        if self.transport is not None:
            self.transport.sendto(encode_wire(msg, self.auth), target)


async def live_test(
    state: WizardState,
    *,
    bind_address: str = "0.0.0.0",
    duration: float = 2.0,
    interval: float = 0.2,
) -> list[LinkResult]:
    """Probe every ucast peer for ``duration`` seconds; one result per medium."""
    results = [LinkResult(m.line()) for m in state.media]
    targets: dict[str, LinkResult] = {}
    for medium, result in zip(state.media, results, strict=True):
        if medium.kind != "ucast":
            result.note = "not tested (the live test probes ucast links only)"
        else:
            result.peer = medium.peer
            targets[medium.peer] = result
    if not targets:
        return results
    probe = _Probe(state.node, authenticator_for(state), targets)
    loop = asyncio.get_running_loop()
    try:
        transport, _ = await loop.create_datagram_endpoint(
            lambda: probe, local_addr=(bind_address, state.udpport)
        )
    except OSError as exc:
        for result in targets.values():
            result.note = (
                f"cannot listen on {bind_address}:{state.udpport}: {exc.strerror} "
                "(is an engine already running here?)"
            )
        return results
    try:
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            for peer, result in targets.items():
                probe.send(PROBE, (peer, state.udpport))
                result.sent += 1
            await asyncio.sleep(interval)
    finally:
        transport.close()
    return results
