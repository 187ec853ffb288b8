"""GroupRunner: acquire left→right, release right→left, rollback, retries, fencing."""

from __future__ import annotations

import logging

import pytest

from engine.resources.group import GroupRunner
from engine.resources.model import ResourceState, ResourceStatus
from tests.resources.lab import LsbLab, group


def _runner(lab: LsbLab, stop_retries: int = 2, **options: object) -> GroupRunner:
    return GroupRunner(lab.resolver(**options), stop_retries=stop_retries, retry_delay=0.0)


def _messages(caplog: pytest.LogCaptureFixture, level: int = logging.INFO) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= level]


def _ordered(caplog: pytest.LogCaptureFixture) -> bool:
    stamps = [r.created for r in caplog.records]
    return stamps == sorted(stamps)


async def test_acquire_left_to_right_release_right_to_left(
    lab: LsbLab, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    grp = group("alpha", "lsbtest::ip", "lsbtest::fs", "lsbtest::web")
    runner = _runner(lab)
    outcome = await runner.acquire(grp)
    assert outcome.ok, outcome.reason
    assert outcome.reason == "all 3 resources running"
    assert [s.state for s in outcome.states] == [ResourceState.RUNNING] * 3
    assert all(lab.running(n) for n in ("ip", "fs", "web"))

    released = await runner.release(grp)
    assert released.ok and released.reason == "all 3 resources stopped"
    assert not any(lab.running(n) for n in ("ip", "fs", "web"))
    script = lab.script
    assert _messages(caplog) == [
        "Acquiring resource group: alpha lsbtest::ip lsbtest::fs lsbtest::web",
        f"Running {script} ip start",
        f"Running {script} fs start",
        f"Running {script} web start",
        "Releasing resource group: alpha lsbtest::ip lsbtest::fs lsbtest::web",
        f"Running {script} web stop",
        f"Running {script} fs stop",
        f"Running {script} ip stop",
    ]
    assert _ordered(caplog)


async def test_acquire_skips_members_that_already_run(lab: LsbLab) -> None:
    (lab.state / "fs.state").touch()
    events: list[ResourceStatus] = []
    outcome = await _runner(lab).acquire(
        group("alpha", "lsbtest::ip", "lsbtest::fs"), events.append
    )
    assert outcome.ok
    assert "fs start" not in lab.journal()
    assert ResourceStatus("lsbtest::fs", ResourceState.RUNNING, "already running") in events


async def test_progress_reports_every_state_change(lab: LsbLab) -> None:
    grp = group("alpha", "lsbtest::ip", "lsbtest::web")
    events: list[tuple[str, ResourceState]] = []
    runner = _runner(lab)
    await runner.acquire(grp, lambda s: events.append((s.name, s.state)))
    await runner.release(grp, lambda s: events.append((s.name, s.state)))
    assert events == [
        ("lsbtest::ip", ResourceState.STARTING),
        ("lsbtest::ip", ResourceState.RUNNING),
        ("lsbtest::web", ResourceState.STARTING),
        ("lsbtest::web", ResourceState.RUNNING),
        ("lsbtest::web", ResourceState.STOPPING),
        ("lsbtest::web", ResourceState.STOPPED),
        ("lsbtest::ip", ResourceState.STOPPING),
        ("lsbtest::ip", ResourceState.STOPPED),
    ]


async def test_a_broken_progress_callback_does_not_stop_the_group(lab: LsbLab) -> None:
    def explode(status: ResourceStatus) -> None:
        raise RuntimeError("console went away")

    outcome = await _runner(lab).acquire(group("alpha", "lsbtest::ip"), explode)
    assert outcome.ok and lab.running("ip")


async def test_failed_start_stops_the_first_again(
    lab: LsbLab, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    lab.mark("web", "fail-start")
    grp = group("alpha", "lsbtest::ip", "lsbtest::web", "lsbtest::db")
    outcome = await _runner(lab).acquire(grp)
    assert not outcome.ok
    assert not outcome.needs_fencing
    assert outcome.reason == (
        "start of lsbtest::web failed (exit 1: forced failure of web start); "
        "stopped lsbtest::ip again"
    )
    assert not lab.running("ip")
    states = {s.name: s.state for s in outcome.states}
    assert states == {
        "lsbtest::ip": ResourceState.STOPPED,
        "lsbtest::web": ResourceState.FAILED,
        "lsbtest::db": ResourceState.STOPPED,
    }
    assert "db start" not in lab.journal()
    assert outcome.states[2].reason == "not started: lsbtest::web failed"
    messages = _messages(caplog)
    crit = messages.index("Giving up resources due to failure of lsbtest::web")
    assert messages[crit + 1 :] == [
        f"Running {lab.script} web stop",
        f"Running {lab.script} ip stop",
    ]
    assert [r.levelno for r in caplog.records if "Giving up" in r.getMessage()] == [
        logging.CRITICAL
    ]


async def test_unresolvable_member_fails_the_acquire(lab: LsbLab) -> None:
    outcome = await _runner(lab).acquire(group("alpha", "lsbtest::ip", "nosuch::x"))
    assert not outcome.ok
    assert outcome.reason.startswith("Cannot locate resource script nosuch")
    assert "stopped lsbtest::ip again" in outcome.reason
    assert not lab.running("ip")


async def test_failed_stop_is_retried(lab: LsbLab, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    grp = group("alpha", "lsbtest::web")
    runner = _runner(lab, stop_retries=3)
    await runner.acquire(grp)
    lab.mark("web", "fail-stop")
    outcome = await runner.release(grp)
    assert lab.journal().count("web stop") == 4  # one try and three retries
    assert _messages(caplog).count("Retrying failed stop operation [lsbtest::web]") == 3
    assert not outcome.ok


async def test_failed_stop_while_running_needs_fencing(
    lab: LsbLab, caplog: pytest.LogCaptureFixture
) -> None:
    grp = group("alpha", "lsbtest::ip", "lsbtest::web")
    runner = _runner(lab, stop_retries=1)
    await runner.acquire(grp)
    lab.mark("web", "fail-stop")
    outcome = await runner.release(grp)
    assert not outcome.ok
    assert outcome.needs_fencing
    assert outcome.reason == (
        "stop of lsbtest::web failed (exit 1: forced failure of web stop); resource still "
        "running — node must be fenced before the peer may start this group"
    )
    assert not lab.running("ip")  # the rest of the group is still stopped
    states = {s.name: s.state for s in outcome.states}
    assert states == {"lsbtest::ip": ResourceState.STOPPED, "lsbtest::web": ResourceState.FAILED}
    assert any(r.levelno == logging.CRITICAL for r in caplog.records)


async def test_failed_stop_of_stopped_resource_is_a_warning(
    lab: LsbLab, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    lab.mark("web", "fail-stop")  # never started: a non-LSB stop
    outcome = await _runner(lab, stop_retries=0).release(group("alpha", "lsbtest::web"))
    assert outcome.ok
    assert not outcome.needs_fencing
    assert outcome.reason.startswith("stop of lsbtest::web failed (exit 1")
    assert outcome.reason.endswith("but status says stopped")
    messages = _messages(caplog)
    assert "Resource script for lsbtest::web probably not LSB-compliant." in messages
    assert "it (lsbtest::web) MUST succeed on a stop when already stopped" in messages


async def test_release_stops_every_member_even_if_never_started(lab: LsbLab) -> None:
    outcome = await _runner(lab).release(group("alpha", "lsbtest::a", "lsbtest::b"))
    assert outcome.ok
    assert lab.journal() == ["b stop", "a stop"]


async def test_hanging_start_times_out_and_rolls_back(lab: LsbLab) -> None:
    lab.mark("web", "hang-start")
    grp = group("alpha", "lsbtest::ip", "lsbtest::web")
    runner = _runner(lab, start_timeout=0.4, kill_grace=0.1)
    outcome = await runner.acquire(grp)
    assert not outcome.ok
    assert "start of lsbtest::web failed (timed out after" in outcome.reason
    assert not lab.running("ip")


async def test_group_status(lab: LsbLab) -> None:
    (lab.state / "b.state").touch()
    statuses = await _runner(lab).status(group("alpha", "lsbtest::a", "lsbtest::b", "nosuch"))
    assert [(s.name, s.state) for s in statuses] == [
        ("lsbtest::a", ResourceState.STOPPED),
        ("lsbtest::b", ResourceState.RUNNING),
        ("nosuch", ResourceState.FAILED),
    ]
    assert statuses[1].reason == "b is running"
    assert statuses[2].reason.startswith("Cannot locate resource script nosuch")
