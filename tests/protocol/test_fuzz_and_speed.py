"""A deterministic mutation fuzz loop over real packets, and a decode micro-benchmark."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable

from engine.errors import RemoteProtocolError
from engine.protocol import MAX_DATAGRAM, decode_datagram, encode_classic
from engine.protocol.auth import Authenticator
from tests.protocol.helpers import anchor_auth, fixture_files, make_auth
from tests.protocol.test_worked_example import CLASSIC_207, spec_payload

REASONS = {"too_large", "bad_format", "bad_auth", "unknown_key", "unsupported_type", "empty"}
ITERATIONS = 20000
INTERESTING = [
    b"0", b"00", b"9999999", b"99999999", b"-1", b"+1", b":", b",", b"=", b"(", b")",
    b"(2)", b"(9)", b"\0", b"\n", b"\x13", b"%%%\n", b"###\n", b">>>\n", b"<<<\n",
    b"\xff\xfe", b"\xc3", b"auth=", b"1 ", b"2147483648 ",
]  # fmt: skip


def _corpus() -> list[bytes]:
    seeds = [spec_payload(), CLASSIC_207]
    for path in fixture_files():
        data = path.read_bytes()
        seeds.append(data)
        seeds.append(encode_classic(decode_datagram(data, None), anchor_auth(), nul=True))
    return seeds


def _flip(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return data
    i = rng.randrange(len(data))
    return data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1 :]


def _set_byte(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return data
    i = rng.randrange(len(data))
    return data[:i] + bytes([rng.randrange(256)]) + data[i + 1 :]


def _truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def _insert(rng: random.Random, data: bytes) -> bytes:
    i = rng.randrange(len(data) + 1)
    return data[:i] + rng.choice(INTERESTING) + data[i:]


def _delete_span(rng: random.Random, data: bytes) -> bytes:
    i = rng.randrange(len(data) + 1)
    return data[:i] + data[i + rng.randrange(1, 20) :]


def _duplicate_span(rng: random.Random, data: bytes) -> bytes:
    i = rng.randrange(len(data) + 1)
    j = min(len(data), i + rng.randrange(1, 60))
    return data[:j] + data[i:j] * rng.randrange(1, 4) + data[j:]


def _change_digits(rng: random.Random, data: bytes) -> bytes:
    i = data.find(b":", rng.randrange(len(data) + 1))
    if i <= 0:
        return data
    return data[: i - 1] + str(rng.choice([0, 1, 7, 99999, 10**7])).encode() + data[i:]


def _random_bytes(rng: random.Random, data: bytes) -> bytes:
    return data[:4] + rng.randbytes(rng.randrange(0, 400))


MUTATORS: list[Callable[[random.Random, bytes], bytes]] = [
    _flip, _set_byte, _truncate, _insert, _delete_span, _duplicate_span, _change_digits,
    _random_bytes,
]  # fmt: skip


def test_fuzz_only_remote_protocol_errors() -> None:
    rng = random.Random(20240601)
    seeds = _corpus()
    auths: list[Authenticator | None] = [anchor_auth(), None, make_auth((1, "crc", b""))]
    outcomes: Counter[str] = Counter()
    for n in range(ITERATIONS):
        data = rng.choice(seeds)
        for _ in range(rng.randrange(1, 4)):
            data = rng.choice(MUTATORS)(rng, data)
        auth = auths[n % len(auths)]
        try:
            decode_datagram(data, auth)
        except RemoteProtocolError as exc:
            assert exc.reason in REASONS, (exc.reason, data)
            assert exc.detail, data
            outcomes[exc.reason] += 1
        else:
            outcomes["ok"] += 1
    # Not a tautology: the fuzz must reach several distinct rejection paths.
    assert {"bad_format", "bad_auth", "ok"} <= set(outcomes), outcomes
    print(f"\nfuzz outcomes over {ITERATIONS} inputs: {dict(outcomes)}")


def test_oversized_and_degenerate_inputs() -> None:
    cases = [
        b"###\n" * (MAX_DATAGRAM // 4),
        b">>>\n" + b"\n" * (MAX_DATAGRAM - 9) + b"<<<\n",
        b">>>\n" + b"a=b\n" * 70000 + b"<<<\n",
        b"###\n" + b"5:(0)a=," * 32000 + b"%%%\n",
    ]
    for data in cases:
        try:
            decode_datagram(data, anchor_auth())
        except RemoteProtocolError as exc:
            assert exc.reason in REASONS
        else:
            raise AssertionError("degenerate input accepted")


def test_decode_micro_benchmark() -> None:
    """Prints the cost of decode+verify of the 310-byte status; asserts correctness only."""
    auth = anchor_auth()
    payload = spec_payload()
    rounds = 5000
    for label, data in (("netstring 310 B", payload), ("classic 207 B", CLASSIC_207)):
        start = time.perf_counter()
        for _ in range(rounds):
            msg = decode_datagram(data, auth)
        elapsed = (time.perf_counter() - start) / rounds
        assert msg.get("seq") == "29"
        print(f"\ndecode+verify {label}: {elapsed * 1e6:.1f} us per datagram")
