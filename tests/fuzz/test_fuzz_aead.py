"""Fuzzing an encrypting node (``aes256gcm``; issue 15 part 4).

Garbage, mutated Heartbeat packets, sealed-looking garbage and bit-flipped or truncated
sealed datagrams are all refused and counted while the peer stays alive; validly sealed
messages with hostile field values never raise and keep the state bounded. The fast run
feeds 40 000 datagrams; ``HATUI_SOAK=1`` ten times as many.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from dataclasses import replace

from engine.config.model import AuthConfig, AuthKey, SourceRef
from engine.core.membership import Membership
from engine.core.sequence import MAX_MISSING
from engine.protocol import aead
from engine.protocol.auth import Authenticator
from engine.protocol.codec import decode_datagram, encode_wire
from lab.fuzz import mutated_datagrams
from tests.fuzz.inproc import WALL0, feed_alone, flood_pair, make_core, resigned_mutations

FULL = os.environ.get("HATUI_SOAK") == "1"
COUNT = 400_000 if FULL else 40_000
AES = AuthConfig(
    1, (AuthKey(1, "aes256gcm", b"0123456789abcdef0123456789abcdef", SourceRef("authkeys", 2)),)
)


def encrypting_core(me: str, seed: int = 1) -> Membership:
    core = make_core(me, seed=seed)
    core.apply_config(replace(core.config, auth=AES), Authenticator(AES), 1000.0)
    return core


def hostile(sample: bytes, count: int, seed: int) -> Iterator[bytes]:
    """Garbage, plaintext Heartbeat mutations, fake sealed headers, damaged sealed data."""
    rng = random.Random(seed)
    plain = mutated_datagrams(count, seed=seed)
    for index, data in enumerate(plain):
        kind = index % 4
        if kind == 0:
            yield data
        elif kind == 1:
            yield aead.MAGIC + bytes([rng.randrange(256)]) + rng.randbytes(rng.randrange(80))
        elif kind == 2:
            damaged = bytearray(sample)
            damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
            yield bytes(damaged)
        else:
            yield sample[: rng.randrange(len(sample))] or b"\x00"


def test_garbage_and_damaged_sealed_datagrams_change_nothing() -> None:
    alpha, bravo = encrypting_core("alpha"), encrypting_core("bravo", seed=2)
    now = 1000.0
    alpha.start(now, WALL0 + now)
    bravo.start(now, WALL0 + now)
    sample = bravo.drain_outbound()[-1]  # a genuine sealed status, to damage
    deaths = flood_pair(alpha, bravo, hostile(sample, COUNT, seed=1515))
    assert not deaths, deaths
    assert alpha.nodes["bravo"].status == "active"
    assert sum(alpha.rejected.values()) > COUNT * 0.9
    assert alpha.rejected["plaintext"] > 0 and alpha.rejected["bad_auth"] > 0


def test_sealed_hostile_fields_never_raise_and_state_stays_bounded() -> None:
    core = encrypting_core("alpha")
    now = 1000.0
    core.start(now, WALL0 + now)
    sealing = Authenticator(AES)

    def sealed() -> Iterator[bytes]:
        for signed in resigned_mutations(COUNT // 8, seed=1516):
            msg = decode_datagram(signed, None)
            msg.remove("auth")
            try:
                yield encode_wire(msg, sealing)
            except Exception:  # the encoder refuses some values; that is fine
                continue

    feed_alone(core, sealed(), seed=6)
    assert set(core.nodes) == {"alpha", "bravo"}
    for node in core.nodes.values():
        assert len(node.track.missing) <= MAX_MISSING
    assert len(core._history) <= 500
