"""Real engines on loopback (no root): real processes, real UDP, real control sockets."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

RESOURCE_SCRIPT = """#!/bin/sh
# heartbeat-style test resource: one state file per instance, in the node's state dir
f="$HA_VARLIB/res-$1"
case "$2" in
start) [ -e "$HA_VARLIB/fail-$1" ] && { echo "cannot start $1" >&2; exit 1; }
       date +%s.%N > "$f"; echo "started $1";;
stop) rm -f "$f";;
status) if [ -e "$f" ]; then echo running; else echo stopped; fi;;
esac
exit 0
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Node:
    name: str
    address: str
    config_dir: Path
    state_dir: Path
    proc: subprocess.Popen[bytes] | None = None
    extra: list[str] = field(default_factory=list)

    def start(self) -> None:
        argv = [
            sys.executable,
            "-m",
            "engine.programs.haengine",
            "--config-dir",
            str(self.config_dir),
            "--state-dir",
            str(self.state_dir),
            "--node",
            self.name,
            "--bind-address",
            self.address,
            "--allow-fault-injection",
            "--quiet",
            *self.extra,
        ]
        self.proc = subprocess.Popen(
            argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def ctl(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        argv = [
            sys.executable,
            "-m",
            "engine.programs.hactl",
            "--state-dir",
            str(self.state_dir),
            *args,
        ]
        return subprocess.run(
            argv, cwd=ROOT, capture_output=True, text=True, check=check, timeout=20
        )

    def status(self) -> dict[str, Any] | None:
        out = self.ctl("status", "--json")
        if out.returncode != 0:
            return None
        doc: dict[str, Any] = json.loads(out.stdout)
        return doc

    def log(self) -> str:
        path = self.state_dir / "ha-log"
        return path.read_text() if path.exists() else ""

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 30) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def holds(self, key: str) -> bool:
        return (self.state_dir / f"res-{key}").exists()


class Cluster:
    """Two or more engines on 127.0.0.x, one ucast link and one multicast link each."""

    def __init__(
        self,
        tmp: Path,
        names: tuple[str, ...] = ("alpha", "bravo"),
        haresources: str = "alpha demo-svc::one demo-svc::two\n",
        auto_failback: str = "on",
    ) -> None:
        port, mport = free_port(), free_port()
        group = f"239.0.{os.getpid() % 250}.{port % 250}"
        self.nodes: dict[str, Node] = {}
        for i, name in enumerate(names):
            address = f"127.0.{port % 200 + 20}.{i + 11}"
            node = Node(name, address, tmp / name / "etc", tmp / name / "state")
            self.nodes[name] = node
        for node in self.nodes.values():
            node.config_dir.mkdir(parents=True)
            node.state_dir.mkdir(parents=True)
            peers = "".join(f"ucast lo {n.address}\n" for n in self.nodes.values() if n is not node)
            (node.config_dir / "ha.cf").write_text(
                f"logfile {node.state_dir}/ha-log\ndebugfile {node.state_dir}/ha-debug\n"
                "logfacility none\nkeepalive 200ms\ndeadtime 1\nwarntime 600ms\ninitdead 3\n"
                f"udpport {port}\nmcast lo {group} {mport} 1 1\n{peers}"
                f"auto_failback {auto_failback}\n" + "".join(f"node {n}\n" for n in names)
            )
            keys = node.config_dir / "authkeys"
            keys.write_text("auth 1\n1 sha256 loopback-test-secret\n")
            keys.chmod(0o600)
            (node.config_dir / "haresources").write_text(haresources)
            rd = node.config_dir / "resource.d"
            rd.mkdir()
            (rd / "demo-svc").write_text(RESOURCE_SCRIPT)
            (rd / "demo-svc").chmod(0o755)

    def __getitem__(self, name: str) -> Node:
        return self.nodes[name]

    def start(self, *names: str) -> None:
        for name in names or tuple(self.nodes):
            self.nodes[name].start()

    def close(self) -> None:
        for node in self.nodes.values():
            node.kill()


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy (process tests only)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def node_status(doc: dict[str, Any] | None, name: str) -> str | None:
    if not doc:
        return None
    for node in doc["nodes"]:
        if node["name"] == name:
            return str(node["status"])
    return None


def held_by(doc: dict[str, Any] | None) -> str | None:
    if not doc or not doc.get("groups"):
        return None
    value = doc["groups"][0].get("held_by")
    return None if value is None else str(value)
