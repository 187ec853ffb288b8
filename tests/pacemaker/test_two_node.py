"""The two-node mapping, on a real two-node cluster: the export says
``no-quorum-policy=stop`` and corosync gets ``two_node: 1``; a crash of the holder then
leaves the survivor quorate and it takes the group over, as Heartbeat did."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.export import export_pacemaker
from lab.pacemaker import PacemakerCluster
from lab.pacemaker.examples import web_example
from tests.pacemaker.conftest import lab_cluster


@pytest.fixture(scope="module")
def pair() -> Iterator[PacemakerCluster]:
    """alpha and bravo with ``two_node: 1``."""
    yield from lab_cluster(names=("alpha", "bravo"), two_node=True)


def test_survivor_of_two_keeps_quorum_and_takes_over(
    pair: PacemakerCluster, tmp_path: Path
) -> None:
    example = web_example(tmp_path)
    result = export_pacemaker(example.config_dir, "crm")
    assert result.text is not None, result.error
    assert "no-quorum-policy=stop" in result.text and "two_node: 1" in result.text
    pair.load("crm", result.text)
    pair.wait_group("rg-hbweb", "alpha", 60)
    pair.wait_served("10.99.0.200", "alpha", 30)
    pair.crash("alpha")
    pair.wait_group("rg-hbweb", "bravo", 60)
    pair.wait_served("10.99.0.200", "bravo", 30)
    assert pair["bravo"].quorate()
