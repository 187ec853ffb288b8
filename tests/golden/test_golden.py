"""Every golden scenario is one test: the policy must say exactly what the file says.

A failure shows the unified diff (expected = the file, actual = today's policy). After
reading it and deciding the new behaviour is right, rewrite the files with
``python -m tests.golden --update NAME`` or ``pytest tests/golden --golden-update``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.golden import runner


@pytest.mark.parametrize("path", runner.all_paths(), ids=lambda p: p.stem)
def test_scenario(path: Path, request: pytest.FixtureRequest) -> None:
    outcome = runner.replay(path)
    if outcome.passed:
        return
    if request.config.getoption("--golden-update", default=False):
        runner.update(outcome)
        return
    pytest.fail(f"{path.name}: the policy's behaviour changed:\n{outcome.diff()}", pytrace=False)


def test_there_are_enough_scenarios() -> None:
    """The suite is the safety net of the policy rewrite (issue 16): at least 60."""
    assert len(runner.all_paths()) >= 60
