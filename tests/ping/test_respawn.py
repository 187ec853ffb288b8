"""respawn children (spec §9.6) as real processes: restart, exit 100, too fast, stop."""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
from pathlib import Path

import pytest

from engine.config.model import ChildSpec, SourceRef
from engine.process.children import MAX_FAST_DEATHS, ChildManager


def script(tmp: Path, body: str) -> str:
    path = tmp / "child.sh"
    path.write_text(f"#!/bin/sh\necho $$ >> {tmp}/starts\n{body}\n")
    path.chmod(0o755)
    return str(path)


def spec(command: str, failfast: bool = False) -> ChildSpec:
    return ChildSpec(getpass.getuser(), command, failfast, SourceRef("ha.cf", 1))


def starts(tmp: Path) -> int:
    path = tmp / "starts"
    return len(path.read_text().split()) if path.exists() else 0


def failfast_manager(tmp: Path, body: str) -> tuple[ChildManager, list[str]]:
    """A started manager with one failfast child; the list collects its reported deaths."""
    seen: list[str] = []
    manager = ChildManager(
        (spec(script(tmp, body), failfast=True),), on_failfast=lambda s, why: seen.append(why)
    )
    manager.start()
    return manager, seen


async def settle(manager: ChildManager, state: str, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if manager.children[0].state == state:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"child state {manager.children[0].state}, wanted {state}")


async def test_exiting_child_is_respawned_until_too_fast(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    manager = ChildManager((spec(script(tmp_path, "exit 1")),))
    with caplog.at_level(logging.INFO, logger="heartbeat"):
        manager.start()
        await settle(manager, "too_fast")
    assert starts(tmp_path) == MAX_FAST_DEATHS + 1
    text = caplog.text
    assert "exited with return code 1." in text
    assert 'Respawning client "' in text
    assert '"respawning too fast"' in text
    await manager.stop()


async def test_exit_100_is_not_respawned(tmp_path: Path) -> None:
    manager = ChildManager((spec(script(tmp_path, "exit 100")),))
    manager.start()
    await settle(manager, "stopped")
    await asyncio.sleep(0.2)
    assert starts(tmp_path) == 1
    assert manager.snapshot()[0]["last_exit"] == "exited with return code 100"
    await manager.stop()


async def test_killed_child_is_restarted_and_stop_ends_it(tmp_path: Path) -> None:
    manager = ChildManager((spec(script(tmp_path, "exec sleep 60")),))
    manager.start()
    await settle(manager, "running")
    first = manager.children[0].proc
    assert first is not None
    os.kill(first.pid, 9)
    for _ in range(250):
        proc = manager.children[0].proc
        if proc is not first and manager.children[0].state == "running":
            break
        await asyncio.sleep(0.02)
    second = manager.children[0].proc
    assert second is not None and second is not first
    assert manager.children[0].starts == 2
    await manager.stop()
    assert second.returncode is not None
    assert manager.children[0].state == "stopped"


@pytest.mark.parametrize(
    ("body", "why"),
    [("exit 100", "exited with return code 100"), ("kill -9 $$", "killed by signal 9")],
)
async def test_failfast_death_is_reported_once_and_not_restarted(
    tmp_path: Path, body: str, why: str
) -> None:
    """The daemon gives the node up (Heartbeat reboots); the child is not started again."""
    manager, seen = failfast_manager(tmp_path, body)
    await settle(manager, "failed")
    await asyncio.sleep(0.2)
    assert seen == [why]
    assert starts(tmp_path) == 1
    assert manager.snapshot()[0]["last_exit"] == why
    await manager.stop()


async def test_failfast_child_exiting_0_is_respawned(tmp_path: Path) -> None:
    """Only a signal or a non-zero exit counts as a failfast death (spec §9.6)."""
    manager, seen = failfast_manager(tmp_path, "sleep 0.1; exit 0")
    for _ in range(250):
        if starts(tmp_path) >= 2:
            break
        await asyncio.sleep(0.02)
    assert starts(tmp_path) >= 2 and seen == []
    await manager.stop()


async def test_failfast_child_stopped_at_shutdown_does_not_count(tmp_path: Path) -> None:
    """Heartbeat's quirk (its own SIGTERM at shutdown reboots the machine) is not copied."""
    manager, seen = failfast_manager(tmp_path, "exec sleep 60")
    await settle(manager, "running")
    await manager.stop()
    assert seen == [] and manager.children[0].state == "stopped"


async def test_ipfail_line_is_built_in_and_not_started(tmp_path: Path) -> None:
    manager = ChildManager((spec("/usr/lib/heartbeat/ipfail"),))
    manager.start()
    assert manager.children[0].state == "builtin"
    await manager.stop()
