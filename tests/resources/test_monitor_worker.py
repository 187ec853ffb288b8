"""Resource monitor checks: GroupRunner.monitor and the ActionWorker running them beside
(never in) the Acquire/Release queue, killed when a transition begins."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

from engine.config.model import AuthConfig, ClusterConfig, Timing
from engine.core.policy_types import Acquire, CancelMonitor, Monitor, MonitorCheck
from engine.process.runner import KILL_GRACE
from engine.resources.actions import ActionWorker
from engine.resources.group import GroupRunner
from tests.resources.lab import LsbLab, group
from tests.resources.test_runner import _wait_gone

GROUP = group("alpha", "lsbtest::ip", "lsbtest::web")


def _alive(pid_file: Path) -> bool:
    """The process whose pid is in ``pid_file`` still runs after the runner's kill grace
    (SIGTERM, 2 s, SIGKILL to the group) plus slack for a loaded machine."""
    return not _wait_gone(int(pid_file.read_text()), within=KILL_GRACE + 3.0)


async def test_checks_members_in_order_up_to_the_first_failure(lab: LsbLab) -> None:
    runner = GroupRunner(lab.resolver())
    await runner.acquire(GROUP)
    checks = await runner.monitor(GROUP, timeout=5.0)
    assert [(c.resource, c.result) for c in checks] == [
        ("lsbtest::ip", "ok"),
        ("lsbtest::web", "ok"),
    ]
    (lab.state / "ip.state").unlink()
    checks = await runner.monitor(GROUP, timeout=5.0)
    assert [(c.resource, c.result, c.detail) for c in checks] == [
        ("lsbtest::ip", "not running", "ip is stopped")
    ]
    assert checks[0].describe() == "lsbtest::ip not running (ip is stopped)"
    assert lab.journal()[-1] == "ip status"  # web was not asked


async def test_a_hanging_status_is_killed_at_the_monitor_timeout(lab: LsbLab) -> None:
    runner = GroupRunner(lab.resolver(status_timeout=30.0, kill_grace=0.2))
    await runner.acquire(GROUP)
    lab.mark("web", "hang-status")
    started = time.monotonic()
    checks = await runner.monitor(GROUP, timeout=0.5)
    took = time.monotonic() - started
    assert [c.result for c in checks] == ["ok", "timeout"]
    assert checks[1].detail.startswith("timed out after 0.")
    assert 0.5 <= took < 2.0  # the monitor timeout, not the agent's 30 s status timeout
    assert not _alive(lab.state / "web.grandchild")


def _worker(lab: LsbLab, monitored: list[tuple[int, Sequence[MonitorCheck]]]) -> ActionWorker:
    config = ClusterConfig(
        config_dir=str(lab.config_dir),
        node_name="alpha",
        nodes=("alpha", "bravo"),
        timing=Timing(),
        media=(),
        auth=AuthConfig(send_index=1, keys=()),
        groups=(GROUP,),
    )
    done: list[tuple[int, bool]] = []
    runner = GroupRunner(lab.resolver(kill_grace=0.2), stop_retries=0)
    worker = ActionWorker(
        config,
        lab.state,
        lambda i, ok, _reason, _node: done.append((i, ok)),
        runner=runner,
        monitored=lambda i, checks: monitored.append((i, checks)),
    )
    worker.done_log = done  # type: ignore[attr-defined]
    return worker


async def _until(predicate: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


async def test_worker_reports_a_failed_check_and_marks_the_resource(lab: LsbLab) -> None:
    monitored: list[tuple[int, Sequence[MonitorCheck]]] = []
    worker = _worker(lab, monitored)
    worker.submit(Acquire(1, GROUP.key, "test"))
    await _until(lambda: worker.done_log)  # type: ignore[attr-defined]
    (lab.state / "web.state").unlink()
    worker.submit(Monitor(2, GROUP.key, 5.0, "test"))
    assert worker.monitoring == 2 and not worker.busy  # beside the queue
    await _until(lambda: monitored)
    [(action_id, checks)] = monitored
    assert action_id == 2
    assert [c.result for c in checks] == ["ok", "not running"]
    states = worker.resource_states(GROUP)
    assert states[1] == {
        "name": "lsbtest::web",
        "state": "failed",
        "reason": "monitor: lsbtest::web not running (web is stopped)",
    }
    await worker.close()


async def test_a_queued_action_kills_the_running_check_without_waiting(lab: LsbLab) -> None:
    monitored: list[tuple[int, Sequence[MonitorCheck]]] = []
    worker = _worker(lab, monitored)
    worker.submit(Acquire(1, GROUP.key, "test"))
    await _until(lambda: worker.done_log)  # type: ignore[attr-defined]
    lab.mark("ip", "hang-status")
    worker.submit(Monitor(2, GROUP.key, 30.0, "test"))
    await _until(lambda: (lab.state / "ip.grandchild").exists())
    started = time.monotonic()
    (lab.state / "ip.hang-status").unlink()
    worker.submit(Acquire(3, GROUP.key, "test"))  # e.g. a takeover's acquire
    await _until(lambda: len(worker.done_log) == 2)  # type: ignore[attr-defined]
    assert time.monotonic() - started < 2.0
    assert worker.monitoring is None
    await asyncio.sleep(0.3)
    assert monitored == []  # a cancelled check reports nothing
    assert not _alive(lab.state / "ip.grandchild")
    # CancelMonitor for another id leaves the running check alone
    lab.mark("ip", "hang-status")
    worker.submit(Monitor(4, GROUP.key, 30.0, "test"))
    worker.submit(CancelMonitor(99, "not this one"))
    assert worker.monitoring == 4
    worker.submit(CancelMonitor(4, "standby"))
    assert worker.monitoring is None
    await worker.close()
