"""The configurations of docs/examples/ (and a three-node one), made runnable in the lab.

Each is the shipped file set with only what the lab cannot have replaced, and every
replacement is listed in :attr:`LabExample.changes` (tests print it, docs/migration.md
states it):

* addresses → the lab's 10.99.0.0/24 (the client namespace probes them);
* ``apache2`` → the lab's LSB service ``hbweb`` (apache2 is not installed here);
* NFS: ``nfs-kernel-server`` → ``hbfiles``, an LSB service serving the files of
  ``/srv/nfs`` over HTTP (this kernel has no nfsd, so no NFS server can run), and the
  shared disk ``/dev/disk/by-label/export`` → a loop device every node sees;
* STONITH lines → dropped (no IPMI boards here: with them Pacemaker would wait for ever
  for a fence that cannot succeed before it recovers a crashed node's group).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from lab.pacemaker.cluster import NODE_NAMES

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_ROOT / "docs" / "examples"
AUTHKEYS = "auth 1\n1 sha1 lab-example-secret\n"
THREE_NODE_HACF = """# three nodes, two groups: the case that outgrew two nodes
keepalive 500ms
deadtime 5
mcast eth0 239.0.0.43 694 1 0
auto_failback on
node alpha
node bravo
node charlie
"""


@dataclass
class LabExample:
    """One example as the lab runs it."""

    name: str
    config_dir: Path
    groups: dict[str, str]
    """Group id → home node, as the export names them."""
    web: dict[str, str]
    """Group id → address answering HTTP (the lab services' port) when the group runs."""
    auto_failback: bool
    changes: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    """File name → content the group must serve (``GET /NAME``), for shared-disk groups."""

    @property
    def addresses(self) -> list[str]:
        """Every lab address the groups hold (a crashed holder keeps them until reboot)."""
        return re.findall(r"10\.99\.0\.\d+", (self.config_dir / "haresources").read_text())


def _copy(name: str, where: Path) -> Path:
    target = where / name
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(EXAMPLES / name, target)
    (target / "authkeys").chmod(0o600)
    return target


def _edit(path: Path, edits: list[tuple[str, str]], changes: list[str]) -> None:
    text = path.read_text()
    for pattern, replacement in edits:
        text, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
        if count == 0:
            raise ValueError(f"{path}: {pattern!r} not found (the example changed?)")
        changes.append(f"{path.parent.name}/{path.name}: {pattern} -> {replacement or '(none)'}")
    path.write_text(text)


def web_example(where: Path) -> LabExample:
    """docs/examples/web: ``alpha IPaddr2::VIP/24/eth0 apache2``, auto_failback on."""
    config = _copy("web", where)
    changes: list[str] = []
    _edit(
        config / "haresources",
        [(r"192\.168\.10\.100", "10.99.0.200"), (r"apache2$", "hbweb")],
        changes,
    )
    return LabExample(
        "web", config, {"rg-hbweb": "alpha"}, {"rg-hbweb": "10.99.0.200"}, True, changes
    )


def nfs_example(where: Path, device: str) -> LabExample:
    """docs/examples/nfs: IPaddr + Filesystem (shared disk ``device``) + the NFS server,
    auto_failback off, IPMI fencing (dropped, see the module docstring)."""
    config = _copy("nfs", where)
    changes: list[str] = []
    _edit(
        config / "haresources",
        [
            (r"10\.0\.0\.100", "10.99.0.201"),
            (r"/dev/disk/by-label/export", device),
            (r"nfs-kernel-server$", "hbfiles"),
        ],
        changes,
    )
    _edit(config / "ha.cf", [(r"^stonith_host .*\n", "")], changes)
    return LabExample(
        "nfs",
        config,
        {"rg-hbfiles": "alpha"},
        {"rg-hbfiles": "10.99.0.201"},
        False,
        changes,
        {"exported.txt": "data on the shared disk\n"},
    )


HBMARK = """#!/bin/sh
# resource.d/hbmark NAME {start|stop|status}: a Heartbeat-style script: /run/hbmark-NAME
# while it runs; exit 0 always, status told by its text (as Heartbeat judges it).
F="${HBMARK_DIR:-/run}/hbmark-$1"
case "$2" in
start) touch "$F" ;;
stop) rm -f "$F" ;;
status) if [ -e "$F" ]; then echo "hbmark $1 running"; else echo "hbmark $1 is stopped"; fi ;;
esac
exit 0
"""


def three_node_example(where: Path) -> LabExample:
    """Three nodes, two groups on different homes (no-quorum-policy=stop matters here);
    the second runs a Heartbeat resource.d script with an argument (``hbmark::ready``),
    which Pacemaker 2 runs through the export's init-script wrapper."""
    config = where / "three"
    config.mkdir(parents=True, exist_ok=True)
    (config / "ha.cf").write_text(THREE_NODE_HACF)
    (config / "haresources").write_text(
        "alpha IPaddr2::10.99.0.202/24/eth0 hbweb\n"
        "bravo IPaddr2::10.99.0.203/24/eth0 hbmark::ready\n"
    )
    (config / "resource.d").mkdir(exist_ok=True)
    (config / "resource.d" / "hbmark").write_text(HBMARK)
    (config / "resource.d" / "hbmark").chmod(0o755)
    (config / "authkeys").write_text(AUTHKEYS)
    (config / "authkeys").chmod(0o600)
    return LabExample(
        "three",
        config,
        {"rg-hbweb": "alpha", "rg-hbmark-ready": "bravo"},
        {"rg-hbweb": "10.99.0.202"},
        True,
        [],
    )


__all__ = [
    "NODE_NAMES",
    "LabExample",
    "nfs_example",
    "three_node_example",
    "web_example",
]
