"""A made-up machine for the configuration tests: interfaces, addresses, programs."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from engine.config.machine import Machine


def fake_machine(
    root: Path,
    interfaces: Iterable[str] = ("lo", "eth0", "hb1"),
    addresses: Iterable[str] = ("127.0.0.1", "10.99.0.1"),
    scripts: Iterable[str] = ("hbhttpd",),
    units: Iterable[str] = (),
    ocf: Iterable[str] = ("Dummy", "IPaddr2"),
) -> Machine:
    """A ``Machine`` reading a tree under ``root`` (init scripts, OCF agents, units)."""
    net = root / "sys-class-net"
    net.mkdir(parents=True, exist_ok=True)
    for name in interfaces:
        (net / name).mkdir(exist_ok=True)
    fib = "".join(f"     |-- {a}\n        /32 host LOCAL\n" for a in addresses)
    (root / "fib_trie").write_text("Local:\n  +-- 0.0.0.0/0 3 0 5\n" + fib)
    init = root / "init.d"
    agents = root / "ocf" / "resource.d" / "heartbeat"
    unit_dir = root / "units"
    for folder, names in ((init, scripts), (agents, ocf), (unit_dir, units)):
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            (folder / name).write_text("#!/bin/sh\nexit 0\n")
            (folder / name).chmod(0o755)
    return Machine(net, root / "fib_trie", init, root / "ocf", (unit_dir,))
