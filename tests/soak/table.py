"""The §6 scenario table in order: runnable scenarios and the ones skipped here (why).

``bench/soak.py`` (``make soak``) runs this table; ``run_one`` turns a fault the
machine cannot inject (``LabUnsupported``) into a SKIP row instead of a failure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from lab.netns import LabUnsupported
from tests.soak import more, scenarios
from tests.soak.scenarios import ScenarioResult

logger = logging.getLogger(__name__)

SCENARIOS: dict[str, Callable[[], ScenarioResult]] = {
    "s01": scenarios.s01_cold_simulstart,
    "s02": more.s02_start_one_by_one,
    "s03": more.s03_failback_on,
    "s04": more.s04_failback_off,
    "s05": more.s05_graceful_stop_active,
    "s06": more.s06_simul_stop,
    "s07": more.s07_partial_start,
    "s08": more.s08_alone_with_stonith,
    "s09": more.s09_flip_loop,
    "s10": scenarios.s10_kill_active,
    "s11": scenarios.s11_kill_standby,
    "s13": more.s13_two_media_cut_one,
    "s14": more.s14_serial_only,
    "s15": more.s15_bandwidth,
    "s16": scenarios.s16_loss_both_ways,
    "s17": scenarios.s17_one_way_loss,
    "s18": scenarios.s18_delay_jitter,
    "s19": more.s19_delay_beyond_deadtime,
    "s21": scenarios.s21_corrupt,
    "s22": more.s22_cpu_starvation,
    "s23": scenarios.s23_short_freeze,
    "s24": more.s24_freeze_with_stonith,
    "s25": scenarios.s25_long_freeze_no_stonith,
    "s26": more.s26_freeze_service,
    "s28": scenarios.s28_clock_skew,
    "s29": more.s29_cut_with_stonith,
    "s30": more.s30_cut_without_stonith,
    "s32": more.s32_stonith_device_failing,
    "s33": more.s33_ping_ipfail,
    "s34": more.s34_standby,
    "s35": more.s35_standby_peer_down,
    "s36": more.s36_takeover,
    "s37": more.s37_standby_in_flux,
    "s38": more.s38_group_ordering,
    "s39": more.s39_start_fails_on_takeover,
    "s40": more.s40_stop_fails_on_release,
    "s41": more.s41_authkeys_modes,
    "s42": more.s42_wrong_key,
    "s44": more.s44_replay,
    "s46": more.s46_fuzz_100k,
    "s47": scenarios.s47_flood,
    "s48": more.s48_config_validation,
}
"""Every runnable scenario, by §6 number."""

SKIPPED: dict[str, tuple[str, str]] = {
    "s49": ("49 interop with Debian heartbeat", "optional; covered by tests/interop"),
    "s50": ("50 2 h random soak", "optional; 2 h is beyond one make-soak run"),
}
"""Scenarios that cannot run on this kind of machine/engine, with the reason."""


def run_one(name: str) -> ScenarioResult:
    """Run scenario ``name``; an unsupported fault or a crash becomes a SKIP/FAIL row."""
    if name in SKIPPED:
        label, reason = SKIPPED[name]
        return ScenarioResult(label, skipped=reason)
    try:
        return SCENARIOS[name]()
    except LabUnsupported as exc:
        return ScenarioResult(name, skipped=f"{exc}")
    except Exception as exc:  # a scenario that crashes is a failed row, not a crash
        logger.exception("scenario %s crashed", name)
        return ScenarioResult(name, details=[f"error: {exc!r}"])


def order() -> list[str]:
    """Every scenario number, runnable or skipped, in §6 order."""
    return sorted([*SCENARIOS, *SKIPPED], key=lambda n: int(n[1:]))
