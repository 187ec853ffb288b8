"""A throw-away network namespace with a veth pair (eth0 <-> peer0), for root tests."""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

_serial = itertools.count()


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=False)


@contextmanager
def veth_namespace() -> Iterator[str]:
    """Yield the name of a new netns holding ``eth0``/``peer0`` (up); skip if impossible."""
    if os.geteuid() != 0:
        pytest.skip("needs root to create a network namespace")
    name = f"hatui-rt-{os.getpid()}-{next(_serial)}"
    made = _ip("netns", "add", name)
    if made.returncode != 0:
        pytest.skip(f"cannot create a network namespace: {made.stderr.strip()}")
    try:
        for args in (
            ("link", "add", "eth0", "type", "veth", "peer", "name", "peer0"),
            ("link", "set", "lo", "up"),
            ("link", "set", "eth0", "up"),
            ("link", "set", "peer0", "up"),
        ):
            step = _ip("-n", name, *args)
            if step.returncode != 0:
                pytest.skip(f"cannot set up veth in {name}: {step.stderr.strip()}")
        yield name
    finally:
        _ip("netns", "del", name)


def addresses(namespace: str, iface: str = "eth0") -> str:
    """``ip -o addr show IFACE`` inside the namespace."""
    return _ip("-n", namespace, "-o", "addr", "show", iface).stdout
