"""Shared pieces of the control-socket tests: a fixed handler and short socket paths."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.control.schema import CommandRefused, PeerInfo
from engine.control.server import ControlServer

STATUS_DOC: dict[str, Any] = {
    "node": "alpha",
    "status": "active",
    "generation": 1795611934,
    "uuid": "00112233445566778899aabbccddeeff",
    "cluster": "linux-ha",
    "version": "0.1.0",
    "pid": 123,
    "timing": {"keepalive_ms": 200, "warntime_ms": 600, "deadtime_ms": 1000, "initdead_ms": 3000},
    "auto_failback": "on",
    "nodes": [
        {
            "name": "alpha",
            "type": "normal",
            "self": True,
            "status": "active",
            "generation": 1795611934,
            "deadtime_ms": 1000,
            "last_heard_ms": 0,
            "links": [
                {"name": "eth0", "status": "dead", "last_heard_ms": None},
                {"name": "eth1", "status": "dead", "last_heard_ms": None},
            ],
        },
        {
            "name": "bravo",
            "type": "normal",
            "self": False,
            "status": "active",
            "generation": 17,
            "deadtime_ms": 1000,
            "last_heard_ms": 120,
            "links": [
                {
                    "name": "eth0",
                    "status": "up",
                    "last_heard_ms": 120,
                    "intervals_ms": [200, 201],
                    "max_gap_ms": 230,
                    "jitter_ms": 3.1,
                    "late": 0,
                },
                {"name": "eth1", "status": "dead", "last_heard_ms": 4200},
            ],
        },
        {
            "name": "charlie",
            "type": "normal",
            "self": False,
            "status": "dead",
            "generation": 3,
            "deadtime_ms": 1000,
            "last_heard_ms": 90000,
            "links": [{"name": "eth0", "status": "dead", "last_heard_ms": 90000}],
        },
        {
            "name": "10.99.0.254",
            "type": "ping",
            "self": False,
            "status": "ping",
            "generation": 0,
            "deadtime_ms": 1000,
            "last_heard_ms": 500,
            "links": [{"name": "10.99.0.254", "status": "up", "last_heard_ms": 500}],
        },
    ],
    "groups": [
        {
            "key": "IPaddr2::10.99.0.10/24/eth0",
            "home": "alpha",
            "held_by": "alpha",
            "state": "running",
            "reason": "home node alpha is active",
            "resources": [{"name": "IPaddr2::10.99.0.10/24/eth0", "state": "running"}],
        }
    ],
    "resources": {"mode": "nice_failback", "i_hold": "local", "stable": True},
    "counters": {"rejected_total": 0, "rejected": {"bad_auth": 0}, "late_heartbeats": 0},
    "last_change": {"time": 1795611934.5, "what": "bravo joined", "reason": "heartbeat"},
}

PARAMETERS = {"deadtime": "3", "keepalive": "1", "hbversion": "3.0.6 (node: test)"}


class FixedHandler:
    """A ControlHandler that returns a fixed document and records what it was asked."""

    def __init__(self, doc: dict[str, Any] | None = None) -> None:
        self.doc = copy.deepcopy(STATUS_DOC) if doc is None else doc
        self.acts: list[tuple[str, dict[str, Any], int]] = []
        self.refuse: str | None = None
        self.explode = False
        self.hang = False
        self.entered = asyncio.Event()
        self.status_calls = 0

    def status(self) -> dict[str, Any]:
        self.status_calls += 1
        return self.doc

    async def act(self, cmd: str, args: dict[str, Any], peer: PeerInfo) -> dict[str, Any]:
        if cmd == "hbparameter":
            name = args.get("name")
            if not isinstance(name, str):
                raise CommandRefused("hbparameter needs args.name (a string)")
            return {"name": name, "value": PARAMETERS.get(name)}
        if self.explode:
            raise RuntimeError("boom")
        if self.hang:
            self.entered.set()
            await asyncio.sleep(3600)
        if self.refuse is not None:
            raise CommandRefused(self.refuse)
        self.acts.append((cmd, dict(args), peer.uid))
        return {"message": f"{cmd} {args.get('which')}: accepted"}

    def command_names(self) -> frozenset[str]:
        return frozenset({"standby", "takeover"})


@pytest.fixture
async def server(sock_dir: Path) -> AsyncIterator[ControlServer]:
    """A started ControlServer with a FixedHandler, closed after the test."""
    srv = ControlServer(sock_dir / "control.sock", FixedHandler())
    await srv.start()
    yield srv
    await srv.close()


@pytest.fixture
def sock_dir() -> Iterator[Path]:
    """A short, world-traversable directory (socket paths are limited to 108 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="hactl-", dir="/tmp"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


class ServerThread:
    """A real ControlServer on its own event loop, for tests that call blocking code."""

    def __init__(self, path: Path, handler: FixedHandler) -> None:
        self.path = path
        self.handler = handler
        self.server = ControlServer(path, handler)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self.server.start()
        finally:
            self._ready.set()
        await self._stop.wait()
        await self.server.close()

    def __enter__(self) -> ServerThread:
        self._thread.start()
        assert self._ready.wait(5), "control server did not start"
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)


@pytest.fixture
def served(sock_dir: Path) -> Iterator[ServerThread]:
    """hactl's counterpart: a FixedHandler behind a ControlServer in a thread."""
    with ServerThread(sock_dir / "control.sock", FixedHandler()) as thread:
        yield thread


NOBODY = 65534


def fork_as_nobody(work: Callable[[], int], out_dir: Path) -> int:
    """Fork a child that drops to uid/gid nobody (no extra groups) and runs ``work``."""
    return fork_as(NOBODY, NOBODY, [], work, out_dir)


def fork_as(uid: int, gid: int, groups: list[int], work: Callable[[], int], out_dir: Path) -> int:
    """Fork a child that drops to ``uid``/``gid`` with exactly ``groups`` and runs ``work``.

    The child writes its stdout/stderr to ``out_dir/out`` and ``out_dir/err`` and exits
    with what ``work`` returned. Returns the child's pid; reap it with ``reap``. Only
    modules the parent already imported are used, so nothing needs to be readable by
    the user. Needs root.
    """
    pid = os.fork()
    if pid != 0:
        return pid
    code = 70
    try:
        os.setgroups(groups)
        os.setgid(gid)
        os.setuid(uid)
        sys.stdout = open(out_dir / "out", "w")  # noqa: SIM115
        sys.stderr = open(out_dir / "err", "w")  # noqa: SIM115
        code = work()
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException as exc:
        with open(out_dir / "crash", "w") as crash:
            crash.write(repr(exc))
    finally:
        os._exit(code)


def reap(pid: int) -> int:
    """Wait for a forked child and return its exit code."""
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def writable_dir(path: Path) -> None:
    """A directory any user can write (a forked child's output goes there)."""
    path.mkdir(mode=0o777)
    os.chmod(path, 0o777)


def ask(path: Path, requests: list[tuple[str, dict[str, Any]]]) -> int:
    """Runs in a forked child: plain blocking socket, no asyncio; replies printed as JSON."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(path))
    stream = sock.makefile("rwb")
    replies = {}
    for n, (cmd, args) in enumerate(requests):
        stream.write(json.dumps({"id": n, "cmd": cmd, "args": args}).encode() + b"\n")
        stream.flush()
        replies[cmd] = json.loads(stream.readline())
    print(json.dumps(replies))
    return 0


async def run_client_as(
    uid: int, gid: int, groups: list[int], path: Path, out_dir: Path
) -> dict[str, Any]:
    """hello + standby from a forked child with exactly these credentials."""
    writable_dir(out_dir)
    requests: list[tuple[str, dict[str, Any]]] = [("hello", {}), ("standby", {"which": "all"})]
    pid = fork_as(uid, gid, groups, lambda: ask(path, requests), out_dir)
    code = await asyncio.get_running_loop().run_in_executor(None, reap, pid)
    assert code == 0, (out_dir / "crash").read_text() if (out_dir / "crash").exists() else ""
    replies: dict[str, Any] = json.loads((out_dir / "out").read_text())
    return replies
