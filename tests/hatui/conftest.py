"""Shared fixtures for the console tests."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.control.conftest import sock_dir  # noqa: F401 (a fixture: short socket paths)


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Render wall-clock times in UTC so snapshots do not depend on the machine's zone."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
