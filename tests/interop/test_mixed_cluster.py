"""hatui and the real Heartbeat 3.0.6 in one two-node cluster (same ha.cf/authkeys/haresources).

``alpha IPaddr2::10.99.0.10/24/eth0 hbweb`` with ``auto_failback on``; hbweb answers the
node name over HTTP, probed from the client namespace. The membership matrix covers every
auth method over every medium; the scenarios run with sha1 over ucast and each
implementation in turn as the home node ``alpha``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

import pytest

from lab.mixed import AUTHS, MEDIA, Kind, MixedCluster
from lab.netns import wait_until
from tests.interop.conftest import MixedFactory

T = TypeVar("T")

START_TIMEOUT = 30.0  # both implementations wait ~10 s after comm-up before acquiring
FAILOVER_TIMEOUT = 15.0
ASSIGNMENTS: list[dict[str, Kind]] = [
    {"alpha": "heartbeat", "bravo": "hatui"},
    {"alpha": "hatui", "bravo": "heartbeat"},
]
ASSIGNMENT_IDS = ["real-alpha", "real-bravo"]


def explain(cluster: MixedCluster, step: Callable[[], T]) -> T:
    """Run ``step``; on a timeout fail with both nodes' logs (the useful part)."""
    try:
        return step()
    except TimeoutError as exc:
        pytest.fail(f"{exc}\n{cluster.diagnostics()}")


def started(cluster: MixedCluster) -> MixedCluster:
    """Start both members and wait until alpha serves the group."""
    explain(cluster, cluster.start)
    explain(cluster, lambda: cluster.wait_mutual("active", START_TIMEOUT))
    explain(cluster, lambda: cluster.wait_served_by("alpha", START_TIMEOUT, 0.1))
    return cluster


@pytest.mark.parametrize("kinds", ASSIGNMENTS, ids=ASSIGNMENT_IDS)
@pytest.mark.parametrize("media", MEDIA)
@pytest.mark.parametrize("auth", list(AUTHS))
def test_both_report_the_other_active(
    make_mixed: MixedFactory, auth: str, media: str, kinds: dict[str, Kind]
) -> None:
    """cl_status on the real node and hactl on ours both say the peer is active."""
    cluster = make_mixed(kinds, media=media, auth=auth)
    explain(cluster, cluster.start)
    explain(cluster, lambda: cluster.wait_mutual("active", START_TIMEOUT))
    for name in cluster.names:
        peer = cluster.peer_of(name)
        assert cluster[name].admin_nodestatus(peer) == "active", cluster.diagnostics()


@pytest.mark.parametrize("kinds", ASSIGNMENTS, ids=ASSIGNMENT_IDS)
def test_crash_then_takeover_then_auto_failback(
    make_mixed: MixedFactory, kinds: dict[str, Kind]
) -> None:
    """Crash of the home node: the peer serves the VIP; on return the group goes home."""
    cluster = started(make_mixed(kinds))
    cluster.crash("alpha")
    explain(cluster, lambda: cluster.wait_served_by("bravo", FAILOVER_TIMEOUT))
    assert cluster["bravo"].sees("alpha") == "dead"
    cluster.revive("alpha")
    explain(cluster, lambda: cluster.wait_served_by("alpha", START_TIMEOUT, 0.1))
    explain(cluster, lambda: cluster.wait_mutual("active", START_TIMEOUT))


@pytest.mark.parametrize("kinds", ASSIGNMENTS, ids=ASSIGNMENT_IDS)
def test_crash_of_the_standby_node_keeps_the_service(
    make_mixed: MixedFactory, kinds: dict[str, Kind]
) -> None:
    """Crash of bravo: alpha declares it dead and keeps serving."""
    cluster = started(make_mixed(kinds))
    cluster.crash("bravo")
    explain(
        cluster,
        lambda: _wait(lambda: cluster["alpha"].sees("bravo") == "dead", FAILOVER_TIMEOUT),
    )
    assert cluster.served_by(1.0) == "alpha"


@pytest.mark.parametrize("kinds", ASSIGNMENTS, ids=ASSIGNMENT_IDS)
def test_standby_moves_the_group_both_ways(
    make_mixed: MixedFactory, kinds: dict[str, Kind]
) -> None:
    """hb_standby on the real node and hactl standby on ours hand the group over."""
    cluster = started(make_mixed(kinds))
    explain(cluster, lambda: cluster.wait_stable(START_TIMEOUT))
    cluster["alpha"].standby()
    explain(cluster, lambda: cluster.wait_served_by("bravo", FAILOVER_TIMEOUT))
    explain(cluster, lambda: cluster.wait_stable(START_TIMEOUT))
    cluster["bravo"].standby()
    explain(cluster, lambda: cluster.wait_served_by("alpha", FAILOVER_TIMEOUT))


@pytest.mark.parametrize("kinds", ASSIGNMENTS, ids=ASSIGNMENT_IDS)
def test_graceful_stop_is_a_shutdown_not_a_death(
    make_mixed: MixedFactory, kinds: dict[str, Kind]
) -> None:
    """Stopping alpha: bravo logs the shutdown notice, takes the group, no 'Late heartbeat'."""
    cluster = started(make_mixed(kinds))
    mark = len(cluster["bravo"].log_lines())
    cluster["alpha"].stop()
    explain(cluster, lambda: cluster.wait_served_by("bravo", FAILOVER_TIMEOUT))
    explain(
        cluster,
        lambda: _wait(lambda: cluster["bravo"].sees("alpha") == "dead", FAILOVER_TIMEOUT),
    )
    text = "\n".join(cluster["bravo"].log_lines()[mark:])
    assert re.search(r"Received shutdown notice from 'alpha'", text), cluster.diagnostics()
    assert "Dead node alpha gave up resources" in text, cluster.diagnostics()
    assert "Late heartbeat" not in text, cluster.diagnostics()


def _wait(predicate: Callable[[], bool], timeout: float) -> bool:
    return wait_until(predicate, timeout, 0.05)
