"""Capture the Pacemaker console's test fixtures from a real lab cluster (root).

Runs a three-node Corosync + Pacemaker lab (``lab.pacemaker``), loads the migrated
three-node example, walks it through the situations the console must show, and writes
what the console reads, from node alpha, into ``tests/hatui/pacemaker/fixtures/``:
``NAME.xml`` (``crm_mon --output-as=xml``), ``NAME.constraints.xml`` (``cibadmin
--query --scope constraints``), ``NAME.knet.txt`` (``corosync-cmapctl -m stats
stats.knet.``), plus ``icmap.txt``, the two log files' tails and ``versions.txt``.
The unit tests replay these (translator, timeline, view), so they test real output.

Usage: sudo python scripts/capture_pacemaker.py [OUT_DIR]   (about two minutes)
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hatui.backends.pacemaker.cmap import ICMAP_KEYS, KNET_STATS  # noqa: E402
from hatui.backends.pacemaker.crmmon import CrmMon, parse_crm_mon  # noqa: E402
from hatui.backends.pacemaker.tools import CRM_MON  # noqa: E402
from lab.netns import wait_until  # noqa: E402
from lab.pacemaker import PacemakerCluster, pacemaker_unavailable_reason  # noqa: E402
from lab.pacemaker.console import load_three_node  # noqa: E402

OUT = ROOT / "tests" / "hatui" / "pacemaker" / "fixtures"
BAD_GROUP = (
    "primitive bad-ip IPaddr2 params ip=10.99.0.250 cidr_netmask=24 nic=nosuchdev "
    "op monitor interval=10s\n"
    "primitive bad-svc lsb:hbfiles\n"
    "group rg-bad bad-ip bad-svc\n"
)
"""A group whose address cannot be configured: a fatal start failure everywhere."""
VERSION_ARGV = (["crm_mon", "--version"], ["corosync", "-v"])
CLONE = "primitive ping-dummy ocf:pacemaker:Dummy\nclone cl-dummy ping-dummy\n"


QUIET = re.compile(r"\) \s*(info|debug|trace): ")
"""Pacemaker's info, debug and trace lines."""


class Capture:
    """Writes what node alpha's tools say, under a situation's name."""

    def __init__(self, cluster: PacemakerCluster, out: Path) -> None:
        self.cluster = cluster
        self.out = out
        self.alpha = cluster["alpha"]
        self.log_start: dict[str, int] = {}

    def text(self, argv: list[str]) -> str:
        return self.alpha.tool(argv, check=False).stdout

    def snap(self, name: str, constraints: bool = False, knet: bool = False) -> str:
        xml = self.text(list(CRM_MON))
        (self.out / f"{name}.xml").write_text(xml)
        if constraints:
            text = self.text(["cibadmin", "--query", "--scope", "constraints"])
            (self.out / f"{name}.constraints.xml").write_text(text)
        if knet:
            (self.out / f"{name}.knet.txt").write_text(
                self.text(["corosync-cmapctl", "-m", "stats", KNET_STATS])
            )
        print(f"  captured {name}")
        return xml

    def series(self, name: str, done: Callable[[CrmMon], bool], timeout: float = 60.0) -> None:
        """Every distinct crm_mon document until one shows ``done``: NAME-0.xml, NAME-1.xml…
        (judged on the captured document itself, so the last file is the one that shows
        it)."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            xml = self.text(list(CRM_MON))
            body = "\n".join(line for line in xml.splitlines() if "last_update" not in line)
            if not seen or body != seen[-1]:
                seen.append(body)
                (self.out / f"{name}-{len(seen) - 1}.xml").write_text(xml)
            if done(parse_crm_mon(xml)):
                print(f"  captured {name}: {len(seen)} documents")
                return
            time.sleep(0.2)
        raise TimeoutError(f"{name}: not done in {timeout} s")


def runs_on(mon: CrmMon, group: str) -> str:
    """The one node where every member of ``group`` is active ("" otherwise)."""
    for entry in mon.groups:
        if entry.id == group:
            nodes = {n for r in entry.resources if r.active for n in r.nodes}
            everyone = all(r.active for r in entry.resources)
            return nodes.pop() if everyone and len(nodes) == 1 else ""
    return ""


def online(mon: CrmMon, node: str) -> bool:
    """Whether crm_mon reports ``node`` online."""
    return any(n.name == node and n.online for n in mon.nodes)


def standby_and_moves(cap: Capture) -> None:
    cluster, alpha = cap.cluster, cap.alpha
    alpha.tool(["crm_attribute", "--node", "alpha", "--name", "standby", "--update", "on"])
    cap.series("standby", lambda mon: runs_on(mon, "rg-hbweb") not in ("", "alpha"))
    cluster.settle()
    cap.snap("standby", constraints=True)
    alpha.tool(["crm_attribute", "--node", "alpha", "--name", "standby", "--update", "off"])
    cluster.wait_group("rg-hbweb", "alpha")
    cluster.settle()
    alpha.tool(["crm_resource", "--move", "--resource", "rg-hbweb", "--node", "charlie"])
    cluster.wait_group("rg-hbweb", "charlie")
    cluster.settle()
    cap.snap("moved", constraints=True)
    alpha.tool(["crm_resource", "--ban", "--resource", "rg-hbweb", "--node", "bravo"])
    cap.snap("banned", constraints=True)
    alpha.tool(["crm_resource", "--clear", "--resource", "rg-hbweb"])
    cluster.wait_group("rg-hbweb", "alpha")
    cluster.settle()


def failures(cap: Capture) -> None:
    cluster, alpha = cap.cluster, cap.alpha
    alpha.exec(["/etc/init.d/hbweb", "stop"])
    wait_until(lambda: cluster.failed_actions(), 30, 0.2, "monitor failure recorded")
    cluster.settle()
    path = cluster.lab.workdir / "bad.crm"
    path.write_text(BAD_GROUP)
    alpha.tool(["crm", "configure", "load", "update", str(path)])
    wait_until(lambda: len(cluster.failed_actions()) >= 2, 30, 0.2, "start failure recorded")
    cluster.settle()
    cap.snap("failed", constraints=True)
    alpha.tool(["stonith_admin", "--reboot", "bravo", "--timeout", "5"], check=False)
    cap.snap("fence-failed")
    # forget it again: later situations (the crash) are not about this attempt
    alpha.tool(["stonith_admin", "--history", "*", "--cleanup"])
    alpha.tool(["crm_resource", "--cleanup"])
    cluster.settle()
    for rsc in ("rg-bad",):
        alpha.tool(["crm_resource", "--resource", rsc, "--set-parameter", "target-role",
                    "--meta", "--parameter-value", "Stopped"])  # fmt: skip
    cluster.settle()
    alpha.tool(["crm", "configure", "delete", "rg-bad", "bad-ip", "bad-svc"], check=False)
    path.write_text(CLONE)
    alpha.tool(["crm", "configure", "load", "update", str(path)])
    cluster.settle()
    cap.snap("clone", constraints=True)
    alpha.tool(["crm_resource", "--resource", "cl-dummy", "--set-parameter", "target-role",
                "--meta", "--parameter-value", "Stopped"])  # fmt: skip
    cluster.settle()
    alpha.tool(["crm", "configure", "delete", "cl-dummy", "ping-dummy"], check=False)
    alpha.tool(["crm_resource", "--cleanup"])
    cluster.settle()


def links(cap: Capture) -> None:
    lab = cap.cluster.lab
    lab.link_down("charlie", "eth1")

    def link1_dead() -> bool:
        text = cap.text(["corosync-cmapctl", "-m", "stats", "stats.knet.node3.link1.connected"])
        return text.strip().endswith("= 0")

    wait_until(link1_dead, 30, 0.2, "knet link1 to charlie down")
    cap.snap("link-down", knet=True)
    lab.link_up("charlie", "eth1")


def crash(cap: Capture) -> None:
    cluster = cap.cluster
    cluster.crash("bravo")

    def recovered(mon: CrmMon) -> bool:
        return not online(mon, "bravo") and runs_on(mon, "rg-hbmark-ready") not in ("", "bravo")

    cap.series("crash", recovered)
    cluster.settle()
    cap.snap("crashed", constraints=True, knet=True)
    cluster.restart("bravo")
    cluster.wait_ready(90, expect=cluster.names)
    cap.snap("rejoined")
    cluster.crash("bravo")
    cluster.crash("charlie")
    wait_until(lambda: not cap.alpha.quorate(), 30, 0.2, "alpha without quorum")
    wait_until(lambda: cluster.online("alpha") == {"alpha"}, 30, 0.2, "alpha alone")
    # no-quorum-policy=stop: the partition stops what it ran
    wait_until(lambda: cluster.group_node("rg-hbweb", "alpha") is None, 30, 0.2, "stopping")
    cap.snap("no-quorum-stopping")
    cluster.settle()
    cap.snap("no-quorum")


def pacemaker_down(cap: Capture) -> None:
    """What crm_mon says on a node whose Pacemaker is stopped (its XML error)."""
    cap.alpha.stop()
    (cap.out / "down.xml").write_text(cap.text(list(CRM_MON)))
    print("  captured down")


def logs(cap: Capture) -> None:
    """Both logs since the example was loaded; Pacemaker's info/debug lines are left
    out (they are most of the file, and the console does not show them either)."""
    for which, name in (("pacemaker", "pacemaker.log"), ("corosync", "corosync.log")):
        lines = cap.alpha.log_lines(which)[cap.log_start.get(which, 0) :]
        kept = [line for line in lines if not QUIET.search(line)]
        (cap.out / name).write_text("\n".join(kept) + "\n")
    print("  captured the logs")


def main() -> int:
    reason = pacemaker_unavailable_reason()
    if reason:
        print(f"cannot capture: {reason}", file=sys.stderr)
        return 2
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    out.mkdir(parents=True, exist_ok=True)
    for old in [*out.glob("*.xml"), *out.glob("*.txt"), *out.glob("*.log")]:
        old.unlink()  # a shorter series must not leave files of an earlier run
    with PacemakerCluster() as cluster, tempfile.TemporaryDirectory() as where:
        cap = Capture(cluster, out)
        load_three_node(cluster, Path(where))
        cap.log_start = {w: len(cap.alpha.log_lines(w)) for w in ("pacemaker", "corosync")}
        cap.snap("idle", constraints=True, knet=True)
        (out / "icmap.txt").write_text(cap.text(["corosync-cmapctl", *ICMAP_KEYS]))
        versions = [cap.alpha.tool(argv).stdout.splitlines()[0] for argv in VERSION_ARGV]
        (out / "versions.txt").write_text("\n".join(versions) + "\n")
        standby_and_moves(cap)
        failures(cap)
        links(cap)
        crash(cap)
        logs(cap)
        pacemaker_down(cap)
    print(f"fixtures in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
