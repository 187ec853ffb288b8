"""Fixtures for mixed clusters: real Heartbeat 3.0.6 next to hatui in a namespace lab."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import pytest

from lab import Lab, engine_importable, lab_unavailable_reason
from lab.cluster import Timers
from lab.mixed import PROFILES, Kind, MixedCluster
from lab.realhb import realhb_unavailable_reason

MixedFactory = Callable[..., MixedCluster]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here needs root, namespaces and the Debian heartbeat package."""
    for item in items:
        if "tests/interop/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.netns)


@pytest.fixture(scope="session")
def interop_available() -> None:
    """Skip with the reason when the lab, the engine or real Heartbeat cannot run."""
    for reason in (lab_unavailable_reason(), realhb_unavailable_reason(), engine_importable()):
        if reason is not None:
            pytest.skip(f"interop with Heartbeat 3.0.6 unavailable: {reason}")


@pytest.fixture
def make_mixed(interop_available: None) -> Iterator[MixedFactory]:
    """Factory for configured (not started) alpha+bravo mixed clusters, always torn down."""
    opened: list[tuple[Lab, MixedCluster]] = []

    def factory(
        kinds: Mapping[str, Kind],
        media: str = "ucast",
        auth: str = "sha1",
        timers: Timers = PROFILES["200ms/1s"],
    ) -> MixedCluster:
        lab = Lab(["alpha", "bravo"], networks=1)
        lab.start()
        cluster = MixedCluster(lab, kinds, media=media, auth=auth, timers=timers)
        opened.append((lab, cluster))
        cluster.configure()
        return cluster

    yield factory
    for lab, cluster in reversed(opened):
        cluster.close()
        lab.close()
