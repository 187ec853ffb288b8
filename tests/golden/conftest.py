"""``pytest tests/golden --golden-update`` rewrites the expectations (after review)."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--golden-update",
        action="store_true",
        default=False,
        help="rewrite tests/golden/scenarios/*.scn with today's policy output",
    )
