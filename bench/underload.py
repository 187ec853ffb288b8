"""Heartbeat 3.0.6 against hatui under stress: CPU hogs, packet loss, false deaths.

For each setting and implementation, on a fresh two-node cluster (same configuration as
``bench/compare.py``, ``realtime on``):

1. false deaths: for ``--seconds`` (the issue asks for 600), with ``--hogs`` busy-loop
   processes (``stress-ng`` is not required) and ``--loss`` % random drop on every node
   link (netem, or the lab's NFQUEUE emulator), count the times either node declared the
   other dead (``node X: is dead`` in its log) although both ran all along;
2. crash under load: with the hogs still running and the loss still applied, crash
   alpha and time crash → VIP answers HTTP from bravo.

``sudo python bench/underload.py --settings 20ms/100ms --seconds 600 --hogs 8``
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab import Lab, engine_importable, lab_unavailable_reason
from lab.cluster import Timers
from lab.mixed import PROFILES, Kind, MixedCluster
from lab.realhb import realhb_unavailable_reason

EXTRA_PROFILES: dict[str, Timers] = {
    "50ms/250ms": Timers("50ms", "250ms", "150ms", "2"),
    "20ms/100ms": Timers("20ms", "100ms", "60ms", "2"),
    "10ms/50ms": Timers("10ms", "50ms", "30ms", "2"),
}
ALL_PROFILES = {**PROFILES, **EXTRA_PROFILES}
KINDS: tuple[Kind, Kind] = ("heartbeat", "hatui")


def _spin() -> None:
    """Burn one CPU forever (a hog)."""
    os.nice(0)
    while True:
        pass


@contextmanager
def cpu_hogs(count: int) -> Iterator[list[int]]:
    """Run ``count`` busy-loop processes for the duration of the block."""
    procs = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(count)]
    for proc in procs:
        proc.start()
    try:
        yield [proc.pid for proc in procs if proc.pid is not None]
    finally:
        for proc in procs:
            if proc.pid is not None:
                os.kill(proc.pid, signal.SIGKILL)
            proc.join(5)


def false_deaths(cluster: MixedCluster, mark: dict[str, int]) -> int:
    """``node X: is dead`` lines logged since ``mark`` (line counts per member)."""
    count = 0
    for name, member in cluster.members.items():
        lines = member.log_lines()[mark[name] :]
        count += sum(1 for line in lines if ": is dead" in line)
    return count


def one(setting: str, kind: Kind, args: argparse.Namespace) -> str:
    """One cluster of ``kind``: false deaths under hogs+loss, then crash under hogs."""
    timers = ALL_PROFILES[setting]
    with Lab(["alpha", "bravo"], networks=2) as lab:
        cluster = MixedCluster(
            lab, {"alpha": kind, "bravo": kind}, timers=timers, extra="crm no\nrealtime on"
        )
        try:
            cluster.configure()
            cluster.start()
            cluster.wait_mutual("active", 40)
            cluster.wait_served_by("alpha", 40, 0.1)
            cluster.wait_stable(40)
            time.sleep(7.5)
            mark = {name: len(m.log_lines()) for name, m in cluster.members.items()}
            links = [(n, i) for n in lab.nodes.values() for i in n.interfaces]
            with cpu_hogs(args.hogs):
                if args.loss > 0:
                    for node, ifname in links:
                        lab.netem(node, ifname, f"loss {args.loss}%")
                time.sleep(args.seconds)
                deaths = false_deaths(cluster, mark)
                alive = all(member.running() for member in cluster.members.values())
                crashed = cluster.crash("alpha")
                answered = cluster.wait_served_by("bravo", 30, 0.01)
                for node, ifname in links:
                    lab.netem_clear(node, ifname)
            failover = (answered - crashed) * 1000
            return (
                f"| {setting} | {kind} | {args.hogs} | {args.loss}% | {args.seconds:.0f} s "
                f"| {deaths} | {'yes' if alive else 'NO'} | {failover:.0f} |"
            )
        except (TimeoutError, RuntimeError) as exc:
            return f"| {setting} | {kind} | {args.hogs} | {args.loss}% | failed: {exc} |".split(
                "\n"
            )[0]
        finally:
            cluster.close()


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run every (setting, implementation), print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", default="200ms/1s,100ms/500ms,20ms/100ms")
    parser.add_argument("--seconds", type=float, default=600.0, help="window per cluster")
    parser.add_argument("--hogs", type=int, default=2, help="busy-loop processes")
    parser.add_argument("--loss", type=int, default=10, help="random loss %% on every link")
    args = parser.parse_args(argv)
    settings = [s.strip() for s in args.settings.split(",") if s.strip()]
    if any(s not in ALL_PROFILES for s in settings):
        parser.error(f"settings must be among {', '.join(ALL_PROFILES)}")
    reason = lab_unavailable_reason() or realhb_unavailable_reason() or engine_importable()
    if reason is not None:
        print(f"underload: cannot run: {reason}", file=sys.stderr)
        return 2
    print("| setting | implementation | hogs | loss | window | false deaths "
          "| both daemons alive | crash -> HTTP (ms) under hogs |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for setting in settings:
        for kind in KINDS:
            print(one(setting, kind, args), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
