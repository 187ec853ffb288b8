"""What netem would do to each packet: the spec, the random decisions, the bit flips.

Pure code (no sockets, ``now`` and the random generator passed in), used by the NFQUEUE
runner ``lab.netemu_run`` on kernels without the netem qdisc. It follows netem's
documented behaviour (tc-netem(8)) for the kinds the lab uses:

* ``delay TIME [JITTER [CORR%]]``: each packet waits ``TIME`` ± a uniform ``JITTER``
  (netem's default distribution) and is released when its own time comes, so jitter
  reorders packets, as netem without a rate does;
* ``loss [random] P% [CORR%]``, ``duplicate P% [CORR%]``, ``corrupt P% [CORR%]``;
* ``reorder P% [CORR%] [gap N]`` (needs a delay): with probability P (every Nth
  packet at most) a packet skips the delay and overtakes the ones waiting;
* ``limit N``: packets held at once (further ones are dropped, as netem does).

Correlation uses netem's simple correlated generator: ``next = (1-ρ)·U + ρ·last``.
A duplicate goes through the emulation again without being duplicated (netem
re-enqueues the clone with duplication off): its own delay, loss and corruption.
Corruption flips one random bit of the UDP payload and recomputes the UDP checksum so
that the damaged datagram reaches the application (the engine's authentication is then
what must reject it); in other protocols the bit is flipped after the IP header and the
transport checksum is left wrong, so the receiving stack drops the packet.
"""

from __future__ import annotations

import random
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

KINDS = ("loss", "delay", "reorder", "duplicate", "corrupt", "limit")
DEFAULT_LIMIT = 1000
"""netem's default queue limit (packets)."""

_TIME = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)(s|sec|secs|ms|msec|msecs|us|usec|usecs)?$")
_SCALE = {"s": 1.0, "sec": 1.0, "secs": 1.0, "ms": 1e-3, "msec": 1e-3, "msecs": 1e-3,
          "us": 1e-6, "usec": 1e-6, "usecs": 1e-6}  # fmt: skip
_PERCENT = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)%?$")


def _time(word: str) -> float | None:
    """Seconds in ``300ms``/``1s``/``250us`` (unitless: milliseconds, as tc-netem says)."""
    match = _TIME.match(word)
    if match is None:
        return None
    return float(match.group(1)) * _SCALE.get(match.group(2) or "ms", 1e-3)


def _percent(word: str) -> float | None:
    """A probability in ``30%``/``30`` (0..1), or None when ``word`` is not one."""
    match = _PERCENT.match(word)
    if match is None:
        return None
    value = float(match.group(1)) / 100
    return value if value <= 1 else None


@dataclass(frozen=True, slots=True)
class NetemSpec:
    """The parsed netem options (probabilities 0..1, times in seconds)."""

    delay: float = 0.0
    jitter: float = 0.0
    delay_corr: float = 0.0
    loss: float = 0.0
    loss_corr: float = 0.0
    duplicate: float = 0.0
    duplicate_corr: float = 0.0
    corrupt: float = 0.0
    corrupt_corr: float = 0.0
    reorder: float = 0.0
    reorder_corr: float = 0.0
    gap: int = 0
    limit: int = DEFAULT_LIMIT

    @classmethod
    def parse(cls, text: str) -> NetemSpec:
        """Parse a netem option string (``"delay 300ms 200ms loss 5%"``).

        Raises:
            ValueError: an option netem has but this emulator does not (``rate``,
                ``slot``, ``distribution`` other than uniform, loss models), or bad syntax.
        """
        words = text.split()
        if not words:
            raise ValueError("empty netem spec")
        values: dict[str, float | int] = {}
        i = 0
        while i < len(words):
            i = _parse_option(words, i, values)
        if values.get("reorder") and not values.get("delay"):
            raise ValueError("netem: reordering not possible without specifying some delay")
        if values.get("reorder") and not values.get("gap"):
            values["gap"] = 1  # what tc sets when reorder comes without a gap
        return cls(**values)  # type: ignore[arg-type]

    def holds(self) -> bool:
        """True when packets wait (a delay), False when every verdict is immediate."""
        return self.delay > 0 or self.jitter > 0


def _parse_option(words: list[str], i: int, values: dict[str, float | int]) -> int:
    """Parse the option at ``words[i]`` into ``values``; returns the next index."""
    word = words[i]
    if word == "limit":
        values["limit"] = int(_need(words, i + 1, "limit", _count))
        return i + 2
    if word == "delay":
        values["delay"] = _need(words, i + 1, "delay", _time)
        i += 2
        if i < len(words) and (jitter := _time(words[i])) is not None:
            values["jitter"] = jitter
            i += 1
            if i < len(words) and (corr := _percent(words[i])) is not None:
                values["delay_corr"] = corr
                i += 1
        if i + 1 < len(words) and words[i] == "distribution":
            if words[i + 1] != "uniform":
                raise ValueError(f"netem emulator: distribution {words[i + 1]!r} (uniform only)")
            i += 2
        return i
    if word == "reorder":
        i = _probability(words, i, values, "reorder")
        if i + 1 < len(words) and words[i] == "gap":
            values["gap"] = int(_need(words, i + 1, "gap", _count))
            i += 2
        return i
    if word in ("loss", "drop"):
        if i + 1 < len(words) and words[i + 1] == "random":
            i += 1
        elif i + 1 < len(words) and words[i + 1] in ("state", "gemodel"):
            raise ValueError(f"netem emulator: loss model {words[i + 1]!r} not supported")
        return _probability(words, i, values, "loss")
    if word in ("duplicate", "corrupt"):
        return _probability(words, i, values, word)
    raise ValueError(f"netem emulator: unsupported option {word!r} (supports {', '.join(KINDS)})")


def _probability(words: list[str], i: int, values: dict[str, float | int], name: str) -> int:
    values[name] = _need(words, i + 1, name, _percent)
    i += 2
    if i < len(words) and (corr := _percent(words[i])) is not None:
        values[f"{name}_corr"] = corr
        i += 1
    return i


def _count(word: str) -> float | None:
    return float(word) if word.isdigit() else None


def _need(words: list[str], i: int, name: str, convert: Callable[[str], float | None]) -> float:
    value = convert(words[i]) if i < len(words) else None
    if value is None:
        got = words[i] if i < len(words) else "nothing"
        raise ValueError(f"netem: bad value for {name}: {got!r}")
    return float(value)


@dataclass(slots=True)
class Correlated:
    """netem's correlated uniform generator (``ρ`` = 0: plain uniform)."""

    rho: float
    rng: random.Random
    last: float = field(default=0.0)

    def next(self) -> float:
        """The next value in [0, 1)."""
        value = self.rng.random()
        if self.rho:
            value = (1 - self.rho) * value + self.rho * self.last
        self.last = value
        return value

    def hit(self, probability: float) -> bool:
        """One event with ``probability`` (never when it is 0)."""
        return probability > 0 and self.next() < probability


@dataclass(frozen=True, slots=True)
class Release:
    """One packet (or a duplicate of it) to let go at monotonic time ``at``."""

    at: float
    payload: bytes | None
    """Replacement bytes (corrupted), or None to keep the packet as it is."""
    copy: bool = False
    """A duplicate the runner must inject itself (the kernel holds only the original)."""


@dataclass(frozen=True, slots=True)
class Fate:
    """What becomes of one queued packet: dropped, or released (with copies)."""

    releases: tuple[Release, ...]
    corrupted: int = 0

    @property
    def dropped(self) -> bool:
        """True when the original is dropped (a duplicate may still go out)."""
        return not any(not r.copy for r in self.releases)


@dataclass
class Emulator:
    """Decides every packet's fate the way netem would (one direction of one link)."""

    spec: NetemSpec
    rng: random.Random = field(default_factory=random.Random)
    held: int = 0
    """Packets currently waiting (the runner decrements it on release)."""
    _counter: int = 0

    def __post_init__(self) -> None:
        self._delay = Correlated(self.spec.delay_corr, self.rng)
        self._loss = Correlated(self.spec.loss_corr, self.rng)
        self._dup = Correlated(self.spec.duplicate_corr, self.rng)
        self._corrupt = Correlated(self.spec.corrupt_corr, self.rng)
        self._reorder = Correlated(self.spec.reorder_corr, self.rng)

    def decide(self, packet: bytes, now: float) -> Fate:
        """The fate of ``packet`` queued at ``now``: releases in any order, or none."""
        duplicated = self._dup.hit(self.spec.duplicate)
        count = 1 + duplicated - self._loss.hit(self.spec.loss)
        if count == 0 or self.held >= self.spec.limit:
            return Fate(())
        releases: list[Release] = []
        corrupted = 0
        # the clone goes through again with duplication off, as in netem
        if count > 1 and not self._loss.hit(self.spec.loss):
            copy = self._mangle(packet)
            corrupted += copy is not None
            releases.append(Release(self._when(now), copy or packet, copy=True))
        damaged = self._mangle(packet)
        corrupted += damaged is not None
        releases.append(Release(self._when(now), damaged))
        return Fate(tuple(releases), corrupted)

    def _mangle(self, packet: bytes) -> bytes | None:
        if not self._corrupt.hit(self.spec.corrupt):
            return None
        return flip_bit(packet, self.rng)

    def _when(self, now: float) -> float:
        """Release time: now + delay ± jitter, or now when this packet is reordered."""
        spec = self.spec
        if not spec.holds():
            return now
        if spec.gap and self._counter >= spec.gap - 1 and self._reorder.hit(spec.reorder):
            self._counter = 0
            return now
        self._counter += 1
        delay = spec.delay
        if spec.jitter:
            delay += (2 * self._delay.next() - 1) * spec.jitter
        return now + max(0.0, delay)


# ------------------------------------------------------------------------ packet bytes


def flip_bit(packet: bytes, rng: random.Random) -> bytes | None:
    """``packet`` (IPv4) with one random bit flipped, or None when it cannot be corrupted.

    UDP: the bit is in the payload and the checksum is recomputed (kept 0 when the
    sender sent none), so the datagram is delivered damaged. Other protocols: the bit
    is after the IP header and checksums stay as they were (the receiver drops it).
    """
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    ihl = (packet[0] & 0x0F) * 4
    total = min(len(packet), struct.unpack_from("!H", packet, 2)[0])
    fragment = struct.unpack_from("!H", packet, 6)[0] & 0x3FFF
    udp = packet[9] == 17 and not fragment and total >= ihl + 8
    start = ihl + 8 if udp else ihl
    if total <= start:
        return None
    data = bytearray(packet)
    offset = rng.randrange(start, total)
    data[offset] ^= 1 << rng.randrange(8)
    if udp and struct.unpack_from("!H", packet, ihl + 6)[0] != 0:
        struct.pack_into("!H", data, ihl + 6, udp_checksum(bytes(data[:total]), ihl))
    return bytes(data)


def udp_checksum(packet: bytes, ihl: int) -> int:
    """The UDP checksum of the IPv4 datagram in ``packet`` (header at ``ihl``)."""
    length = struct.unpack_from("!H", packet, ihl + 4)[0]
    segment = bytearray(packet[ihl : ihl + length])
    segment[6:8] = b"\0\0"
    pseudo = packet[12:20] + struct.pack("!BBH", 0, 17, length)
    value = _ones_sum(pseudo + bytes(segment))
    value = ~value & 0xFFFF
    return value or 0xFFFF


def _ones_sum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total
