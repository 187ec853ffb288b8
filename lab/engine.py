"""Run the engine as a real process inside a lab node and look at it from outside.

The handle talks to the control socket directly (JSON lines, docs/architecture.md) for
``status()`` because a 20 ms poll cannot afford a Python start-up per request; the real
``hactl`` CLI is available through :meth:`EngineHandle.hactl` for the verbs and for a
cross-check of ``status --json``.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.namespaces import Node

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_KEY = "hblab-test-key-0123456789"

_SYSLOG_TIME = re.compile(r"^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(\.\d+)?\b")
_HB_TIME = re.compile(r"\b(\d{4})/(\d{2})/(\d{2})_(\d{2}):(\d{2}):(\d{2})(\.\d+)?\b")
_ISO_TIME = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d+)?\b")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
        start=1,
    )
}


class EngineUnavailable(RuntimeError):
    """The engine's control socket did not answer (not started yet, or gone)."""


class EngineRequestFailed(RuntimeError):
    """The control socket answered ``ok: false``; ``code`` and the message say why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass(frozen=True)
class LogEntry:
    """One log line and its wall-clock timestamp (None when the line has none)."""

    text: str
    time: float | None


def parse_log_time(line: str, now: float | None = None) -> float | None:
    """Return the epoch time of a Heartbeat log line (local time), or None.

    Understands ``Nov 25 13:05:33`` (syslogmsgfmt, no year: the year that puts the time
    closest to ``now``), ``2026/11/25_13:05:44`` and ISO ``2026-11-25 13:05:44``, each
    with optional fractional seconds.
    """
    reference = time.time() if now is None else now
    match = _SYSLOG_TIME.match(line)
    if match is not None:
        month = _MONTHS.get(match.group(1))
        if month is None:
            return None
        year = time.localtime(reference).tm_year
        day = int(match.group(2))
        hour, minute, second = (int(value) for value in match.group(3, 4, 5))
        candidates = [
            _local_epoch(y, month, day, hour, minute, second, match.group(6))
            for y in (year - 1, year, year + 1)
        ]
        return min(candidates, key=lambda value: abs(value - reference))
    for pattern in (_HB_TIME, _ISO_TIME):
        match = pattern.search(line)
        if match is not None:
            year, month, day, hour, minute, second = map(int, match.group(1, 2, 3, 4, 5, 6))
            return _local_epoch(year, month, day, hour, minute, second, match.group(7))
    return None


def _local_epoch(
    year: int, month: int, day: int, hour: int, minute: int, second: int, fraction: str | None
) -> float:
    base = time.mktime((year, month, day, hour, minute, second, 0, 0, -1))
    return base + (float(fraction) if fraction else 0.0)


def write_config(
    config_dir: Path,
    node_names: Sequence[str],
    media_lines: Sequence[str],
    keepalive: str = "200ms",
    deadtime: str = "1",
    warntime: str = "600ms",
    initdead: str = "3",
    auth: tuple[str, str] = ("sha1", DEFAULT_KEY),
    haresources: str = "",
    extra: str = "",
    log_dir: Path | None = None,
    auto_failback: str = "on",
    udpport: int = 694,
) -> None:
    """Write ``ha.cf``, ``authkeys`` (mode 0600) and ``haresources`` into ``config_dir``.

    Args:
        config_dir: created if missing.
        node_names: one ``node`` line each.
        media_lines: e.g. ``["ucast eth0 10.99.0.2", "bcast eth1"]`` (same on every node).
        keepalive: Heartbeat time syntax (``"200ms"``, ``"1"``), likewise the other timers.
        deadtime: see keepalive.
        warntime: see keepalive.
        initdead: see keepalive; must be >= deadtime.
        auth: ``(method, key)``; ``("crc", "")`` writes a keyless entry.
        haresources: the file's content (may be empty).
        extra: more ``ha.cf`` lines appended verbatim.
        log_dir: where ``logfile``/``debugfile`` point (default: sibling ``state`` dir).
        auto_failback: ``on``, ``off`` or ``legacy``.
        udpport: the heartbeat UDP port.
    """
    config_dir.mkdir(parents=True, exist_ok=True)
    logs = log_dir if log_dir is not None else config_dir.parent / "state"
    logs.mkdir(parents=True, exist_ok=True)
    lines = [
        "use_logd no",
        f"logfile {logs / 'ha-log'}",
        f"debugfile {logs / 'ha-debug'}",
        f"keepalive {keepalive}",
        f"deadtime {deadtime}",
        f"warntime {warntime}",
        f"initdead {initdead}",
        f"udpport {udpport}",
        *media_lines,
        f"auto_failback {auto_failback}",
        *(f"node {name}" for name in node_names),
    ]
    if extra:
        lines.append(extra.rstrip("\n"))
    (config_dir / "ha.cf").write_text("\n".join(lines) + "\n")
    method, key = auth
    keyfile = config_dir / "authkeys"
    keyfile.write_text(f"auth 1\n1 {method} {key}\n".replace(" \n", "\n"))
    keyfile.chmod(0o600)
    (config_dir / "haresources").write_text(haresources)


def nodes_by_name(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Index ``status['nodes']`` by node name."""
    return {str(entry["name"]): entry for entry in status.get("nodes", [])}


def node_state(status: dict[str, Any], name: str) -> str | None:
    """The status (init/up/active/dead) one engine reports for node ``name``."""
    entry = nodes_by_name(status).get(name)
    return None if entry is None else str(entry.get("status"))


def link_state(status: dict[str, Any], node: str, link: str) -> str | None:
    """The status (up/dead) one engine reports for ``node``'s link ``link``."""
    entry = nodes_by_name(status).get(node)
    if entry is None:
        return None
    for item in entry.get("links", []):
        if item.get("name") == link:
            return str(item.get("status"))
    return None


def engine_argv(
    name: str, config_dir: Path, state_dir: Path, extra_args: Sequence[str] = ()
) -> list[str]:
    """The ``haengine`` command line of one lab node (this interpreter, this checkout)."""
    return [
        sys.executable, "-m", "engine.programs.haengine",
        "--config-dir", str(config_dir),
        "--state-dir", str(state_dir),
        "--node", name,
        *extra_args,
    ]  # fmt: skip


def repo_pythonpath() -> str:
    """PYTHONPATH that makes child processes import this checkout first."""
    return os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))


class EngineHandle:
    """One running ``engine.programs.haengine`` process inside a lab node."""

    def __init__(
        self, node: Node, config_dir: Path, state_dir: Path, proc: subprocess.Popen[bytes]
    ) -> None:
        self.node = node
        self.config_dir = config_dir
        self.state_dir = state_dir
        self.proc = proc
        self.started_at = time.monotonic()
        self._request_ids = itertools.count(1)

    @classmethod
    def launch(
        cls, node: Node, config_dir: Path, state_dir: Path, extra_args: Sequence[str] = ()
    ) -> EngineHandle:
        """Start the engine in ``node``; stdout/stderr go to ``STATE_DIR/engine.out``."""
        state_dir.mkdir(parents=True, exist_ok=True)
        argv = engine_argv(node.name, config_dir, state_dir, extra_args)
        env = {**os.environ, "PYTHONPATH": repo_pythonpath()}
        with (state_dir / "engine.out").open("ab") as out:
            proc = node.popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=REPO_ROOT, env=env)
        return cls(node, config_dir, state_dir, proc)

    @property
    def pid(self) -> int:
        """The engine's pid (``ip netns exec`` execs, so it is the Python process)."""
        return self.proc.pid

    @property
    def control_path(self) -> Path:
        """The engine's Unix control socket."""
        return self.state_dir / "control.sock"

    def alive(self) -> bool:
        """True while the process has not exited."""
        return self.proc.poll() is None

    def output(self) -> str:
        """Everything the process wrote to stdout/stderr."""
        path = self.state_dir / "engine.out"
        return path.read_text(errors="replace") if path.exists() else ""

    def request(self, cmd: str, args: dict[str, Any] | None = None, timeout: float = 2.0) -> Any:
        """Send one control request and return its ``result``.

        Raises:
            EngineUnavailable: the socket is missing or did not answer in time.
            EngineRequestFailed: the engine answered ``ok: false``.
        """
        request_id = next(self._request_ids)  # handles are shared between poller threads
        message = {"id": request_id, "cmd": cmd, "args": args or {}}
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout)
                sock.connect(str(self.control_path))
                sock.sendall((json.dumps(message) + "\n").encode())
                reply = _read_reply(sock, request_id)
        except (OSError, ValueError) as exc:
            raise EngineUnavailable(f"{self.node.name}: control socket: {exc}") from exc
        if not reply.get("ok"):
            raise EngineRequestFailed(str(reply.get("code")), str(reply.get("error")))
        return reply.get("result")

    def status(self) -> dict[str, Any]:
        """The status document (same content as ``hactl status --json``)."""
        result = self.request("status")
        if not isinstance(result, dict):
            raise EngineUnavailable(f"{self.node.name}: status result is not an object: {result!r}")
        return result

    def try_status(self) -> dict[str, Any] | None:
        """The status document, or None while the engine does not answer."""
        try:
            return self.status()
        except (EngineUnavailable, EngineRequestFailed):
            return None

    def hactl(self, *args: str, timeout: float = 15.0) -> subprocess.CompletedProcess[str]:
        """Run the real ``hactl --state-dir DIR ARGS...`` from the root namespace."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        argv = [
            sys.executable,
            "-m",
            "engine.programs.hactl",
            "--state-dir",
            str(self.state_dir),
            *args,
        ]
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT, env=env
        )

    def hactl_status(self) -> dict[str, Any]:
        """``hactl status --json`` parsed (raises with the CLI's stderr on failure)."""
        proc = self.hactl("status", "--json")
        if proc.returncode != 0:
            raise EngineUnavailable(f"hactl status --json exit {proc.returncode}: {proc.stderr}")
        data = json.loads(proc.stdout)
        if not isinstance(data, dict):
            raise EngineUnavailable(f"hactl status --json printed {proc.stdout!r}")
        return data

    def log_lines(self, debug: bool = False) -> list[str]:
        """Lines of the engine's ``logfile`` (or ``debugfile``) in the state dir."""
        path = self.state_dir / ("ha-debug" if debug else "ha-log")
        return path.read_text(errors="replace").splitlines() if path.exists() else []

    def log_entries(self, pattern: str = "", debug: bool = False) -> list[LogEntry]:
        """Log lines matching the regex ``pattern``, with parsed timestamps."""
        regex = re.compile(pattern)
        return [
            LogEntry(line, parse_log_time(line))
            for line in self.log_lines(debug)
            if regex.search(line)
        ]

    def reap(self, timeout: float = 5.0) -> int | None:
        """Collect the exit status after the process was killed from outside."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM (graceful leave) and wait; SIGKILL if it does not exit in time.

        Returns:
            The exit code (negative for a signal, as Popen reports it).
        """
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            logger.warning(
                "%s: engine ignored SIGTERM for %.0f s, killing", self.node.name, timeout
            )
            self.kill()
            return self.proc.wait(5)

    def kill(self) -> None:
        """SIGKILL the engine process (not its children; use Lab.kill_node for a crash)."""
        if self.alive():
            self.proc.kill()
        self.reap()


def _read_reply(sock: socket.socket, request_id: int) -> dict[str, Any]:
    """Read JSON lines until the reply with ``request_id`` (events are skipped)."""
    buffer = b""
    while True:
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if not line.strip():
                continue
            message = json.loads(line)
            if isinstance(message, dict) and message.get("id") == request_id:
                return message
        chunk = sock.recv(65536)
        if not chunk:
            raise ValueError("connection closed before the reply")
        buffer += chunk


def engine_importable() -> str | None:
    """Return why ``haengine`` cannot run yet, or None when its ``--help`` works."""
    if not (REPO_ROOT / "engine" / "programs" / "haengine.py").exists():
        return "engine/programs/haengine.py does not exist yet"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "engine.programs.haengine", "--help"],
        capture_output=True, text=True, timeout=30, cwd=REPO_ROOT, env=env,
    )  # fmt: skip
    if proc.returncode != 0:
        return f"`haengine --help` failed: {(proc.stderr or proc.stdout).strip()[-500:]}"
    return None
