"""1 000 000 fuzzed datagrams against Membership.receive (reliability §4.4, scenario 46).

The fast run (every CI) feeds 100 000; ``HATUI_SOAK=1`` feeds the full million.
"""

from __future__ import annotations

import os
import resource

from engine.core.sequence import MAX_MISSING
from lab.fuzz import mutated_datagrams
from tests.fuzz.inproc import WALL0, feed_alone, flood_pair, make_core, resigned_mutations

FULL = os.environ.get("HATUI_SOAK") == "1"
GARBAGE = 900_000 if FULL else 90_000
SIGNED = 100_000 if FULL else 10_000


def _rss_kib() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def test_garbage_flood_changes_nothing_and_peer_stays_alive() -> None:
    """Unsigned/mutated garbage at 20k/s of fake time: no crash, no death, no growth."""
    alpha, bravo = make_core("alpha"), make_core("bravo", seed=2)
    now = 1000.0
    alpha.start(now, WALL0 + now)
    bravo.start(now, WALL0 + now)
    rss_before = 0

    def measure(index: int) -> None:
        nonlocal rss_before
        if index == 20_000:
            rss_before = _rss_kib()

    deaths = flood_pair(alpha, bravo, mutated_datagrams(GARBAGE, seed=4646), measure)
    growth_kib = _rss_kib() - rss_before
    assert not deaths, deaths
    assert alpha.nodes["bravo"].status == "active"
    assert set(alpha.nodes) == {"alpha", "bravo"}
    assert sum(alpha.rejected.values()) > GARBAGE * 0.9
    assert growth_kib < 10 * 1024, f"RSS grew {growth_kib} KiB"


def test_signed_hostile_fields_never_raise_and_state_stays_bounded() -> None:
    """Validly signed messages with absurd seq/hg/dt/src/dest values: bounded state."""
    core = make_core("alpha")
    now = 1000.0
    core.start(now, WALL0 + now)
    feed_alone(core, resigned_mutations(SIGNED, seed=4647), seed=5)
    assert set(core.nodes) == {"alpha", "bravo"}
    for node in core.nodes.values():
        assert len(node.track.missing) <= MAX_MISSING
        assert set(node.links) == {"eth0"}
    assert len(core._history) <= 500
    assert len(core.rejected) < 30, core.rejected
