"""A full partition of a two-node lab, healed: how long until the VIP has one owner.

Shared by ``bench/compare.py`` (the number in BENCHMARKS) and the namespace test that
repeats it (``tests/netns/test_partition_heal_netns.py``).
"""

from __future__ import annotations

import time

from lab.namespaces import wait_until
from lab.netns import Lab, VipSampler


def single_owner_since(sampler: VipSampler, after: float, hold: float) -> float | None:
    """Start time of a run of one-holder samples after ``after`` lasting ``hold`` s."""
    samples = [s for s in list(sampler.samples) if s.time >= after]
    start: float | None = None
    for sample in samples:
        single = len(sample.holders) == 1
        start = None if not single else (sample.time if start is None else start)
    if start is not None and samples and samples[-1].time - start >= hold:
        return start
    return None


def partition_heal(
    lab: Lab, vip: str, deadtime: float, *, settle: float = 120.0, hold: float = 2.0
) -> float:
    """Cut every link of every node until both hold ``vip`` (split brain), restore them;
    seconds from the heal to one owner held for ``hold`` s (TimeoutError after
    ``settle`` s, with the last state seen)."""
    links = [(node, ifname) for node in lab.nodes.values() for ifname in node.interfaces]
    with lab.vip_sampler(vip) as sampler:
        for node, ifname in links:
            lab.netem(node, ifname, "loss 100%")
        try:
            wait_until(lambda: len(sampler.current()) == 2, deadtime + 20, 0.05, "split brain")
        finally:
            for node, ifname in links:
                lab.netem_clear(node, ifname)
        healed = time.monotonic()
        single = wait_until(
            lambda: single_owner_since(sampler, healed, hold), settle, 0.1, "single owner"
        )
    return single - healed
