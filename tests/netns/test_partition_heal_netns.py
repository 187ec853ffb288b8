"""Short partitions healed again and again at keepalive 100 ms: one owner every time.

``bench/compare.py`` found that a partition healing in the middle of a hand-over left
both nodes running the group (the home node's answer lost, the next one held back by
the answer limit) or neither (both released at once), for good: 2 of 5 runs at
100ms/500ms never came back to one owner. Real engines, real UDP, both links cut with
the lab's packet filter, the cluster IP sampled every 20 ms.

Opt-in (``HATUI_SOAK=1``): the repeated answer fixed the lasting double owner (this
failed at the fourth partition before, and passed 15/15, 20/20 under two CPU hogs and
4/4 standalone after), but one run in the full suite still ended with nobody running
the group: the two sides released at once and the home node's orphan rule did not
start it within 30 s. Until that is understood this stays out of CI; the failure
message carries both engines' resource state for whoever picks it up.
"""

from __future__ import annotations

import os

import pytest

from lab.mixed import PROFILES, VIP, MixedCluster
from lab.partition import partition_heal
from tests.netns.conftest import LabFactory

TRIES = 6
ONE_OWNER_FOR = 2.0
"""Seconds of single ownership that count as settled."""


def holdings(cluster: MixedCluster) -> str:
    """Each engine's resource state (status --json), for a failure's message."""
    lines = []
    for name in cluster.names:
        handle = getattr(cluster[name], "handle", None)
        doc = handle.try_status() if handle is not None else None
        resources = (doc or {}).get("resources", {})
        groups = [(g.get("state"), g.get("held_by")) for g in (doc or {}).get("groups", [])]
        peers = [(n.get("name"), n.get("status")) for n in (doc or {}).get("nodes", [])]
        keep = ("i_hold", "other_holds", "state", "stable", "unstable_because", "standby")
        lines.append(f"{name}: { ({k: resources.get(k) for k in keep}) } {groups} {peers}")
    return "\n".join(lines)


@pytest.mark.skipif(
    os.environ.get("HATUI_SOAK") != "1",
    reason="six partitions at 100 ms (~1 min), with a known residual: set HATUI_SOAK=1",
)
def test_every_healed_partition_ends_with_one_owner(
    make_lab: LabFactory, engine_available: None
) -> None:
    timers = PROFILES["100ms/500ms"]
    lab = make_lab(["alpha", "bravo"])
    cluster = MixedCluster(
        lab, {"alpha": "hatui", "bravo": "hatui"}, timers=timers, extra="crm no\nrealtime on"
    )
    cluster.configure()
    cluster.start()
    cluster.wait_mutual("active", 40)
    cluster.wait_served_by("alpha", 40, 0.1)
    healed_in = []
    for attempt in range(TRIES):
        cluster.wait_stable(40)
        try:
            healed_in.append(
                partition_heal(lab, VIP, timers.deadtime_s, settle=30, hold=ONE_OWNER_FOR)
            )
        except TimeoutError as exc:
            raise AssertionError(f"try {attempt}: {exc}\n{holdings(cluster)}\n"
                                 f"{cluster.diagnostics()}") from None  # fmt: skip
        cluster.wait_served_by("alpha", 30, 0.1)  # auto_failback on: home again
    print("one owner after heal (ms):", [round(s * 1000) for s in healed_in])
    assert max(healed_in) < 5.0
