"""Random and mutated heartbeat datagrams for the port-694 robustness tests.

Mutations start from real captured packets (protocol fixtures) so the parser is driven
past its first checks; pure garbage covers the framing layer.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from lab.engine import REPO_ROOT

FIXTURE_DIRS = (REPO_ROOT / "tests" / "protocol" / "fixtures",)
MAX_UDP_PAYLOAD = 65507
_FALLBACK_SEED = (
    b"###\n14:(0)t=status, 12:(0)st=active, 11:(0)dt=3e8, 16:(0)protocol=1, "
    b"13:(0)src=bravo, 10:(0)seq=2a, 12:(0)hg=6b0b2a1e, 10:(0)ts=67a1b2c3, "
    b"8:(0)ld=0.09 0.1, 10:(0)ttl=3, 29:(0)auth=1 0123456789abcdef0123, %%%\n"
)


def seed_packets() -> list[bytes]:
    """Captured packets from the fixtures (first directory that has ``*.bin``), else a built one."""
    for directory in FIXTURE_DIRS:
        packets = [path.read_bytes() for path in sorted(directory.glob("*.bin"))]
        if packets:
            return packets
    return [_FALLBACK_SEED]


def _flip_bits(rng: random.Random, data: bytearray) -> None:
    for _ in range(rng.randint(1, 8)):
        index = rng.randrange(len(data))
        data[index] ^= 1 << rng.randrange(8)


def _splice_garbage(rng: random.Random, data: bytearray) -> None:
    start = rng.randrange(len(data) + 1)
    data[start:start] = rng.randbytes(rng.randint(1, 64))


def _truncate(rng: random.Random, data: bytearray) -> None:
    del data[rng.randrange(len(data)) :]


def _change_numbers(rng: random.Random, data: bytearray) -> None:
    digits = [i for i, byte in enumerate(data) if 0x30 <= byte <= 0x39]
    for index in rng.sample(digits, min(len(digits), rng.randint(1, 4))):
        data[index] = rng.choice(b"0123456789-f\x00")


def _duplicate_chunk(rng: random.Random, data: bytearray) -> None:
    start = rng.randrange(len(data))
    chunk = data[start : start + rng.randint(1, 80)]
    data[start:start] = chunk * rng.randint(2, 50)


_MUTATORS = (_flip_bits, _splice_garbage, _truncate, _change_numbers, _duplicate_chunk)


def mutated_datagrams(count: int, seed: int = 694) -> Iterator[bytes]:
    """Yield ``count`` datagrams: mostly mutated fixtures, some pure garbage and edge sizes."""
    rng = random.Random(seed)
    seeds = seed_packets()
    for index in range(count):
        kind = index % 10
        if kind == 0:
            yield rng.randbytes(rng.randint(1, 1500))
        elif kind == 1 and index % 1000 == 1:
            yield rng.randbytes(rng.choice([MAX_UDP_PAYLOAD, 9000, 4096]))
        elif kind == 1:
            yield rng.choice(seeds)  # well-formed but signed with another cluster's key
        else:
            data = bytearray(rng.choice(seeds))
            for _ in range(rng.randint(1, 3)):
                if data:
                    rng.choice(_MUTATORS)(rng, data)
            yield bytes(data[:MAX_UDP_PAYLOAD]) or b"\x00"
