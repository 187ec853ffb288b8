"""Fixtures: a config dir whose resource.d holds the LSB test script."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.resources.lab import LsbLab, make_lab


@pytest.fixture
def lab(tmp_path: Path) -> LsbLab:
    return make_lab(tmp_path)
