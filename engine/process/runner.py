"""The one place that runs external programs.

Rules of this module: every child starts in its own session (so it and everything it
forks form one process group we can kill together), never inherits our stdin, and never
outlives its timeout. Output goes to anonymous temporary files rather than pipes: a
resource script that starts a daemon without redirecting its output must not hang us
waiting for EOF, and the daemon must not die of SIGPIPE later (Heartbeat appends script
output to the debug log file for the same reason). Nothing here raises for a program
that cannot be run; the result says why.

The loop never waits for a child to start: ``fork`` and ``exec`` happen in a worker
thread (the parent of a fork waits until the child has exec'd, and a child set back to
normal scheduling can wait tens of ms for a CPU on a loaded machine, or forever for a
script on a hung file system), and the end of a child is seen through a pidfd on the
loop, so no thread waits for it either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Protocol

logger = logging.getLogger(__name__)


def normal_scheduling() -> None:
    """In the child: drop the engine's realtime priority (scripts must not inherit it)."""
    try:
        if os.sched_getscheduler(0) != os.SCHED_OTHER:
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    except OSError:
        pass


OUTPUT_LIMIT = 64 * 1024
"""Bytes of stdout and of stderr kept per run (the tail)."""

KILL_GRACE = 2.0
"""Seconds between SIGTERM and SIGKILL to the process group on timeout."""

LOG_CHUNK_LINES = 200
"""Output lines logged per turn of the loop: a script that prints 10 000 lines must not
hold the loop (and the heartbeats) while they are written (~20 µs a line)."""


@dataclass(frozen=True, slots=True)
class ProgramResult:
    """What one run of an external program did.

    ``returncode`` is None when the program could not be started (``error`` says why)
    or when it was killed after a timeout (``timed_out``). A negative code means the
    child died of that signal, as in ``subprocess``.
    """

    argv: tuple[str, ...]
    returncode: int | None
    stdout: str
    stderr: str
    duration_ms: float
    timed_out: bool = False
    error: str = ""

    @property
    def ok(self) -> bool:
        """True when the program ran to completion and exited 0."""
        return self.returncode == 0 and not self.timed_out and not self.error

    @property
    def program(self) -> str:
        """The base name of the program, used as the prefix of its log lines."""
        return os.path.basename(self.argv[0]) if self.argv else "?"

    def describe(self) -> str:
        """A short human text for the outcome: ``exit 1``, ``timed out after 20.0 s``..."""
        if self.error:
            return self.error
        if self.timed_out:
            return f"timed out after {self.duration_ms / 1000:.1f} s"
        if self.returncode is not None and self.returncode < 0:
            try:
                name = signal.Signals(-self.returncode).name
            except ValueError:
                name = f"signal {-self.returncode}"
            return f"killed by {name}"
        return f"exit {self.returncode}"

    def last_line(self) -> str:
        """The last non-empty line of stderr (else stdout), for one-line reasons."""
        for text in (self.stderr, self.stdout):
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            if lines:
                return lines[-1]
        return ""


async def run_program(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float,
    cwd: str | None = None,
    stdin: bytes | None = None,
    kill_grace: float = KILL_GRACE,
    log: bool = True,
    output_limit: int = OUTPUT_LIMIT,
) -> ProgramResult:
    """Run ``argv`` to completion or until ``timeout`` seconds, never raising for it.

    Args:
        argv: program and arguments (no shell).
        env: the complete environment of the child; None inherits ours.
        timeout: seconds before the whole process group gets SIGTERM, then SIGKILL
            after ``kill_grace`` seconds.
        cwd: working directory of the child.
        stdin: bytes fed to the child's stdin; None gives it /dev/null.
        kill_grace: seconds between SIGTERM and SIGKILL.
        log: write argv, outcome and output lines to the debug log.
        output_limit: bytes of stdout and of stderr kept (the tail); a caller that
            parses a whole document (crm_mon's XML) raises it.

    Returns:
        The result; ``returncode`` None plus ``error`` when the program could not run.
    """
    args = tuple(argv)
    start = time.monotonic()
    if not args:
        result = ProgramResult(args, None, "", "", 0.0, error="empty command line")
    else:
        with _capture_file() as out, _capture_file() as err:
            result = await _run(
                args, env, timeout, cwd, stdin, kill_grace, out, err, start, output_limit
            )
    if log:
        await log_program_output(result)
    return result


def run_program_sync(
    argv: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    kill_grace: float = KILL_GRACE,
    log: bool = True,
) -> ProgramResult:
    """``run_program`` for callers without an event loop (or off it, in a thread).

    The same rules: own session, stdin on /dev/null, output to temporary files, the
    process group killed at the timeout; never raises for a program that cannot run.
    """
    args = tuple(argv)
    start = time.monotonic()
    if not args:
        return ProgramResult(args, None, "", "", 0.0, error="empty command line")
    with _capture_file() as out, _capture_file() as err:
        try:
            proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                env=dict(env) if env is not None else None, cwd=cwd,
                start_new_session=True, preexec_fn=normal_scheduling,
            )  # fmt: skip
        except OSError as exc:
            reason = exc.strerror or str(exc)
            error = f"cannot run {args[0]}: {reason}"
            return ProgramResult(args, None, "", "", _elapsed_ms(start), error=error)
        timed_out = False
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group_sync(proc, kill_grace)
        except BaseException:
            _kill_group_sync(proc, 0.0)
            raise
        code = None if timed_out else proc.returncode
        result = ProgramResult(args, code, _read_tail(out), _read_tail(err),
                               _elapsed_ms(start), timed_out=timed_out)  # fmt: skip
    if log:
        log_program_result(result)
    return result


def _kill_group_sync(proc: subprocess.Popen[bytes], grace: float) -> None:
    """``_kill_group`` for a ``Popen``: SIGTERM, ``grace`` seconds, SIGKILL, reap."""
    if grace > 0:
        _signal_group(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
    _signal_group(proc.pid, signal.SIGKILL)
    proc.wait()


def _capture_file() -> IO[bytes]:
    """An unnamed temporary file for one output stream of a child."""
    return tempfile.TemporaryFile(prefix="hatui-run-")


_BACKGROUND: set[asyncio.Task[object]] = set()
"""Tasks nobody awaits (a stdin feeder, a late reap): kept alive until they end."""


def _keep(task: asyncio.Task[object]) -> None:
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)


class _Waitable(Protocol):
    """A started child: its pid (= its process group) and the wait for its end."""

    @property
    def pid(self) -> int: ...

    async def wait(self) -> int: ...


class _Child:
    """A child started by ``subprocess.Popen``; its end is seen through a pidfd."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        loop = asyncio.get_running_loop()
        self._exited: asyncio.Future[None] = loop.create_future()
        try:
            self._fd: int | None = os.pidfd_open(proc.pid)
        except OSError:  # no pidfd (old kernel): a thread waits instead
            self._fd = None
            _keep(loop.create_task(self._wait_in_thread()))
        else:
            loop.add_reader(self._fd, self._on_exit)

    @property
    def pid(self) -> int:
        """The child's pid, which is also its process group (its own session)."""
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        """Exit status (negative: killed by that signal), None while it runs."""
        return self.proc.returncode

    def _on_exit(self) -> None:
        if self._fd is not None:
            asyncio.get_running_loop().remove_reader(self._fd)
            os.close(self._fd)
            self._fd = None
        self.proc.wait()  # the pidfd is readable: the child is a zombie, this reaps it
        if not self._exited.done():
            self._exited.set_result(None)

    async def _wait_in_thread(self) -> None:
        await asyncio.to_thread(self.proc.wait)
        if not self._exited.done():
            self._exited.set_result(None)

    async def wait(self) -> int:
        """Wait for the child's end; returns its exit status."""
        await asyncio.shield(self._exited)
        code = self.proc.returncode
        return code if code is not None else -1


def _spawn(
    argv: tuple[str, ...],
    env: Mapping[str, str] | None,
    cwd: str | None,
    piped: bool,
    out: IO[bytes],
    err: IO[bytes],
) -> subprocess.Popen[bytes]:
    """In a worker thread: fork and exec (returns once the child has exec'd)."""
    return subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if piped else subprocess.DEVNULL,
        stdout=out,
        stderr=err,
        env=dict(env) if env is not None else None,
        cwd=cwd,
        start_new_session=True,
        preexec_fn=normal_scheduling,
    )


def _feed(proc: subprocess.Popen[bytes], data: bytes) -> None:
    """In a worker thread: write ``data`` to the child's stdin and close it."""
    assert proc.stdin is not None
    with contextlib.suppress(BrokenPipeError, ConnectionResetError, OSError):
        proc.stdin.write(data)
    with contextlib.suppress(OSError):
        proc.stdin.close()


def _reap_late(started: asyncio.Future[subprocess.Popen[bytes]]) -> None:
    """A child that started after its run had timed out: kill its group, reap it."""
    if started.cancelled() or started.exception() is not None:
        return
    proc = started.result()
    _signal_group(proc.pid, signal.SIGKILL)
    _keep(asyncio.get_running_loop().create_task(asyncio.to_thread(proc.wait)))


async def _start(
    argv: tuple[str, ...],
    env: Mapping[str, str] | None,
    cwd: str | None,
    stdin: bytes | None,
    out: IO[bytes],
    err: IO[bytes],
    timeout: float,
) -> _Child:
    """Fork and exec off the loop within ``timeout``; raises OSError or TimeoutError."""
    started = asyncio.ensure_future(
        asyncio.to_thread(_spawn, argv, env, cwd, stdin is not None, out, err)
    )
    try:
        # asyncio.timeout, not wait_for: on 3.11 wait_for drops a cancellation that
        # arrives as its awaitable completes, and the child would run on unkilled
        async with asyncio.timeout(timeout):
            proc = await asyncio.shield(started)
    except BaseException:
        started.add_done_callback(_reap_late)
        raise
    child = _Child(proc)
    if stdin is not None:
        _keep(asyncio.get_running_loop().create_task(asyncio.to_thread(_feed, proc, stdin)))
    return child


async def _run(
    argv: tuple[str, ...],
    env: Mapping[str, str] | None,
    timeout: float,
    cwd: str | None,
    stdin: bytes | None,
    kill_grace: float,
    out: IO[bytes],
    err: IO[bytes],
    start: float,
    output_limit: int = OUTPUT_LIMIT,
) -> ProgramResult:
    """Start the child, wait for it within ``timeout``, then read its output tails."""
    try:
        proc = await _start(argv, env, cwd, stdin, out, err, timeout)
    except TimeoutError:  # (an OSError too: caught first)
        why = f"{argv[0]} did not start within {timeout:g} s (is its file system hung?)"
        return ProgramResult(argv, None, "", "", _elapsed_ms(start), timed_out=True, error=why)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return ProgramResult(
            argv, None, "", "", _elapsed_ms(start), error=f"cannot run {argv[0]}: {reason}"
        )
    timed_out = False
    try:
        left = max(0.0, timeout - (time.monotonic() - start))
        async with asyncio.timeout(left):
            await proc.wait()
    except TimeoutError:
        timed_out = True
        await _kill_group(proc, kill_grace)
    except BaseException:
        await _kill_group(proc, 0.0)
        raise
    return ProgramResult(
        argv,
        None if timed_out else proc.returncode,
        _read_tail(out, output_limit),
        _read_tail(err, output_limit),
        _elapsed_ms(start),
        timed_out=timed_out,
    )


async def _kill_group(proc: _Waitable, grace: float) -> None:
    """SIGTERM the child's process group, wait ``grace`` s for the child, then SIGKILL.

    The SIGKILL goes to the group even when the child itself obeyed SIGTERM, so a
    grandchild that ignores SIGTERM is gone too when this returns.
    """
    if grace > 0:
        _signal_group(proc.pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await asyncio.shield(proc.wait())
    _signal_group(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        await proc.wait()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to a process group that may already be gone."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass
    except PermissionError as exc:
        logger.warning("Cannot send %s to process group %d: %s", sig.name, pgid, exc)


def _read_tail(stream: IO[bytes], limit: int = OUTPUT_LIMIT) -> str:
    """The last ``limit`` bytes written to ``stream``, decoded leniently."""
    size = stream.seek(0, os.SEEK_END)
    stream.seek(max(0, size - limit))
    return stream.read(limit).decode("utf-8", errors="replace")


def _elapsed_ms(start: float) -> float:
    """Milliseconds since ``start`` (monotonic seconds)."""
    return (time.monotonic() - start) * 1000.0


async def spawn_child(
    argv: Sequence[str],
    *,
    user: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> asyncio.subprocess.Process:
    """Start a long-running helper (``respawn``/``failfast``, spec §9.6) and return it.

    Not a "program with a timeout": the caller supervises it. Like Heartbeat, the child
    gets its own session/process group, stdio on /dev/null and no inherited fds; when we
    are root and ``user`` is given, it runs as that user and its primary group.

    Raises:
        OSError: the program cannot be started (or the user does not exist).
    """
    ids: dict[str, object] = {}
    if user and os.geteuid() == 0:
        import pwd

        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            raise OSError(f"unknown user {user!r}") from None
        ids = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    return await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env=dict(env) if env is not None else None,
        cwd=cwd,
        start_new_session=True,
        close_fds=True,
        preexec_fn=normal_scheduling,
        **ids,  # type: ignore[arg-type]
    )


async def stop_child(proc: asyncio.subprocess.Process, grace: float = KILL_GRACE) -> None:
    """SIGTERM a spawned child's process group, SIGKILL after ``grace`` seconds."""
    if proc.returncode is None:
        await _kill_group(proc, grace)


async def log_program_output(result: ProgramResult, log: logging.Logger = logger) -> None:
    """``log_program_result``, giving the loop back every ``LOG_CHUNK_LINES`` lines."""
    if not log.isEnabledFor(logging.DEBUG):
        return
    _log_run(result, log)
    for count, line in enumerate(_output_lines(result), start=1):
        log.debug("%s", line)
        if count % LOG_CHUNK_LINES == 0:
            await asyncio.sleep(0)


def log_program_result(result: ProgramResult, log: logging.Logger = logger) -> None:
    """Write one run to ``log`` at debug level: argv, outcome, then each output line.

    Output lines are prefixed with the program's base name so that the debug log reads
    like Heartbeat's, where script output is appended to the debug file.
    """
    if not log.isEnabledFor(logging.DEBUG):
        return
    _log_run(result, log)
    for line in _output_lines(result):
        log.debug("%s", line)


def _log_run(result: ProgramResult, log: logging.Logger) -> None:
    log.debug(
        "%s: ran %s: %s in %.1f ms",
        result.program,
        " ".join(result.argv),
        result.describe(),
        result.duration_ms,
    )


def _output_lines(result: ProgramResult) -> Iterator[str]:
    """``program[stdout]: line`` for every output line, stdout first."""
    for stream, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        for line in text.splitlines():
            yield f"{result.program}[{stream}]: {line}"
