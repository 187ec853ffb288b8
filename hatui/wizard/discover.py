"""What the machine offers the wizard: interfaces, serial ports, resource agents.

The few read-only probes (``ip -j addr``, ``systemctl list-unit-files``,
``ping``/``arping``) run through the project's one runner
(``engine.process.runner.run_program_sync``: own session, short timeout, never a
shell), and every failure degrades to "not found" with a note.
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
from dataclasses import dataclass, field
from pathlib import Path

from engine.process.runner import ProgramResult, run_program_sync

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 3.0
OCF_ROOT = Path("/usr/lib/ocf/resource.d")
INIT_D = Path("/etc/init.d")
CONFIG_DIR = Path("/etc/ha.d")
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


def _run(argv: list[str], timeout: float = PROBE_TIMEOUT_S) -> ProgramResult:
    return run_program_sync(argv, timeout=timeout, log=False)


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
        result = _run(["ip", "-j", "addr"])
        try:
            if result.ok:
                return interfaces_from_ip_json(result.stdout)
        except (ValueError, KeyError) as exc:
            logger.debug("ip -j addr gave bad JSON: %s", exc)
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

CLUSTER_STACK = frozenset(
    {"heartbeat", "haengine", "hatui", "logd", "corosync", "corosync-qdevice",
     "corosync-qnetd", "corosync-notifyd", "pacemaker", "pacemaker_remote",
     "pacemaker-remote", "pcsd", "pcsd-ruby", "sbd", "cman", "openais", "dlm",
     "crmsh", "hawk"}
)  # fmt: skip
"""Cluster managers and their helpers: they run the resources, they are never one."""


def _scripts(folder: Path, *, services_only: bool = False) -> list[str]:
    """Executable files in ``folder`` (sorted); hidden files, init's own scripts, the
    cluster stack, and (``services_only``) boot-time setup scripts left out."""
    if not folder.is_dir():
        return []
    return [
        script.name
        for script in sorted(folder.iterdir())
        if script.is_file()
        and os.access(script, os.X_OK)
        and not script.name.startswith(".")
        and script.name not in ("rc", "rcS", "README", "skeleton", "hto-mapfuncs")
        and script.name not in CLUSTER_STACK
        and not (services_only and _boot_script(script))
    ]


def _boot_script(script: Path) -> bool:
    """An LSB script started in runlevel S (hwclock, udev...): machine setup, not a
    service to move between nodes."""
    try:
        head = script.read_bytes()[:4096].decode("utf-8", errors="replace")
    except OSError:
        return False
    for line in head.splitlines():
        if line.startswith("# Default-Start:"):
            return "S" in line.split(":", 1)[1].split()
    return False


def list_agents(
    config_dir: Path = CONFIG_DIR,
    ocf_root: Path = OCF_ROOT,
    init_d: Path = INIT_D,
    notes: list[str] | None = None,
    units: list[str] | None = None,
) -> list[Agent]:
    """What haresources can name here, in the engine's lookup order for bare names.

    ``CONFIG_DIR/resource.d`` scripts (Heartbeat's own wrappers and the site's), then
    LSB scripts in init.d (a name found in both is the resource.d one, as the engine
    resolves it), OCF agents as ``ocf:PROVIDER:TYPE``, systemd units as
    ``systemd:UNIT`` (``units`` defaults to what systemctl lists).
    """
    agents = [Agent("heartbeat", name) for name in _scripts(config_dir / "resource.d")]
    taken = {agent.name for agent in agents}
    services = _scripts(init_d, services_only=True)
    agents += [Agent("lsb", name) for name in services if name not in taken]
    for provider in sorted(ocf_root.iterdir()) if ocf_root.is_dir() else []:
        agents += [Agent("ocf", f"ocf:{provider.name}:{name}") for name in _scripts(provider)]
    found = list_systemd_units(notes) if units is None else units
    agents += [systemd_agent(unit) for unit in found]
    return agents


def systemd_agent(unit: str) -> Agent:
    """A unit as haresources names it: the engine only takes ``systemd:UNIT``."""
    return Agent("systemd", f"systemd:{unit}")


def list_systemd_units(notes: list[str] | None = None) -> list[str]:
    """Service units, when systemctl answers (not inside most containers)."""
    if not shutil.which("systemctl"):
        return []
    result = _run(["systemctl", "list-unit-files", "--type=service", "--no-legend"])
    if result.error or result.timed_out:
        if notes is not None:
            notes.append(f"systemctl did not answer: {result.describe()}")
        return []
    if result.returncode != 0:
        if notes is not None:
            notes.append("systemd is not running here: no unit list")
        return []
    return service_units(result.stdout)


def service_units(listing: str) -> list[str]:
    """The units of ``systemctl list-unit-files`` output a group can name: services,
    not templates, not the cluster stack's own."""
    units = [line.split()[0] for line in listing.splitlines() if line.strip()]
    return [
        unit
        for unit in units
        if unit.endswith(".service")
        and "@" not in unit
        and unit.removesuffix(".service") not in CLUSTER_STACK
    ]


def discover(config_dir: Path = CONFIG_DIR) -> Discovery:
    """Everything at once (takes well under a second on a normal machine)."""
    found = Discovery()
    found.interfaces = list_interfaces(found.notes)
    found.serial_ports = list_serial_ports()
    found.agents = list_agents(config_dir, notes=found.notes)
    return found


# ------------------------------------------------------------------ address in use


@dataclass(frozen=True, slots=True)
class InUse:
    """Result of the "is the cluster IP already taken" probe."""

    address: str
    in_use: bool | None
    """True/False when the probe ran; None when it could not be run."""
    how: str

    def describe(self) -> str:
        """One line for the review page and the answers mode."""
        mark = {True: "✖ IN USE", False: "✔ free", None: "? not checked"}[self.in_use]
        return f"cluster IP {self.address}: {mark} ({self.how})"


def local_addresses(interfaces: list[Interface]) -> set[str]:
    """Every IPv4 address configured on this machine."""
    return {a.split("/")[0] for i in interfaces for a in i.addresses}


def route_device(address: str) -> str:
    """The interface ``address`` is directly reachable on ("" if only via a gateway).

    arping works on the local link only; an address behind a router cannot be probed
    that way (and is an odd choice for a cluster IP).
    """
    if not shutil.which("ip"):
        return ""
    result = _run(["ip", "-j", "route", "get", address])
    try:
        routes = json.loads(result.stdout or "[]") if result.ok else []
    except ValueError as exc:
        logger.debug("ip route get %s failed: %s", address, exc)
        return ""
    if not routes or "gateway" in routes[0] or routes[0].get("type", "unicast") != "unicast":
        return ""
    return str(routes[0].get("dev", ""))


def _arping(address: str, device: str) -> InUse | None:
    """Duplicate address detection on ``device``; None when arping cannot run here."""
    result = _run(["arping", "-D", "-c", "2", "-w", "2", "-I", device, address])
    if result.returncode not in (0, 1):  # 2: no such device, no permission...
        logger.debug("arping -D on %s: %s", device, result.stderr.strip())
        return None
    if result.returncode == 0:
        return InUse(address, False, f"no ARP reply on {device} (arping -D)")
    reply = next((ln for ln in result.stdout.splitlines() if "reply from" in ln), "a reply")
    return InUse(address, True, f"{reply.strip()} (arping -D on {device})")


def _ping(address: str) -> InUse:
    if not shutil.which("ping"):
        return InUse(address, None, "neither arping nor ping can be run here")
    result = _run(["ping", "-n", "-c1", "-W1", address])
    if result.error or result.timed_out:
        return InUse(address, None, f"ping failed: {result.describe()}")
    if result.returncode == 0:
        return InUse(address, True, "answers ping")
    if result.returncode == 1:
        return InUse(address, False, "no answer to one ping (a host may drop pings)")
    return InUse(address, None, result.stderr.strip() or "ping refused")


def address_in_use(
    address: str, interfaces: list[Interface] | None = None, device: str = ""
) -> InUse:
    """Is ``address`` configured here, or answering on the network?

    With a device (given, or the one the route to ``address`` leaves by) and arping:
    duplicate address detection, which sees a host that drops pings. Otherwise one
    ``ping -c1 -W1``. Never raises; a probe that cannot run says so.
    """
    known = interfaces if interfaces is not None else list_interfaces()
    if address in local_addresses(known):
        return InUse(address, True, "configured on this machine")
    device = device or route_device(address)
    if device and shutil.which("arping"):
        found = _arping(address, device)
        if found is not None:
            return found
    return _ping(address)


def check_cluster_ips(
    addresses: list[tuple[str, str]], interfaces: list[Interface] | None = None
) -> list[InUse]:
    """``address_in_use`` for each (address, device) the resource groups bring up."""
    known = interfaces if interfaces is not None else list_interfaces()
    return [address_in_use(address, known, device) for address, device in addresses]
