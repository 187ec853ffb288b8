"""The lab's ground floor: namespace names, running ``ip``, waiting, killing, one Node.

``lab.netns`` (the Lab), ``lab.engine`` (an engine in a node) and ``lab.shaping`` build on
it; it imports none of them, so the lab's modules import each other in one direction.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from engine.process.pids import pid_alive

logger = logging.getLogger(__name__)

T = TypeVar("T")

NAMESPACE_PATTERN = re.compile(r"^hl(\d+)x\d+-")
_open_prefixes: set[str] = set()


class LabUnavailable(RuntimeError):
    """The machine cannot run the lab (not root, no ``ip``, no namespaces...)."""


class LabUnsupported(RuntimeError):
    """A requested lab feature is missing on this kernel (e.g. the netem qdisc)."""


def lab_unavailable_reason() -> str | None:
    """Return why the lab cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return "network-namespace lab needs root"
    if shutil.which("ip") is None:
        return "network-namespace lab needs iproute2's `ip`"
    if not Path("/proc/self/ns/net").exists():
        return "kernel has no network namespaces"
    return None


def run(argv: Sequence[str], timeout: float = 10.0, check: bool = True) -> str:
    """Run a command in the root namespace and return its stdout.

    Raises:
        RuntimeError: the command failed and ``check`` is set (message has stderr).
    """
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def wait_until(
    predicate: Callable[[], T | None],
    timeout: float,
    interval: float = 0.02,
    what: str = "condition",
    ignore: tuple[type[BaseException], ...] = (),
) -> T:
    """Poll ``predicate`` until it returns a truthy value and return that value.

    Args:
        predicate: called every ``interval`` seconds.
        timeout: seconds before giving up.
        interval: poll period in seconds.
        what: names the condition in the timeout message.
        ignore: exception types treated as "not yet" (e.g. engine not listening yet).

    Raises:
        TimeoutError: with the last value or exception seen, so failures explain themselves.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = predicate()
            if value:
                return value
            last = value
        except ignore as exc:
            last = exc
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"timed out after {timeout:.2f} s waiting for {what}; last: {last!r}"
            )
        time.sleep(interval)


def namespace_pids(namespace: str) -> list[int]:
    """Return the pids of every process whose network namespace is ``namespace``."""
    out = run(["ip", "netns", "pids", namespace], check=False)
    return [int(word) for word in out.split() if word.isdigit()]


def kill_namespace_processes(namespace: str, sig: int = signal.SIGKILL) -> list[int]:
    """Send ``sig`` to every process in ``namespace`` until none is left (for SIGKILL)."""
    killed: list[int] = []
    for _ in range(20):
        pids = namespace_pids(namespace)
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            killed.append(pid)
        if sig != signal.SIGKILL:
            break
        time.sleep(0.01)
    return killed


def list_namespaces() -> list[str]:
    """Return the names of all named network namespaces."""
    out = run(["ip", "-j", "netns", "list"], check=False).strip()
    if not out:
        return []
    return [str(entry["name"]) for entry in json.loads(out)]


def delete_namespace(namespace: str) -> None:
    """Kill everything inside ``namespace`` and delete it (errors are logged, not raised)."""
    kill_namespace_processes(namespace)
    proc = subprocess.run(["ip", "netns", "del", namespace], capture_output=True, text=True)
    if proc.returncode != 0:
        logger.warning("could not delete namespace %s: %s", namespace, proc.stderr.strip())


def remove_leftover_namespaces() -> list[str]:
    """Delete lab namespaces left behind by test processes that no longer exist."""
    removed: list[str] = []
    for name in list_namespaces():
        match = NAMESPACE_PATTERN.match(name)
        if match is None:
            continue
        owner = int(match.group(1))
        prefix = name.split("-", 1)[0]
        if owner == os.getpid() and prefix in _open_prefixes:
            continue
        if owner != os.getpid() and pid_alive(owner):
            continue
        delete_namespace(name)
        removed.append(name)
    return removed


@dataclass
class Node:
    """One cluster node: a network namespace with ``eth0``, ``eth1``..."""

    name: str
    index: int
    namespace: str
    networks: int

    def address(self, network: int = 0) -> str:
        """Return this node's IPv4 address on heartbeat network ``network``."""
        return f"10.99.{network}.{self.index}"

    @property
    def interfaces(self) -> list[str]:
        """The node's heartbeat interfaces, ``eth0`` first."""
        return [f"eth{i}" for i in range(self.networks)]

    def exec(
        self, argv: Sequence[str], check: bool = True, timeout: float = 10.0
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the node and wait for it."""
        proc = subprocess.run(
            ["ip", "netns", "exec", self.namespace, *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(
                f"[{self.name}] {' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}"
            )
        return proc

    def popen(self, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        """Start ``argv`` inside the node without waiting (kwargs go to Popen)."""
        return subprocess.Popen(["ip", "netns", "exec", self.namespace, *argv], **kwargs)

    def pids(self) -> list[int]:
        """Return the pids of every process running inside the node."""
        return namespace_pids(self.namespace)
