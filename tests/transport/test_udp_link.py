"""The UDP link on real loopback sockets: batched reads, our own echo, no send to self."""

from __future__ import annotations

import asyncio
import os
import socket

from engine.config.model import MediumKind, MediumSpec, SourceRef
from engine.core.linkplan import LinkPlan
from engine.transport.udp import POLL_BATCH, UdpLink

BASE = f"127.0.{os.getpid() % 200 + 20}"
OURS, PEER = f"{BASE}.201", f"{BASE}.202"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _plan(*peers: str) -> LinkPlan:
    media = tuple(
        MediumSpec(MediumKind.UCAST, "lo", SourceRef("ha.cf", i + 1), dev="lo", peer=peer)
        for i, peer in enumerate(peers)
    )
    return LinkPlan("lo", MediumKind.UCAST, media)


def _sender(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, 0))
    return sock


def test_own_address_is_neither_sent_to_nor_delivered() -> None:
    async def scenario() -> tuple[list[tuple[str, int]], list[bytes], int]:
        port = _free_port()
        got: list[bytes] = []
        link = UdpLink(_plan(OURS, PEER), port, bind_address=OURS)
        await link.open(lambda data, name: got.append(data))
        try:
            with _sender(OURS) as echo, _sender(PEER) as peer:
                echo.sendto(b"our own echo", (OURS, port))
                peer.sendto(b"from the peer", (OURS, port))
                await asyncio.sleep(0.05)
            return link.destinations, got, link.echoes_dropped
        finally:
            link.close()

    destinations, got, dropped = asyncio.run(scenario())
    assert [d[0] for d in destinations] == [PEER]
    assert got == [b"from the peer"]
    assert dropped == 1


def test_poll_reads_a_bounded_batch_and_the_readable_callback_is_used() -> None:
    async def scenario() -> tuple[int, int, int]:
        port = _free_port()
        got: list[bytes] = []
        wakeups = 0

        def on_readable() -> None:
            nonlocal wakeups
            wakeups += 1

        link = UdpLink(_plan(PEER), port, bind_address=OURS, on_readable=on_readable)
        await link.open(lambda data, name: got.append(data))
        try:
            with _sender(PEER) as peer:
                for i in range(POLL_BATCH + 10):
                    peer.sendto(b"%d" % i, (OURS, port))
            await asyncio.sleep(0.05)  # the loop calls on_readable, which reads nothing
            first = link.poll()
            second = link.poll()
            return wakeups, first, second
        finally:
            link.close()

    wakeups, first, second = asyncio.run(scenario())
    assert wakeups >= 1
    assert first == POLL_BATCH
    assert second == 10
