"""The §6 scenarios on real engines in namespaces (``make soak`` prints the table).

``fast_soak`` tests run in CI; every other scenario is skipped unless HATUI_SOAK=1.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from lab import engine_importable, lab_unavailable_reason
from lab.faults import faketime_library
from tests.soak import scenarios, table
from tests.soak.scenarios import ScenarioResult

pytestmark = [pytest.mark.netns, pytest.mark.timeout(900)]
SOAK = os.environ.get("HATUI_SOAK") == "1"


def _run(scenario: Callable[[], ScenarioResult], fast: bool) -> None:
    reason = lab_unavailable_reason() or engine_importable()
    if reason:
        pytest.skip(reason)
    if not fast and not SOAK:
        pytest.skip("full soak scenario: set HATUI_SOAK=1 (make soak)")
    result = scenario()
    if result.skipped is not None:
        pytest.skip(f"{result.name}: {result.skipped}")
    print(f"\n{scenarios.HEADER}\n{result.row()}\n" + "\n".join(result.details))
    assert result.passed, "\n".join(result.details)


@pytest.mark.fast_soak
def test_s01_cold_simulstart() -> None:
    _run(scenarios.s01_cold_simulstart, fast=True)


@pytest.mark.fast_soak
def test_s10_kill_active() -> None:
    _run(scenarios.s10_kill_active, fast=True)


@pytest.mark.fast_soak
def test_s23_short_freeze() -> None:
    _run(scenarios.s23_short_freeze, fast=True)


@pytest.mark.fast_soak
def test_s47_flood_10s() -> None:
    _run(lambda: scenarios.s47_flood(seconds=10.0), fast=True)


def test_s11_kill_standby() -> None:
    _run(scenarios.s11_kill_standby, fast=False)


def test_s16_loss_both_ways() -> None:
    _run(scenarios.s16_loss_both_ways, fast=False)


def test_s17_one_way_loss() -> None:
    _run(scenarios.s17_one_way_loss, fast=False)


def test_s18_delay_jitter() -> None:
    _run(scenarios.s18_delay_jitter, fast=False)


def test_s21_corrupt() -> None:
    _run(scenarios.s21_corrupt, fast=False)


def test_s25_long_freeze_no_stonith() -> None:
    _run(scenarios.s25_long_freeze_no_stonith, fast=False)


def test_s28_clock_skew() -> None:
    if faketime_library() is None:
        pytest.skip("libfaketime not installed (apt-get install faketime)")
    _run(scenarios.s28_clock_skew, fast=False)


def test_s47_flood_60s() -> None:
    _run(lambda: scenarios.s47_flood(seconds=60.0), fast=False)


EXPLICIT = {"s01", "s10", "s11", "s16", "s17", "s18", "s21", "s23", "s25", "s28", "s47"}
FAST = {"s26", "s34"}
"""Cheap scenarios (< 30 s each) that join the CI fast subset."""


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=[pytest.mark.fast_soak] if n in FAST else [])
        for n in table.order()
        if n not in EXPLICIT
    ],
)
def test_table_scenario(name: str) -> None:
    """Every other scenario of the §6 table (SKIP rows skip with their reason)."""
    _run(lambda: table.run_one(name), fast=name in FAST)
