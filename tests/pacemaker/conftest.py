"""One real Corosync + Pacemaker cluster per test module (lab/pacemaker), root only."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from lab import lab_unavailable_reason
from lab.pacemaker import PacemakerCluster, pacemaker_unavailable_reason, remove_leftovers

FULL = bool(os.environ.get("HATUI_PCMK_FULL"))
"""Set HATUI_PCMK_FULL=1 for the long variants (every format crashed, not one per example)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here needs root, namespaces and Debian's corosync + pacemaker."""
    for item in items:
        if "tests/pacemaker/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.netns)
            item.add_marker(pytest.mark.slow)


def lab_cluster(start: bool = True, **kwargs: Any) -> Iterator[PacemakerCluster]:
    """A Pacemaker lab cluster (``PacemakerCluster(**kwargs)``), started or only built,
    always torn down; skips with the reason when the machine cannot run it."""
    for reason in (lab_unavailable_reason(), pacemaker_unavailable_reason()):
        if reason is not None:
            pytest.skip(f"Pacemaker lab unavailable: {reason}")
    remove_leftovers()
    cluster = PacemakerCluster(**kwargs)
    if start:
        cluster.up()
    else:
        cluster.build()
    try:
        yield cluster
    finally:
        cluster.down()


@pytest.fixture(scope="module")
def pcmk() -> Iterator[PacemakerCluster]:
    """A started three-node cluster (alpha, bravo, charlie) shared by the module's tests."""
    yield from lab_cluster()
