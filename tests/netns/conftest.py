"""Fixtures for the namespace tests: a lab per test, skipped cleanly without root/ip."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import pytest

from lab import Lab, engine_importable, lab_unavailable_reason

LabFactory = Callable[..., Lab]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder needs root and namespaces."""
    for item in items:
        if "tests/netns/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.netns)


@pytest.fixture(scope="session")
def lab_available() -> None:
    """Skip when the machine cannot run namespaces (not root, no ip)."""
    reason = lab_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def engine_available(lab_available: None) -> None:
    """Fail (never skip) when ``python -m engine.programs.haengine --help`` does not work: a broken
    engine is a regression, not a missing prerequisite."""
    reason = engine_importable()
    if reason is not None:
        pytest.fail(f"engine not runnable: {reason}")


@pytest.fixture
def make_lab(lab_available: None) -> Iterator[LabFactory]:
    """Factory for labs that are always torn down at the end of the test."""
    labs: list[Lab] = []

    def factory(node_names: Sequence[str], networks: int = 2, client: bool = True) -> Lab:
        lab = Lab(node_names, networks, client)
        labs.append(lab)
        lab.start()
        return lab

    yield factory
    for lab in reversed(labs):
        lab.close()
