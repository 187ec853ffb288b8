"""What the machine offers the wizard: interfaces, serial ports, resource agents.

Deviation, on purpose: the project runs external programs only through
``engine/runner.py``, but ``hatui`` may not import the engine's internals (import
hygiene). The few read-only probes here (``ip -j addr``, ``systemctl list-unit-files``,
``ping``/``arping``) therefore use ``subprocess.run`` with a short timeout, never a
shell, and every failure degrades to "not found" with a note.
"""

from __future__ import annotations

import fcntl
import glob
import ipaddress
import json
import logging
import os
import shutil
import socket
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 3.0
OCF_ROOT = Path("/usr/lib/ocf/resource.d")
INIT_D = Path("/etc/init.d")
SIOCGIFADDR = 0x8915
SIOCGIFNETMASK = 0x891B


@dataclass(frozen=True, slots=True)
class Interface:
    """A network interface and its IPv4 addresses (``a.b.c.d/len``)."""

    name: str
    addresses: tuple[str, ...]
    up: bool = True
    loopback: bool = False


@dataclass(frozen=True, slots=True)
class Agent:
    """A resource script the haresources file can name."""

    kind: str
    """``ocf``, ``lsb``, ``systemd`` or ``heartbeat`` (resource.d)."""
    name: str
    """What goes into haresources (``IPaddr2``, ``apache2``, ``ocf:heartbeat:Dummy``...)."""


@dataclass
class Discovery:
    """Everything found, plus notes about what could not be looked at."""

    interfaces: list[Interface] = field(default_factory=list)
    serial_ports: list[str] = field(default_factory=list)
    agents: list[Agent] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _run(argv: list[str], timeout: float = PROBE_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


# ------------------------------------------------------------------ interfaces


def interfaces_from_ip_json(text: str) -> list[Interface]:
    """Parse ``ip -j addr`` output."""
    found = []
    for entry in json.loads(text or "[]"):
        addresses = tuple(
            f"{a['local']}/{a['prefixlen']}"
            for a in entry.get("addr_info", [])
            if a.get("family") == "inet" and "local" in a
        )
        flags = entry.get("flags", [])
        found.append(Interface(entry["ifname"], addresses, "UP" in flags, "LOOPBACK" in flags))
    return found


def _ioctl_address(name: str) -> tuple[str, ...]:
    """One IPv4 address of ``name`` via SIOCGIFADDR/SIOCGIFNETMASK (no alias addresses)."""
    packed = struct.pack("256s", name.encode()[:15])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            addr = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, packed)[20:24]
            mask = fcntl.ioctl(sock.fileno(), SIOCGIFNETMASK, packed)[20:24]
        except OSError:
            return ()
    prefix = ipaddress.IPv4Network(f"0.0.0.0/{socket.inet_ntoa(mask)}").prefixlen
    return (f"{socket.inet_ntoa(addr)}/{prefix}",)


def interfaces_from_sys(root: Path = Path("/sys/class/net")) -> list[Interface]:
    """Fallback without iproute2: names from /sys, one address each by ioctl."""
    found = []
    for entry in sorted(root.iterdir()) if root.is_dir() else []:
        try:
            flags = int((entry / "flags").read_text().strip(), 16)
        except (OSError, ValueError):
            flags = 0
        found.append(Interface(entry.name, _ioctl_address(entry.name), bool(flags & 1),
                               bool(flags & 8)))  # fmt: skip
    return found


def list_interfaces(notes: list[str] | None = None) -> list[Interface]:
    """``ip -j addr``, falling back to /sys + ioctl."""
    if shutil.which("ip"):
        try:
            result = _run(["ip", "-j", "addr"])
            if result.returncode == 0:
                return interfaces_from_ip_json(result.stdout)
        except (OSError, subprocess.TimeoutExpired, ValueError, KeyError) as exc:
            logger.debug("ip -j addr failed: %s", exc)
    if notes is not None:
        notes.append("iproute2 not usable: interfaces read from /sys (first address only)")
    return interfaces_from_sys()


# ------------------------------------------------------------------ serial ports


def list_serial_ports() -> list[str]:
    """pyserial's port list plus /dev/ttyS* that exist (sorted, unique)."""
    ports: set[str] = set()
    try:
        from serial.tools import list_ports

        ports.update(str(port.device) for port in list_ports.comports())
    except Exception as exc:  # pyserial missing or broken: /dev scan still works
        logger.debug("pyserial port listing failed: %s", exc)
    ports.update(glob.glob("/dev/ttyS[0-9]*")[:4])
    ports.update(glob.glob("/dev/serial/by-id/*"))
    return sorted(ports)


# ------------------------------------------------------------------ resource agents


def list_agents(
    ocf_root: Path = OCF_ROOT, init_d: Path = INIT_D, notes: list[str] | None = None
) -> list[Agent]:
    """heartbeat resource.d wrappers for OCF agents, OCF agents, LSB scripts, systemd units."""
    agents: list[Agent] = []
    for provider in sorted(ocf_root.iterdir()) if ocf_root.is_dir() else []:
        for script in sorted(provider.iterdir()) if provider.is_dir() else []:
            if os.access(script, os.X_OK) and not script.name.startswith("."):
                agents.append(Agent("ocf", f"ocf:{provider.name}:{script.name}"))
    for script in sorted(init_d.iterdir()) if init_d.is_dir() else []:
        if os.access(script, os.X_OK) and script.name not in ("rc", "rcS", "README"):
            agents.append(Agent("lsb", script.name))
    agents.extend(Agent("systemd", unit) for unit in list_systemd_units(notes))
    return agents


def list_systemd_units(notes: list[str] | None = None) -> list[str]:
    """Service units, when systemctl answers (not inside most containers)."""
    if not shutil.which("systemctl"):
        return []
    try:
        result = _run(["systemctl", "list-unit-files", "--type=service", "--no-legend"])
    except (OSError, subprocess.TimeoutExpired) as exc:
        if notes is not None:
            notes.append(f"systemctl did not answer: {exc}")
        return []
    if result.returncode != 0:
        if notes is not None:
            notes.append("systemd is not running here: no unit list")
        return []
    units = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    return [u for u in units if u.endswith(".service") and "@" not in u]


def discover() -> Discovery:
    """Everything at once (takes well under a second on a normal machine)."""
    found = Discovery()
    found.interfaces = list_interfaces(found.notes)
    found.serial_ports = list_serial_ports()
    found.agents = list_agents(notes=found.notes)
    return found


# ------------------------------------------------------------------ address in use


@dataclass(frozen=True, slots=True)
class InUse:
    """Result of the "is the cluster IP already taken" probe."""

    address: str
    in_use: bool | None
    """True/False when the probe ran; None when it could not be run."""
    how: str


def local_addresses(interfaces: list[Interface]) -> set[str]:
    """Every IPv4 address configured on this machine."""
    return {a.split("/")[0] for i in interfaces for a in i.addresses}


def address_in_use(
    address: str, interfaces: list[Interface] | None = None, device: str = ""
) -> InUse:
    """Is ``address`` configured here, or answering on the network?

    Root with ``arping`` and a device: duplicate address detection (``arping -D``).
    Otherwise one ``ping -c1 -W1``. Never raises; an unusable probe says so.
    """
    known = interfaces if interfaces is not None else list_interfaces()
    if address in local_addresses(known):
        return InUse(address, True, "configured on this machine")
    if os.geteuid() == 0 and device and shutil.which("arping"):
        try:
            result = _run(["arping", "-D", "-c", "2", "-w", "2", "-I", device, address])
        except (OSError, subprocess.TimeoutExpired) as exc:
            return InUse(address, None, f"arping failed: {exc}")
        return InUse(address, result.returncode == 1, f"arping -D on {device}")
    if not shutil.which("ping"):
        return InUse(address, None, "not checked: neither arping (as root) nor ping available")
    try:
        result = _run(["ping", "-n", "-c1", "-W1", address])
    except (OSError, subprocess.TimeoutExpired) as exc:
        return InUse(address, None, f"ping failed: {exc}")
    if result.returncode in (0, 1):
        return InUse(address, result.returncode == 0, "ping -c1 -W1 (run as root for arping -D)")
    return InUse(address, None, f"not checked: {result.stderr.strip() or 'ping refused'}")
