"""Real fencing for the Pacemaker lab: a power switch and a fence device that uses it.

The lab's power switch (``lab.powerswitch``: a TCP service in its own namespace that
"power-cycles" a node: every process killed, links down and addresses flushed, links
back after ``off_time``) is plugged into a lab network. Every node gets the
cluster-glue external STONITH plugin ``external/labswitch``
(``tests/stonith/scripts/labswitch``, the one the engine's fencing tests use) in its own
copy of ``/usr/lib/stonith/plugins/external``, bind-mounted in the node's mount
namespace (the host's directory is not touched). Pacemaker then runs it as the fence
device ``fence-lab`` (class ``stonith:external/labswitch``), so ``stonith_admin --reboot``
really resets a node. A reset node comes back with nothing running: restart its stack
with :meth:`PacemakerCluster.restart`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from lab.engine import REPO_ROOT
from lab.netns import wait_until
from lab.pacemaker.cluster import PacemakerCluster
from lab.powerswitch import PORT, PowerSwitch

PLUGIN = REPO_ROOT / "tests" / "stonith" / "scripts" / "labswitch"
PLUGIN_DIR = "/usr/lib/stonith/plugins/external"
DEVICE = "fence-lab"


class LabFencing:
    """The switch, the plugin in every node and the ``fence-lab`` device in the CIB."""

    def __init__(self, cluster: PacemakerCluster, network: int = 1, off_time: float = 1.0):
        self.cluster = cluster
        self.switch = PowerSwitch(cluster.lab, network, off_time)

    def install(self) -> None:
        """Start the switch; give every node the plugin (idempotent)."""
        self.switch.start()
        for node in self.cluster.nodes.values():
            copy = plugin_dir(node.root)
            if not copy.exists():
                shutil.copytree(PLUGIN_DIR, copy, symlinks=True)
                shutil.copy(PLUGIN, copy / "labswitch")
                (copy / "labswitch").chmod(0o755)
            mounted = node.exec(["mountpoint", "-q", PLUGIN_DIR], check=False).returncode == 0
            if not mounted:
                node.exec(["mount", "--bind", str(copy), PLUGIN_DIR])

    def enable(self, timeout: float = 60.0) -> None:
        """Configure ``fence-lab`` and ``stonith-enabled=true``; wait until it runs."""
        self.install()
        hosts = " ".join(self.cluster.names)
        params = {"ipaddr": self.switch.address, "port": str(PORT), "hostlist": hosts}
        nvpairs = "".join(
            f'<nvpair id="{DEVICE}-{name}" name="{name}" value="{value}"/>'
            for name, value in params.items()
        )
        # cibadmin, not crm: the plugin's metadata declares no parameters, and crmsh
        # refuses parameters it does not know
        xml = (
            f'<primitive id="{DEVICE}" class="stonith" type="external/labswitch">'
            f'<instance_attributes id="{DEVICE}-params">{nvpairs}</instance_attributes>'
            f'<operations><op id="{DEVICE}-monitor" name="monitor" interval="30s"/></operations>'
            "</primitive>"
        )
        node = self.cluster.alive()[0]
        node.tool(["cibadmin", "--create", "--scope", "resources", "--xml-text", xml])
        node.tool(["crm_attribute", "--name", "stonith-enabled", "--update", "true"])
        wait_until(self.running, timeout, 0.2, f"{DEVICE} started")

    def running(self) -> bool:
        """True while the device is started somewhere."""
        state = self.cluster.resources().get(DEVICE)
        return state is not None and state.role == "Started"

    def disable(self, timeout: float = 60.0) -> None:
        """``stonith-enabled=false``, the device removed, the switch stopped."""
        node = self.cluster.alive()[0]
        node.tool(["crm_attribute", "--name", "stonith-enabled", "--update", "false"])
        node.tool(["crm_resource", "--resource", DEVICE, "--set-parameter", "target-role",
                   "--meta", "--parameter-value", "Stopped"], check=False)  # fmt: skip
        wait_until(lambda: not self.running(), timeout, 0.2, f"{DEVICE} stopped")
        device = f'<primitive id="{DEVICE}"/>'
        node.tool(["cibadmin", "--delete", "--xml-text", device], check=False)
        node.tool(["stonith_admin", "--history", "*", "--cleanup"], check=False)
        self.switch.stop()

    def resets(self) -> list[str]:
        """The nodes the switch reset, in order."""
        return self.switch.resets()


def plugin_dir(root: Path) -> Path:
    """Where a node's copy of the plugin directory lives (under its lab directory)."""
    return root / "stonith-external"
