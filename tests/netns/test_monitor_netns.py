"""Resource monitoring acceptance on real processes (reliability.md §6 scenario 26).

``alpha IPaddr2::10.99.0.10/24/eth0 hbweb`` with ``monitor_interval = 1``,
``monitor_timeout = 2``, ``monitor_restarts = 1`` in hatui.conf; hbweb's status really
asks the server over HTTP (``hbweb.probe``). Only the web server process on alpha is
frozen (SIGSTOP), never the engine: the check hangs until the monitor timeout kills it,
alpha restarts the group and serves again; frozen once more within the window, the
group moves to bravo.
The 20 ms VIP sampler must never see two holders. Numbers are printed (``-s``).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lab import wait_until
from lab.hbweb import service_events
from tests.netns.conftest import LabFactory
from tests.netns.test_failover_netns import ACQUIRE_TIMEOUT, Pair, _start_pair

INTERVAL, TIMEOUT = 1.0, 2.0
MONITOR = (
    f"monitor_interval = {INTERVAL:g}\nmonitor_timeout = {TIMEOUT:g}\n"
    "monitor_restarts = 1\nmonitor_window = 120\n"
)
"""hatui.conf lines (ha.cf stays Heartbeat's)."""
DETECT_BUDGET = INTERVAL + TIMEOUT + 1.0
"""A check may start up to one interval after the freeze, then hangs for the timeout;
one more second covers the kill, scheduling and the 50 ms status polling."""


@pytest.fixture
def pair(make_lab: LabFactory, engine_available: None) -> Iterator[Pair]:
    started = _start_pair(make_lab, hatui_conf=MONITOR, markers=("hbweb.probe",))
    yield started
    started.sampler.stop()


def _monitor(pair: Pair, observer: str = "alpha") -> dict[str, Any]:
    value = pair.group(observer).get("monitor") or {}
    assert isinstance(value, dict)
    return value


def _web_monitor(pair: Pair) -> dict[str, Any]:
    value = pair.group("alpha")["resources"][1]["monitor"]
    assert isinstance(value, dict)
    return value


def _freeze_web(pair: Pair) -> tuple[int, float]:
    """SIGSTOP alpha's web server (only it); returns its pid and the monotonic time."""
    pid = int((pair.lab.node_dirs("alpha")[0] / "hbweb.pid").read_text())
    os.kill(pid, signal.SIGSTOP)
    return pid, time.monotonic()


def _until(what: str, predicate: Callable[[], object], timeout: float) -> float:
    wait_until(predicate, timeout, 0.05, what)
    return time.monotonic()


def test_frozen_service_is_restarted_then_moved_single_owner(pair: Pair) -> None:
    pair.wait_served_by("alpha", ACQUIRE_TIMEOUT)
    pair.cluster.wait_settled()
    _until("first check passed", lambda: _monitor(pair)["checks"] >= 1, 5)
    alpha_dir = pair.lab.node_dirs("alpha")[0]

    # 1. frozen once: the check times out, alpha restarts the group in place
    old_pid, frozen = _freeze_web(pair)
    detected = _until("monitor failure", lambda: _monitor(pair)["failures"] >= 1, 10)
    served = pair.wait_served_by("alpha", 10)
    new_pid = int((alpha_dir / "hbweb.pid").read_text())
    restart = {
        "detect": detected - frozen,
        "serves again": served - frozen,
    }
    print(
        f"\nfrozen hbweb on alpha: monitor timeout detected after {restart['detect']:.2f} s "
        f"(budget {DETECT_BUDGET:g} s = interval {INTERVAL:g} + timeout {TIMEOUT:g} + 1), "
        f"restarted and served again by alpha after {restart['serves again']:.2f} s"
    )
    assert restart["detect"] <= DETECT_BUDGET
    assert restart["detect"] >= TIMEOUT - 0.2  # it was the timeout, not an early answer
    assert new_pid != old_pid
    _until("recovery done", lambda: _monitor(pair)["recovery"] == "restarted", 5)
    view = _monitor(pair)
    assert (view["failures"], view["restarts"]) == (1, 1)
    _until("a check passes after the restart", lambda: _web_monitor(pair)["result"] == "ok", 5)
    assert _web_monitor(pair)["failures"] == 1
    lines = pair.cluster.engines["alpha"].log_lines()
    failure = next(line for line in lines if "failed its monitor" in line)
    assert "ERROR: Resource hbweb failed its monitor: timeout (timed out after 2" in failure
    assert any("Restarting resource group IPaddr2::10.99.0.10/24/eth0" in ln for ln in lines)
    actions = [e.action for e in service_events(alpha_dir) if _wall_after(e.time, frozen)]
    assert actions[:4] == ["stop", "stopped", "start", "started"], actions
    assert pair.held_by("bravo") == "alpha"

    # 2. frozen again within the window: restarts used up, the group moves to bravo
    _, frozen = _freeze_web(pair)
    detected = _until("second failure", lambda: _monitor(pair)["failures"] >= 2, 10)
    moved = pair.wait_served_by("bravo", 15)
    print(
        f"frozen again: detected after {detected - frozen:.2f} s, "
        f"bravo serves after {moved - frozen:.2f} s (stop on alpha, then standby hand-over)"
    )
    assert detected - frozen <= DETECT_BUDGET
    wait_until(lambda: _monitor(pair)["recovery"] == "moved", 5, 0.05, "alpha reports moved")
    assert pair.held_by("alpha") == "bravo" and pair.held_by("bravo") == "bravo"
    stopped = [e for e in service_events(alpha_dir) if e.action == "stopped"][-1]
    started = next(e for e in service_events(pair.lab.node_dirs("bravo")[0]) if e.action == "start")
    assert stopped.time < started.time, "bravo started hbweb before alpha had stopped it"
    vip_left = pair.sampler.first_time(lambda h: "alpha" not in h, after=frozen)
    vip_bravo = pair.sampler.first_time(lambda h: "bravo" in h, after=frozen)
    assert vip_left <= vip_bravo
    print(f"VIP gap during the hand-over {(vip_bravo - vip_left) * 1000:.0f} ms")
    assert pair.sampler.max_holders() == 1
    # the checks and recoveries never held up heartbeating: nobody was declared dead
    for name in ("alpha", "bravo"):
        counters = (pair.cluster.status(name) or {})["counters"]
        deaths, late = counters.get("deaths", 0), counters.get("late_heartbeats", 0)
        print(f"{name}: deaths {deaths}, late heartbeats {late}")
        assert deaths == 0
    time.sleep(2 * INTERVAL)
    assert pair.served_by() == "bravo"
    assert _monitor(pair, "bravo")["checks"] >= 1


def _wall_after(wall: float, mono: float) -> bool:
    return wall - (time.time() - time.monotonic()) >= mono
