"""One-way loss between two lab nodes (nft rules) and the dual-owner spans of a VIP sampler.

Two ways to lose everything one node sends to another, each a real fault an operator
meets:

* ``at="sender"``: a rule in the sender's output hook, as a one-way firewall rule on
  that host (its ``sendto`` fails with EPERM, which the engine counts as send errors);
* ``at="receiver"``: a rule in the receiver's input hook matching the sender's
  address, as a broken transmit path (the sender sees nothing wrong at all).

Every rule lives in a table of its own, removed when the block ends whatever happened.
"""

from __future__ import annotations

import contextlib
import itertools
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from lab.netns import Lab, LabUnsupported, Sample

_tables = itertools.count(1)


@contextlib.contextmanager
def one_way_loss(
    lab: Lab,
    sender: str,
    receiver: str,
    ifnames: Sequence[str],
    *,
    at: str = "sender",
    port: int = 694,
) -> Iterator[float]:
    """Drop every heartbeat datagram ``sender`` sends to ``receiver`` on ``ifnames``.

    Yields ``time.monotonic()`` right after the rule is in place (the fault's start).

    Raises:
        LabUnsupported: ``nft`` is missing or refuses the rule (the message says why).
    """
    if shutil.which("nft") is None:
        raise LabUnsupported("one-way loss needs nft (apt install nftables)")
    if at not in ("sender", "receiver"):
        raise ValueError(f"at must be 'sender' or 'receiver', not {at!r}")
    table = f"hatui_oneway_{next(_tables)}"
    where = lab.node(sender if at == "sender" else receiver)
    rules = [_rule(lab, sender, ifname, at, port) for ifname in ifnames]
    hook = "output" if at == "sender" else "input"
    script = (
        f"table inet {table} {{\n  chain drop_{hook} {{\n"
        f"    type filter hook {hook} priority 0; policy accept;\n"
        + "".join(f"    {rule}\n" for rule in rules)
        + "  }\n}\n"
    )
    _nft(where.namespace, ["-f", "-"], script)
    try:
        yield time.monotonic()
    finally:
        _nft(where.namespace, ["delete", "table", "inet", table])


def _rule(lab: Lab, sender: str, ifname: str, at: str, port: int) -> str:
    if at == "sender":
        return f'oifname "{ifname}" udp dport {port} drop'
    network = int(ifname.removeprefix("eth"))
    source = lab.node(sender).address(network)
    return f'iifname "{ifname}" ip saddr {source} udp dport {port} drop'


def _nft(namespace: str, args: Sequence[str], stdin: str = "") -> None:
    proc = subprocess.run(
        ["ip", "netns", "exec", namespace, "nft", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=10,
    )
    if proc.returncode != 0:
        raise LabUnsupported(f"nft {' '.join(args)} in {namespace}: {proc.stderr.strip()}")


@dataclass(frozen=True)
class Span:
    """A stretch of samples in which more than one node held the address."""

    start: float
    end: float
    """Time of the first sample after the span with at most one holder (or the last)."""
    holders: frozenset[str]

    @property
    def seconds(self) -> float:
        return self.end - self.start


def dual_owner_spans(samples: Sequence[Sample]) -> list[Span]:
    """Every span of two or more holders, in order (20 ms samples: ±20 ms)."""
    spans: list[Span] = []
    start: Sample | None = None
    for sample in samples:
        if len(sample.holders) > 1:
            start = start or sample
        elif start is not None:
            spans.append(Span(start.time, sample.time, start.holders))
            start = None
    if start is not None and samples:
        spans.append(Span(start.time, samples[-1].time, start.holders))
    return spans


def holders_at(samples: Sequence[Sample], when: float) -> frozenset[str]:
    """The holders in the last sample taken at or before ``when``."""
    before = [s for s in samples if s.time <= when]
    if not before:
        raise LookupError(f"no sample at or before t={when:.3f}")
    return before[-1].holders
