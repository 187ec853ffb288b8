"""Fixtures: a config dir whose resource.d holds the LSB test script."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.resources.lab import LsbLab, make_lab


@pytest.fixture
def lab(tmp_path: Path) -> LsbLab:
    return make_lab(tmp_path)


@pytest.fixture(autouse=True)
def agent_path_for_ip(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Most tests here exercise the real OCF/wrapper path for IPaddr2, not the fast path."""
    if "native_ip" not in request.node.nodeid:
        monkeypatch.setenv("HATUI_NATIVE_IP", "0")
