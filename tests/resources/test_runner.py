"""engine.process.runner: capture, exit codes, timeouts that kill the whole group."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import engine.process.runner as runner_module
from engine.process.runner import (
    OUTPUT_LIMIT,
    ProgramResult,
    log_program_result,
    run_program,
    run_program_sync,
)


def _is_gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (gone, or a zombie waiting for init)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def _wait_gone(pid: int, within: float = 2.0) -> bool:
    """Poll until ``pid`` is gone (init may take a moment to reap a reparented zombie)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if _is_gone(pid):
            return True
        time.sleep(0.02)
    return _is_gone(pid)


async def test_captures_stdout_stderr_and_exit_code() -> None:
    result = await run_program(
        ["sh", "-c", "echo out1; echo out2; echo err1 >&2; exit 3"], timeout=10
    )
    assert result.returncode == 3
    assert result.stdout == "out1\nout2\n"
    assert result.stderr == "err1\n"
    assert not result.ok
    assert not result.timed_out
    assert result.error == ""
    assert result.describe() == "exit 3"
    assert result.last_line() == "err1"
    assert result.argv == ("sh", "-c", "echo out1; echo out2; echo err1 >&2; exit 3")


async def test_ok_run_with_env_cwd_and_stdin(tmp_path: Path) -> None:
    result = await run_program(
        ["sh", "-c", 'echo "$GREETING"; pwd; cat'],
        env={"GREETING": "hello", "PATH": os.environ["PATH"]},
        cwd=str(tmp_path),
        stdin=b"fed\n",
        timeout=10,
    )
    assert result.ok
    assert result.stdout.splitlines() == ["hello", str(tmp_path), "fed"]


async def test_missing_program_reports_error_without_raising(tmp_path: Path) -> None:
    result = await run_program([str(tmp_path / "nope")], timeout=5)
    assert result.returncode is None
    assert not result.ok
    assert "cannot run" in result.error and "No such file" in result.error


async def test_non_executable_program_reports_error(tmp_path: Path) -> None:
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    result = await run_program([str(script)], timeout=5)
    if os.geteuid() == 0 and result.returncode is not None:
        pytest.skip("root may execute files without x bits on this file system")
    assert result.returncode is None
    assert "Permission denied" in result.error


async def test_empty_argv_is_an_error() -> None:
    result = await run_program([], timeout=1)
    assert result.returncode is None
    assert result.error == "empty command line"


async def test_timeout_kills_child_and_grandchild() -> None:
    result = await run_program(
        ["sh", "-c", "sleep 30 & echo $!; wait"], timeout=0.5, kill_grace=0.5
    )
    assert result.timed_out
    assert result.returncode is None
    assert not result.ok
    assert result.duration_ms < 5000
    grandchild = int(result.stdout.split()[0])
    assert _wait_gone(grandchild)
    assert "timed out" in result.describe()


async def test_timeout_escalates_to_sigkill_for_term_ignoring_grandchild() -> None:
    script = "trap '' TERM; sleep 30 & echo $!; wait"
    started = time.monotonic()
    result = await run_program(["sh", "-c", script], timeout=0.3, kill_grace=0.3)
    assert result.timed_out
    grandchild = int(result.stdout.split()[0])
    assert _wait_gone(grandchild)
    assert time.monotonic() - started < 5


async def test_daemon_left_behind_does_not_block_or_lose_output() -> None:
    # An init script that backgrounds a daemon without redirecting its output.
    result = await run_program(
        ["sh", "-c", "sleep 2 & echo $!; echo started"], timeout=5, kill_grace=0.1
    )
    assert result.ok
    assert result.duration_ms < 1500
    daemon = int(result.stdout.split()[0])
    assert not _is_gone(daemon)  # a successful run leaves its daemons alone
    os.kill(daemon, 9)


async def test_output_is_bounded_to_the_tail() -> None:
    code = "import sys; sys.stdout.write('x' * 200000 + 'END')"
    result = await run_program([sys.executable, "-c", code], timeout=10)
    assert result.ok
    assert len(result.stdout) == OUTPUT_LIMIT
    assert result.stdout.endswith("END")


async def test_killed_by_signal_is_described() -> None:
    result = await run_program(["sh", "-c", "kill -9 $$"], timeout=5)
    assert result.returncode == -9
    assert result.describe() == "killed by SIGKILL"


def test_log_helper_writes_one_debug_line_per_output_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    result = ProgramResult(("/etc/ha.d/resource.d/hbhttpd", "start"), 1, "a\nb\n", "oops\n", 12.5)
    log = logging.getLogger("test.runner")
    with caplog.at_level(logging.DEBUG, logger="test.runner"):
        log_program_result(result, log)
    lines = [r.getMessage() for r in caplog.records]
    assert all(r.levelno == logging.DEBUG for r in caplog.records)
    assert lines == [
        "hbhttpd: ran /etc/ha.d/resource.d/hbhttpd start: exit 1 in 12.5 ms",
        "hbhttpd[stdout]: a",
        "hbhttpd[stdout]: b",
        "hbhttpd[stderr]: oops",
    ]


async def test_run_program_logs_output_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="engine.process.runner"):
        await run_program(["sh", "-c", "echo visible"], timeout=5)
    assert "sh[stdout]: visible" in [r.getMessage() for r in caplog.records]


def test_sync_runner_captures_output_and_never_raises(tmp_path: Path) -> None:
    """The wizard's probes (no event loop) use the same runner rules."""
    done = run_program_sync(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=5)
    assert (done.returncode, done.stdout, done.stderr) == (3, "out\n", "err\n")
    missing = run_program_sync([str(tmp_path / "nope")], timeout=5)
    assert missing.returncode is None and "cannot run" in missing.error
    assert run_program_sync([], timeout=5).error == "empty command line"


def test_sync_runner_timeout_kills_the_whole_group() -> None:
    script = "trap '' TERM; sleep 30 & echo $!; wait"
    started = time.monotonic()
    done = run_program_sync(["sh", "-c", script], timeout=0.3, kill_grace=0.3)
    assert done.timed_out and done.returncode is None
    assert _wait_gone(int(done.stdout.split()[0]))
    assert time.monotonic() - started < 5


async def test_the_loop_runs_while_a_child_starts_and_a_late_start_is_killed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """fork/exec happen in a worker thread: an exec that takes long (a script on a hung
    file system, a CPU-starved child) holds neither the loop nor, past the timeout, the
    caller; the child that starts late after all is killed and reaped."""
    import asyncio

    from engine.process import runner

    started: list[subprocess.Popen[bytes]] = []
    real_spawn = runner._spawn

    def slow_spawn(*args: object) -> subprocess.Popen[bytes]:
        proc = real_spawn(*args)  # type: ignore[arg-type]
        started.append(proc)
        time.sleep(1.0)  # in the worker thread: Popen returning late (a slow exec)
        return proc

    monkeypatch.setattr(runner, "_spawn", slow_spawn)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    counting = asyncio.create_task(ticker())
    result = await run_program(["sleep", "30"], timeout=0.3)
    assert ticks >= 10  # the loop kept turning during the 0.3 s
    assert result.timed_out and result.returncode is None
    assert "sleep did not start within 0.3 s" in result.error
    assert started and started[0].returncode is None  # it runs, unseen by the caller
    for _ in range(300):
        if started[0].returncode is not None:
            break
        await asyncio.sleep(0.01)
    counting.cancel()
    assert started[0].returncode == -9  # killed and reaped once Popen returned


async def test_a_cancel_as_the_child_starts_is_never_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cancelling a run in the loop turns right after its fork/exec returned must cancel it.

    Python 3.11's ``asyncio.wait_for`` returned the finished start and dropped such a
    cancellation; the child then ran until its own timeout (a monitor check a takeover
    had cancelled kept its grandchildren for 30 s). A few ``sleep(0)`` after the spawn
    land the cancel in each of those turns.
    """
    real_spawn = runner_module._spawn
    spawned: list[int] = []
    done = threading.Event()

    def spawn(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        proc = real_spawn(*args, **kwargs)
        spawned.append(proc.pid)
        done.set()
        return proc

    monkeypatch.setattr(runner_module, "_spawn", spawn)
    finished_anyway = []
    for turn in range(25):
        done.clear()
        task = asyncio.create_task(run_program(["sleep", "60"], timeout=2))
        while not done.is_set():  # noqa: ASYNC110 (set from the spawn thread; turns count)
            await asyncio.sleep(0)
        for _ in range(turn % 5):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
            finished_anyway.append(turn)
    assert finished_anyway == []
    assert all(_wait_gone(pid) for pid in spawned)
