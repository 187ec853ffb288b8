"""The runner itself: it catches a broken decision, rewrites on request, names bad lines.

``test_a_broken_decision_shows_as_a_readable_diff`` is the proof asked for in issue 16:
a deliberately wrong policy (a dead peer that may hold groups is never fenced) is
caught by the golden scenario of a crash with STONITH, and the diff names exactly
what changed. It patches that one decision where it lives,
``Takeover.dead_peer_may_hold_groups`` (before the policy was rebuilt as objects it
was ``ResourcePolicy._dead_peer_may_hold_groups``; the scenario and the expected diff
lines stayed the same).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.core.policy.takeover import Takeover
from tests.golden import runner
from tests.golden.scenario import ScenarioError

CRASH_WITH_STONITH = runner.SCENARIOS / "crash-active-stonith.scn"


def test_a_broken_decision_shows_as_a_readable_diff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Takeover, "dead_peer_may_hold_groups", lambda self: False)
    outcome = runner.replay(CRASH_WITH_STONITH)
    assert not outcome.passed
    diff = outcome.diff()
    assert diff.startswith("--- expected/crash-active-stonith.scn\n+++ actual/")
    removed = "-    bravo  action   fence alpha: fencing alpha before taking over: alpha declared"
    added = "+    bravo  send     t=stonith node=alpha result=unneeded"
    assert removed in diff and added in diff
    assert "+    bravo           log info: Dead node alpha gave up resources." in diff
    # the script's fence result no longer fits: said in place, not a crash
    assert "+    !! cannot apply: bravo is not fencing alpha; pending: acquire" in diff
    with pytest.raises(ScenarioError, match="not updated: some inputs no longer apply"):
        runner.update(outcome)


def test_update_rewrites_only_the_expectations(tmp_path: Path) -> None:
    path = tmp_path / "copy.scn"
    shutil.copy(CRASH_WITH_STONITH, path)
    original = path.read_text(encoding="utf-8")
    sent = "    bravo  send     t=stonith node=alpha result="
    path.write_text(original.replace(sent + "OK", sent + "bad"), encoding="utf-8")
    outcome = runner.replay(path)
    assert not outcome.passed and "-    bravo  send     t=stonith node=alpha result=bad" in (
        outcome.diff()
    )
    assert runner.update(outcome)
    assert path.read_text(encoding="utf-8") == original
    assert runner.replay(path).passed


def test_a_bad_script_line_is_named_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.scn"
    text = CRASH_WITH_STONITH.read_text(encoding="utf-8")
    path.write_text(text + "@99 bravo: dance\n", encoding="utf-8")
    line = len(text.splitlines()) + 1
    with pytest.raises(ScenarioError, match=rf"bad.scn:{line}: unknown input bravo: 'dance'"):
        runner.replay(path)
