"""One Corosync + Pacemaker node of the lab: its files, daemons and tools.

See the package docstring for the layout; :class:`PacemakerNode` is the API for one
node (start/stop, crash/restart, run ``crm_mon``/``cibadmin``/``crm``/``pcs`` inside,
read its logs).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

from lab.hbweb import hbweb_script
from lab.hostns import HostNode, comm_of
from lab.netns import Lab, Node, kill_namespace_processes, wait_until

CLUSTER_NAME = "hatui-lab"
DC_DEADTIME = "2s"
DAEMONS = frozenset(
    {
        "corosync",
        "pacemakerd",
        "pacemaker-based",
        "pacemaker-fenced",
        "pacemaker-execd",
        "pacemaker-attrd",
        "pacemaker-schedul",  # comm is cut at 15 characters
        "pacemaker-contro",
    }
)
"""Command names of a node's cluster stack (corosync, pacemakerd and its six daemons)."""
LSB_SERVICES: dict[str, str] = {"hbweb": "", "hbfiles": "/srv/nfs"}
"""The lab's LSB services (``/etc/init.d/NAME``) and the directory each also serves:
``hbweb`` answers its node name on :8080; ``hbfiles`` also serves the files of
``/srv/nfs`` (the stand-in for nfs-kernel-server, whose kernel part this machine lacks)."""
PCMK_ENV = {
    "PCMK_logfile": "/var/log/pacemaker/pacemaker.log",
    "PCMK_logfacility": "none",
}
TOOLS = (
    "corosync",
    "pacemakerd",
    "crm_mon",
    "cibadmin",
    "corosync-keygen",
    "nsenter",
    "modprobe",  # ocf:heartbeat:Filesystem refuses to run without it (Debian kmod)
    "mkfs.ext4",
    "losetup",
)


def pacemaker_unavailable_reason() -> str | None:
    """Return why a Pacemaker lab cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return "the Pacemaker lab needs root (namespaces, mounts)"
    for tool in TOOLS:
        if shutil.which(tool) is None:
            return (
                f"the Pacemaker lab needs `{tool}` (Debian packages corosync, pacemaker, "
                "pacemaker-cli-utils, util-linux, kmod, e2fsprogs)"
            )
    if not Path("/usr/lib/ocf/resource.d/heartbeat/IPaddr2").exists():
        return "ocf:heartbeat:IPaddr2 is missing (Debian package resource-agents)"
    return None


@dataclass(frozen=True)
class Totem:
    """Corosync's failure-detection settings (``totem`` section).

    ``token_coefficient=None`` keeps corosync's default (650 ms per node beyond two,
    added to ``token``; running-pacemaker.md pitfall 1).
    """

    token_ms: int = 1000
    token_coefficient_ms: int | None = None

    def lines(self) -> list[str]:
        """The ``totem`` lines for these settings."""
        lines = [f"token: {self.token_ms}"]
        if self.token_coefficient_ms is not None:
            lines.append(f"token_coefficient: {self.token_coefficient_ms}")
        return lines


def corosync_conf(nodes: Sequence[Node], networks: int, totem: Totem, two_node: bool) -> str:
    """``corosync.conf`` of the lab cluster: knet with one link per lab network."""
    interfaces = "".join(
        f"    interface {{\n        linknumber: {net}\n    }}\n" for net in range(networks)
    )
    node_blocks = ""
    for node in nodes:
        rings = "".join(f"        ring{net}_addr: {node.address(net)}\n" for net in range(networks))
        node_blocks += (
            f"    node {{\n        name: {node.name}\n        nodeid: {node.index}\n{rings}    }}\n"
        )
    totem_lines = "".join(f"    {line}\n" for line in totem.lines())
    quorum = "    provider: corosync_votequorum\n" + ("    two_node: 1\n" if two_node else "")
    return (
        "# written by lab/pacemaker.py\n"
        "totem {\n    version: 2\n"
        f"    cluster_name: {CLUSTER_NAME}\n"
        "    transport: knet\n"
        "    crypto_cipher: aes256\n    crypto_hash: sha256\n"
        f"{totem_lines}{interfaces}}}\n"
        "logging {\n    fileline: off\n    to_stderr: no\n    to_logfile: yes\n"
        "    logfile: /var/log/cluster/corosync.log\n    to_syslog: no\n"
        "    timestamp: hires\n    debug: off\n}\n"
        f"quorum {{\n{quorum}}}\n"
        f"nodelist {{\n{node_blocks}}}\n"
    )


def lab_properties(dc_deadtime: str) -> str:
    """The lab's ``cib-bootstrap-options``: fast first election, no fencing (no device)."""
    return (
        '<cluster_property_set id="cib-bootstrap-options">'
        '<nvpair id="cib-bootstrap-options-dc-deadtime" name="dc-deadtime" '
        f'value="{dc_deadtime}"/>'
        '<nvpair id="cib-bootstrap-options-stonith-enabled" name="stonith-enabled" '
        'value="false"/>'
        "</cluster_property_set>"
    )


def seed_cib(dc_deadtime: str) -> str:
    """The CIB every node starts with (:func:`lab_properties`, nothing else)."""
    return (
        '<cib crm_feature_set="3.0.14" validate-with="pacemaker-3.0" epoch="1" '
        'num_updates="0" admin_epoch="0">\n'
        f"  <configuration>\n    <crm_config>{lab_properties(dc_deadtime)}</crm_config>\n"
        "    <nodes/>\n    <resources/>\n    <constraints/>\n"
        "  </configuration>\n  <status/>\n</cib>\n"
    )


class PacemakerNode(HostNode):
    """One Corosync + Pacemaker "host" in a lab node (see the module docstring)."""

    def __init__(self, lab: Lab, node: Node | str) -> None:
        name = lab.node(node).name
        super().__init__(lab, node, lab.workdir / name / "pcmk")
        self.corosync_dir = self.root / "etc-corosync"
        self.initd_dir = self.root / "etc-init.d"
        self.corosync_lib = self.root / "var-lib-corosync"
        self.pacemaker_lib = self.root / "var-lib-pacemaker"
        self.log_dir = self.root / "var-log"
        self.srv_dir = self.root / "srv"
        self._pacemakerd: subprocess.Popen[bytes] | None = None

    # -- file system ----------------------------------------------------------------

    def _copy_trees(self) -> None:
        for path in (self.corosync_dir, self.corosync_lib, self.srv_dir):
            path.mkdir(parents=True, exist_ok=True)
        if not self.initd_dir.exists():
            shutil.copytree("/etc/init.d", self.initd_dir, symlinks=True)
        for service, docroot in LSB_SERVICES.items():
            script = self.initd_dir / service
            script.write_text(hbweb_script(lsb=True, docroot=docroot))
            script.chmod(0o755)
        for sub in ("cib", "pengine", "blackbox", "cores"):
            (self.pacemaker_lib / sub).mkdir(parents=True, exist_ok=True)
        for sub in ("cluster", "pacemaker", "crmsh"):
            (self.log_dir / sub).mkdir(parents=True, exist_ok=True)
        shutil.chown(self.pacemaker_lib, "hacluster", "haclient")
        for path in self.pacemaker_lib.iterdir():
            shutil.chown(path, "hacluster", "haclient")
            path.chmod(0o750)
        shutil.chown(self.log_dir / "pacemaker", "hacluster", "haclient")

    def _setup_script(self) -> str:
        return "\n".join(
            [
                f"hostname {self.name}",
                "mount -t sysfs sysfs /sys",
                f"mount --bind {self.corosync_dir} /etc/corosync",
                f"mount --bind {self.initd_dir} /etc/init.d",
                f"mount --bind {self.corosync_lib} /var/lib/corosync",
                f"mount --bind {self.pacemaker_lib} /var/lib/pacemaker",
                f"mount --bind {self.log_dir} /var/log",
                f"mount --bind {self.srv_dir} /srv",
                _RUNTIME_SETUP,
            ]
        )

    def write_config(self, conf: str, authkey: bytes, cib: str) -> None:
        """Install ``corosync.conf``, the shared ``authkey`` and the seed CIB."""
        (self.corosync_dir / "corosync.conf").write_text(conf)
        key = self.corosync_dir / "authkey"
        key.write_bytes(authkey)
        key.chmod(0o400)
        cib_file = self.pacemaker_lib / "cib" / "cib.xml"
        if not cib_file.exists():
            cib_file.write_text(cib)
            shutil.chown(cib_file, "hacluster", "haclient")
            cib_file.chmod(0o600)

    def reset_runtime(self) -> None:
        """Empty ``/run`` and ``/dev/shm`` (what a reboot does) before a restart."""
        self.exec(["sh", "-c", _RUNTIME_RESET + "\n" + _RUNTIME_SETUP], timeout=20)

    # -- daemons --------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> None:
        """Start corosync (it daemonizes) and pacemakerd (kept in the background)."""
        self.start_corosync(timeout)
        self.start_pacemaker()

    def start_corosync(self, timeout: float = 30.0) -> None:
        """Start corosync and wait until its configuration service answers."""
        self.exec(["corosync"], timeout=timeout)
        wait_until(
            lambda: self.exec(["corosync-cfgtool", "-s"], check=False).returncode == 0,
            timeout,
            0.05,
            f"{self.name}: corosync answering",
        )

    def start_pacemaker(self) -> None:
        """Start pacemakerd in its own session; its output goes to the node's log dir."""
        out = (self.log_dir / "pacemaker" / "pacemakerd.out").open("ab")
        with out:
            self._pacemakerd = self.popen(
                ["setsid", "pacemakerd"],
                env=PCMK_ENV,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def stop(self, timeout: float = 60.0) -> None:
        """Graceful stop: pacemakerd (resources stopped or moved), then corosync."""
        self._signal({"pacemakerd"}, signal.SIGTERM)
        wait_until(
            lambda: not (set(map(comm_of, self.daemon_pids())) - {"corosync"}),
            timeout,
            0.1,
            f"{self.name}: pacemaker gone",
        )
        self._signal({"corosync"}, signal.SIGTERM)
        wait_until(lambda: not self.daemon_pids(), timeout, 0.1, f"{self.name}: corosync gone")
        self._reap()

    def crash(self) -> float:
        """SIGKILL everything in the node and pull its cables; the monotonic crash time."""
        crashed = self.lab.kill_node(self.node)
        self._reap()
        return crashed

    def restart(self, forget: Sequence[str] = (), timeout: float = 30.0) -> None:
        """ "Reboot" a crashed node: addresses in ``forget`` dropped, cables back, empty
        ``/run`` and ``/dev/shm``, the stack started again."""
        self.lab.revive_node(self.node, forget=forget)
        self.reset_runtime()
        self.start(timeout)

    def _signal(self, names: set[str], sig: int) -> None:
        for pid in self.daemon_pids():
            if comm_of(pid) in names:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)

    def _reap(self) -> None:
        if self._pacemakerd is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._pacemakerd.wait(5)
            self._pacemakerd = None

    def daemon_pids(self) -> list[int]:
        """Pids of corosync, pacemakerd and Pacemaker's daemons in this node."""
        return [pid for pid in self.node.pids() if comm_of(pid) in DAEMONS]

    def close(self) -> None:
        """Kill everything in the node and release its namespaces (idempotent)."""
        kill_namespace_processes(self.node.namespace)
        self._reap()
        super().close()

    # -- administration (Pacemaker's own tools, run inside the node) ------------------

    def tool(
        self,
        argv: Sequence[str],
        check: bool = True,
        timeout: float = 30.0,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a cluster tool inside the node (``crm_mon``, ``cibadmin``, ``crm``, ``pcs``)."""
        return self.exec(argv, check=check, timeout=timeout, env={"HOME": "/root"}, stdin=stdin)

    def crm_mon(self) -> ET.Element:
        """``crm_mon --output-as=xml``: the cluster as this node sees it.

        Raises:
            RuntimeError: crm_mon failed (pacemaker not running or not connected).
        """
        proc = self.tool(["crm_mon", "--one-shot", "--output-as=xml"], check=False)
        if not proc.stdout.strip().startswith("<"):
            raise RuntimeError(f"[{self.name}] crm_mon: {(proc.stderr or proc.stdout).strip()}")
        return ET.fromstring(proc.stdout)

    def cibadmin(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """``cibadmin ARGS`` inside the node (not checked: callers read the return code)."""
        return self.tool(["cibadmin", *args], check=False, stdin=stdin)

    def quorate(self) -> bool:
        """True when corosync's votequorum says this node's partition is quorate."""
        proc = self.exec(["corosync-quorumtool", "-s"], check=False)
        return any(
            line.split(":", 1)[1].strip() == "Yes"
            for line in proc.stdout.splitlines()
            if line.startswith("Quorate:")
        )

    def cmap(self, key: str) -> str:
        """One corosync cmap value (``corosync-cmapctl -g KEY``), e.g. the runtime token."""
        out = self.exec(["corosync-cmapctl", "-g", key]).stdout.strip()
        return out.rsplit("=", 1)[1].strip()

    # -- logs -----------------------------------------------------------------------

    @property
    def corosync_log(self) -> Path:
        """Host path of the node's ``/var/log/cluster/corosync.log``."""
        return self.log_dir / "cluster" / "corosync.log"

    @property
    def pacemaker_log(self) -> Path:
        """Host path of the node's ``/var/log/pacemaker/pacemaker.log``."""
        return self.log_dir / "pacemaker" / "pacemaker.log"

    def log_lines(self, which: str = "pacemaker") -> list[str]:
        """Lines of the node's pacemaker (or ``corosync``) log."""
        path = self.corosync_log if which == "corosync" else self.pacemaker_log
        return path.read_text(errors="replace").splitlines() if path.exists() else []


_RUNTIME_SETUP = "\n".join(
    [
        "mountpoint -q /run || mount -t tmpfs -o mode=0755 tmpfs /run",
        "mountpoint -q /dev/shm || mount -t tmpfs -o mode=1777 tmpfs /dev/shm",
        "mkdir -p /run/lock /run/resource-agents /run/crm /run/corosync",
        "chown hacluster:haclient /run/crm",
    ]
)
_RUNTIME_RESET = "\n".join(
    [
        # A reboot loses the file systems the node had mounted (the shared disk).
        "awk '$2 ~ \"^/srv/\" {print $2}' /proc/mounts | sort -r | xargs -r umount -l",
        "rm -rf /run/* /dev/shm/*",
    ]
)
