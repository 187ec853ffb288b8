"""``python -m lab.pacemaker up|down|exec``: a lab cluster that outlives the command.

``up`` records the cluster in ``/run/hatui-pcmk-lab/NAME.json``; ``down`` reads it and
removes everything (and the leftovers of crashed per-process labs); ``exec NODE -- CMD``
runs a command inside a node (``crm_mon -1``, ``crm configure show``, a shell);
``console NODE`` runs ``hatui --pacemaker`` inside it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from lab.engine import REPO_ROOT, repo_pythonpath
from lab.hostns import clean_env
from lab.netns import remove_leftover_namespaces
from lab.pacemaker.cluster import NODE_NAMES, PacemakerCluster, remove_leftovers, remove_recorded
from lab.pacemaker.node import DC_DEADTIME, Totem, pacemaker_unavailable_reason

STATE_DIR = Path("/run/hatui-pcmk-lab")
"""Where ``up`` records a cluster for ``down`` / ``exec``."""


def _record_path(name: str) -> Path:
    return STATE_DIR / f"{name}.json"


def _load_record(name: str) -> dict[str, object]:
    path = _record_path(name)
    if not path.exists():
        raise SystemExit(f"no Pacemaker lab named {name!r} is up ({path} missing)")
    return dict(json.loads(path.read_text()))


def cmd_up(args: argparse.Namespace) -> int:
    """Start a named cluster that outlives this command."""
    if (reason := pacemaker_unavailable_reason()) is not None:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    if _record_path(args.name).exists():
        print(f"lab {args.name!r} is up already (down it first)", file=sys.stderr)
        return 1
    workdir = Path(args.workdir or f"/var/tmp/hatui-pcmk-{args.name}")
    workdir.mkdir(parents=True, exist_ok=True)
    cluster = PacemakerCluster(
        names=args.nodes.split(","),
        totem=Totem(args.token, args.token_coefficient),
        prefix=f"pcmk{args.name}",
        workdir=workdir,
    )
    took = cluster.up()
    cluster.record(_record_path(args.name))
    token, consensus = cluster.runtime_token()
    print(f"lab {args.name!r} up in {took:.1f} s: nodes {', '.join(cluster.names)}")
    print(f"  runtime token {token} ms, consensus {consensus} ms, dc-deadtime {DC_DEADTIME}")
    print(f"  namespaces {cluster.lab.prefix}-<node>, client {cluster.lab.client}")
    print(f"  work dir {workdir} (logs: <node>/pcmk/var-log)")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    """Tear a named cluster down (and whatever dead per-process labs left)."""
    path = _record_path(args.name)
    if path.exists():
        remove_recorded(_load_record(args.name))
        path.unlink()
        print(f"lab {args.name!r} down")
    # Labs of crashed test processes: their namespaces (and what ran inside) first, then
    # the mounts and loop disks those left.
    removed = remove_leftover_namespaces() + remove_leftovers()
    if removed:
        print(f"removed leftovers: {', '.join(removed)}")
    return 0


def _nsenter(name: str, node: str) -> list[str]:
    """``nsenter …`` into ``node`` of the cluster recorded as ``name``."""
    info = _load_record(name)
    ns_dir = Path(str(info["workdir"])) / node / "pcmk" / "ns"
    return [
        "nsenter",
        f"--net=/run/netns/{info['prefix']}-{node}",
        f"--mount={ns_dir / 'mnt'}",
        f"--uts={ns_dir / 'uts'}",
        f"--ipc={ns_dir / 'ipc'}",
        "--",
    ]


def cmd_exec(args: argparse.Namespace) -> int:
    """Run a command inside one node of a named cluster."""
    argv = [*_nsenter(args.name, args.node), *(args.argv or ["sh"])]
    return subprocess.run(argv, env=clean_env({"HOME": "/root", "TERM": "xterm"})).returncode


def cmd_console(args: argparse.Namespace) -> int:
    """``hatui --pacemaker`` inside one node (this checkout, this Python)."""
    hatui = [sys.executable, "-m", "hatui", "--pacemaker", *args.argv]
    env = clean_env(
        {"HOME": "/root", "TERM": os.environ.get("TERM", "xterm-256color"),
         "PYTHONPATH": repo_pythonpath()}
    )  # fmt: skip
    return subprocess.run(
        [*_nsenter(args.name, args.node), *hatui], env=env, cwd=REPO_ROOT
    ).returncode


def main(argv: list[str] | None = None) -> int:
    """``python -m lab.pacemaker up|down|exec``."""
    parser = argparse.ArgumentParser(
        prog="python -m lab.pacemaker", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--name", default="lab", help="lab name (default: lab)")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start a three-node cluster")
    up.add_argument("--nodes", default=",".join(NODE_NAMES))
    up.add_argument("--token", type=int, default=1000, help="corosync token (ms)")
    up.add_argument("--token-coefficient", type=int, default=None)
    up.add_argument("--workdir", default=None)
    up.set_defaults(func=cmd_up)
    down = sub.add_parser("down", help="tear it down (also leftovers of crashed tests)")
    down.set_defaults(func=cmd_down)
    ex = sub.add_parser("exec", help="run a command in a node: exec NODE -- CMD...")
    ex.add_argument("node")
    ex.add_argument("argv", nargs=argparse.REMAINDER)
    ex.set_defaults(func=cmd_exec)
    console = sub.add_parser(
        "console", help="the Pacemaker console inside a node: console NODE [-- --once ...]"
    )
    console.add_argument("node")
    console.add_argument("argv", nargs=argparse.REMAINDER)
    console.set_defaults(func=cmd_console)
    args = parser.parse_args(argv)
    if getattr(args, "argv", None) and args.argv[0] == "--":
        args.argv = args.argv[1:]
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
