"""The lab cluster: nodes, switch and client; readiness read from Pacemaker itself."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from xml.etree import ElementTree as ET

from lab.hbweb import PORT
from lab.hostns import comm_of, release_namespace_files
from lab.netns import HttpReply, Lab, kill_namespace_processes, run, wait_until
from lab.pacemaker.node import (
    DC_DEADTIME,
    PacemakerNode,
    Totem,
    corosync_conf,
    lab_properties,
    seed_cib,
)

NODE_NAMES = ("alpha", "bravo", "charlie")
LOAD_COMMANDS: dict[str, tuple[str, ...]] = {
    "cib": ("cibadmin", "--replace", "--scope", "configuration", "--xml-file"),
    "crm": ("crm", "configure", "load", "replace"),
    "pcs": ("sh",),
}
"""How each ``hactl export pacemaker --format`` output is loaded (its header says so)."""


@dataclass
class ResourceState:
    """One primitive as ``crm_mon`` reports it."""

    id: str
    role: str
    nodes: tuple[str, ...]
    failed: bool


class PacemakerCluster:
    """Three (or more) Pacemaker nodes in a lab, one switch and one HTTP client.

    Args:
        names: node names (``alpha``, ``bravo``, ``charlie`` match docs/examples).
        networks: lab networks, each a knet link.
        totem: corosync token settings.
        two_node: ``quorum { two_node: 1 }`` (only for two names).
        prefix / workdir: a fixed lab prefix and directory (the ``up`` command), else a
            per-process lab removed with this object.
    """

    def __init__(
        self,
        names: Sequence[str] = NODE_NAMES,
        networks: int = 2,
        totem: Totem | None = None,
        two_node: bool = False,
        dc_deadtime: str = DC_DEADTIME,
        prefix: str | None = None,
        workdir: Path | None = None,
    ) -> None:
        self.lab = Lab(list(names), networks=networks, workdir=workdir, prefix=prefix)
        self.totem = totem or Totem()
        self.two_node = two_node
        self.dc_deadtime = dc_deadtime
        self.nodes: dict[str, PacemakerNode] = {
            name: PacemakerNode(self.lab, name) for name in names
        }
        self.loop_devices: list[str] = []

    def __enter__(self) -> PacemakerCluster:
        self.up()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.down()

    def __getitem__(self, name: str) -> PacemakerNode:
        return self.nodes[name]

    @property
    def names(self) -> list[str]:
        """Node names in nodeid order."""
        return list(self.nodes)

    # -- lifecycle ------------------------------------------------------------------

    def up(self, timeout: float = 90.0) -> float:
        """Build the lab, start every node and wait for a DC with all nodes online.

        Returns:
            seconds from the first corosync start to "all online, DC idle".
        """
        self.build()
        try:
            return self.start(timeout)
        except BaseException:
            self.down()
            raise

    def build(self) -> None:
        """Namespaces, per-node file systems and configuration; nothing started (the
        migration runbook runs hatui on these hosts first)."""
        self.lab.start()
        try:
            self._configure()
        except BaseException:
            self.down()
            raise

    def start(self, timeout: float = 90.0) -> float:
        """Start corosync everywhere, wait for quorum, start pacemaker, wait until ready;
        the seconds that took."""
        started = time.monotonic()
        for node in self.nodes.values():
            node.start_corosync(timeout)
        for node in self.nodes.values():
            wait_until(node.quorate, timeout, 0.05, f"{node.name}: quorate")
        for node in self.nodes.values():
            node.start_pacemaker()
        self.wait_ready(timeout)
        return time.monotonic() - started

    def _configure(self) -> None:
        key = self.lab.workdir / "authkey"
        if not key.exists():
            run(["corosync-keygen", "-l", "-k", str(key)], timeout=30)
        conf = corosync_conf(
            list(self.lab.nodes.values()), self.lab.networks, self.totem, self.two_node
        )
        for node in self.nodes.values():
            node.prepare()
            node.write_config(conf, key.read_bytes(), seed_cib(self.dc_deadtime))

    def down(self) -> None:
        """Kill every node, release namespaces, loop devices and the lab (idempotent)."""
        for node in self.nodes.values():
            with contextlib.suppress(Exception):
                node.close()
        for device in self.loop_devices:
            subprocess.run(["losetup", "-d", device], capture_output=True)
        self.loop_devices.clear()
        self.lab.close()

    # -- state ----------------------------------------------------------------------

    def alive(self) -> list[PacemakerNode]:
        """Nodes whose stack runs (pacemakerd present)."""
        return [n for n in self.nodes.values() if "pacemakerd" in map(comm_of, n.daemon_pids())]

    def crm_mon(self, via: str | None = None) -> ET.Element:
        """``crm_mon`` XML from ``via`` or from the first live node."""
        nodes = [self.nodes[via]] if via else self.alive()
        if not nodes:
            raise RuntimeError("no node of the cluster is running")
        return nodes[0].crm_mon()

    def online(self, via: str | None = None) -> set[str]:
        """Names of the nodes Pacemaker reports online."""
        mon = self.crm_mon(via)
        return {n.attrib["name"] for n in mon.iterfind("nodes/node") if n.get("online") == "true"}

    def dc(self, via: str | None = None) -> str | None:
        """The current DC's name, None while there is none."""
        dc = self.crm_mon(via).find("summary/current_dc")
        if dc is None or dc.get("present") != "true":
            return None
        return dc.get("name")

    def wait_ready(self, timeout: float = 60.0, expect: Sequence[str] = ()) -> None:
        """Wait until exactly ``expect`` (default: the nodes whose stack runs) is online
        as seen from each of them, and the DC has settled (``S_IDLE``)."""

        def ready() -> bool:
            wanted = set(expect or [n.name for n in self.alive()])
            for name in wanted:
                if self.online(name) != wanted:
                    return False
            return self.dc_state() == "S_IDLE"

        wait_until(ready, timeout, 0.1, "pacemaker: DC idle, nodes online", (RuntimeError,))

    def dc_state(self) -> str | None:
        """The DC controller's state (``S_IDLE`` once settled), None without a DC."""
        dc = self.dc()
        if dc is None or dc not in self.nodes:
            return None
        out = self.nodes[dc].tool(["crmadmin", "--quiet", "--status", dc], check=False)
        words = (out.stdout + out.stderr).split()
        return words[0] if words else None

    def resources(self, via: str | None = None) -> dict[str, ResourceState]:
        """Every primitive (in groups too) by id."""
        found: dict[str, ResourceState] = {}
        for rsc in self.crm_mon(via).iter("resource"):
            found[rsc.attrib["id"]] = ResourceState(
                rsc.attrib["id"],
                rsc.get("role", ""),
                tuple(n.attrib["name"] for n in rsc.iterfind("node")),
                rsc.get("failed") == "true",
            )
        return found

    def group_node(self, group: str, via: str | None = None) -> str | None:
        """The node where every member of ``group`` is Started, else None."""
        mon = self.crm_mon(via)
        elem = mon.find(f"resources/group[@id='{group}']")
        if elem is None:
            return None
        where: set[str] = set()
        for rsc in elem.iterfind("resource"):
            nodes = [n.attrib["name"] for n in rsc.iterfind("node")]
            if rsc.get("role") != "Started" or len(nodes) != 1:
                return None
            where.add(nodes[0])
        return where.pop() if len(where) == 1 else None

    def wait_group(
        self, group: str, node: str | None = None, timeout: float = 60.0, not_on: str = ""
    ) -> str:
        """Wait until ``group`` runs whole on one node (``node`` if given, never
        ``not_on``); its name."""

        def placed() -> str | None:
            where = self.group_node(group)
            ok = where and where != not_on and (node is None or where == node)
            return where if ok else None

        return wait_until(placed, timeout, 0.1, f"group {group} started", (RuntimeError,))

    def settle(self, timeout: float = 60.0) -> None:
        """``crm_resource --wait``: until the cluster has no pending actions."""
        node = self.alive()[0]
        node.tool(["crm_resource", "--wait", f"--timeout={int(timeout)}s"], timeout=timeout + 10)

    def runtime_token(self, via: str | None = None) -> tuple[int, int]:
        """Corosync's runtime ``(token, consensus)`` in ms (not the configured values)."""
        node = self.nodes[via] if via else self.alive()[0]
        return (
            int(node.cmap("runtime.config.totem.token")),
            int(node.cmap("runtime.config.totem.consensus")),
        )

    def failed_actions(self, via: str | None = None) -> list[dict[str, str]]:
        """Failed operations as crm_mon lists them."""
        return [dict(f.attrib) for f in self.crm_mon(via).iterfind("failures/failure")]

    # -- configuration --------------------------------------------------------------

    def load(self, fmt: str, text: str, via: str | None = None) -> None:
        """Load an exported configuration the way its format says (``LOAD_COMMANDS``).

        Raises:
            RuntimeError: the load command failed (its output in the message).
        """
        node = self.nodes[via] if via else self.alive()[0]
        path = self.lab.workdir / f"export-{fmt}.{'xml' if fmt == 'cib' else fmt}"
        path.write_text(text)
        node.tool([*LOAD_COMMANDS[fmt], str(path)], timeout=120)

    def install_wrappers(self, scripts: Mapping[str, str]) -> None:
        """Put the export's init-script wrappers into every node's ``/etc/init.d``."""
        for node in self.nodes.values():
            for name, text in scripts.items():
                path = node.initd_dir / name
                path.write_text(text)
                path.chmod(0o755)

    def clear(self, timeout: float = 60.0) -> None:
        """Remove every resource and constraint and restore the lab's properties (what a
        fresh cluster has); returns once everything has stopped."""
        node = self.alive()[0]
        for scope, xml in (
            ("constraints", "<constraints/>"),  # first: they refer to resources by IDREF
            ("resources", "<resources/>"),
            ("crm_config", f"<crm_config>{lab_properties(self.dc_deadtime)}</crm_config>"),
        ):
            node.tool(["cibadmin", "--replace", "--scope", scope, "--xml-text", xml])
        node.tool(["cibadmin", "--delete", "--xml-text", "<rsc_defaults/>"], check=False)
        node.tool(["cibadmin", "--delete", "--xml-text", "<op_defaults/>"], check=False)
        self.settle(timeout)

    def configuration(self, via: str | None = None) -> ET.Element:
        """The live ``<configuration>`` section (``cibadmin --query --scope configuration``)."""
        node = self.nodes[via] if via else self.alive()[0]
        return ET.fromstring(node.tool(["cibadmin", "--query", "--scope", "configuration"]).stdout)

    # -- the service ----------------------------------------------------------------

    def http_get(self, ip: str, path: str = "/", timeout: float = 1.0) -> HttpReply | None:
        """GET from the client namespace on the lab services' port."""
        return self.lab.http_get(ip, PORT, path, timeout)

    def served_by(self, ip: str, timeout: float = 0.5) -> str | None:
        """Who answers HTTP on ``ip`` (the lab services answer their node name)."""
        reply = self.http_get(ip, timeout=timeout)
        return reply.body if reply is not None and reply.status == 200 else None

    def wait_served(self, ip: str, body: str, timeout: float, interval: float = 0.01) -> float:
        """Monotonic time of the first 200 answer ``body`` on ``ip`` (overlapping probes)."""
        return self.lab.wait_http_body(ip, PORT, body, timeout, interval)

    def shared_disk(
        self, files: Mapping[str, str], label: str = "export", size_mb: int = 16
    ) -> str:
        """A loop device with an ext4 file system holding ``files``, visible to every node:
        the lab's shared disk for ``ocf:heartbeat:Filesystem``. Removed by :meth:`down`."""
        image = self.lab.workdir / f"{label}.img"
        content = self.lab.workdir / f"{label}.content"
        content.mkdir(exist_ok=True)
        for name, text in files.items():
            (content / name).write_text(text)
        with image.open("wb") as handle:
            handle.truncate(size_mb << 20)
        run(["mkfs.ext4", "-q", "-F", "-L", label, "-d", str(content), str(image)], timeout=60)
        device = run(["losetup", "--find", "--show", str(image)]).strip()
        self.loop_devices.append(device)
        return device

    # -- faults ---------------------------------------------------------------------

    def crash(self, name: str) -> float:
        """SIGKILL the node's every process and pull its cables; the crash time."""
        return self.nodes[name].crash()

    def restart(self, name: str, forget: Sequence[str] = ()) -> None:
        """Bring a crashed node back (see :meth:`PacemakerNode.restart`)."""
        self.nodes[name].restart(forget)

    # -- the ``up``/``down`` command's record ---------------------------------------

    def record(self, path: Path) -> None:
        """Write what ``down``/``exec`` need to find this cluster again."""
        path.parent.mkdir(parents=True, exist_ok=True)
        info = {
            "prefix": self.lab.prefix,
            "workdir": str(self.lab.workdir),
            "names": self.names,
            "networks": self.lab.networks,
            "loop_devices": self.loop_devices,
        }
        path.write_text(json.dumps(info, indent=2) + "\n")


def remove_recorded(info: Mapping[str, object]) -> None:
    """Tear down a cluster known only from its record (or from its leftovers)."""
    prefix = str(info["prefix"])
    workdir = Path(str(info["workdir"]))
    names = [str(n) for n in info.get("names", NODE_NAMES)]  # type: ignore[attr-defined]
    for name in [*names, "client", "sw"]:
        namespace = f"{prefix}-{name}"
        kill_namespace_processes(namespace)
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
    for name in names:
        release_namespace_files(workdir / name / "pcmk" / "ns")
    for device in info.get("loop_devices", []):  # type: ignore[attr-defined]
        subprocess.run(["losetup", "-d", str(device)], capture_output=True)
    shutil.rmtree(workdir, ignore_errors=True)


_LEFTOVER = re.compile(r"/hl(\d+)x\d+-[^/]+/")


def _dead_owner(path: str) -> bool:
    """True when ``path`` lies in a per-process lab directory whose process is gone."""
    match = _LEFTOVER.search(path)
    return match is not None and not Path(f"/proc/{match.group(1)}").exists()


def remove_leftovers() -> list[str]:
    """Release what crashed per-process Pacemaker labs left: namespace-file mounts, loop
    devices and work directories. (``lab.netns`` removes their network namespaces and kills what ran
    inside; the mount namespaces live on as bind mounts under the dead lab's work
    directory, the shared disks as loop devices.)"""
    removed: list[str] = []
    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    for mount_point in sorted(mounts, key=len, reverse=True):
        if "/pcmk/ns" in mount_point and _dead_owner(mount_point):
            subprocess.run(["umount", "-l", mount_point], capture_output=True)
            removed.append(mount_point)
    listing = run(["losetup", "--json", "--list"], check=False).strip()
    for device in json.loads(listing or "{}").get("loopdevices", []):
        if _dead_owner(str(device.get("back-file") or "")):
            subprocess.run(["losetup", "-d", device["name"]], capture_output=True)
            removed.append(device["name"])
    for workdir in Path(tempfile.gettempdir()).glob("hl*x*-*"):
        if _dead_owner(f"/{workdir.name}/") and any(workdir.glob("*/pcmk")):
            shutil.rmtree(workdir, ignore_errors=True)
            removed.append(str(workdir))
    return removed
