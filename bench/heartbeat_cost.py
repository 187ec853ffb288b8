"""Idle cost of one node, hatui against Heartbeat 3.0.6 measured in the same run.

Three nodes (alpha, bravo, charlie) in network namespaces, ``ucast`` on eth0 and
``bcast`` on eth1, no resources, byte-identical configuration for both implementations
(``lab/mixed.py``; the real daemon in its own mount/UTS namespaces,
``lab/realhb.py``). For keepalive 1 s and 200 ms, alternating the implementations
run by run: start the cluster, let it settle, then sample alpha's daemon processes (the
engine; Heartbeat's six) over ``--seconds``: CPU from the scheduler's run time
(``lab/proccost.py``) and RSS. Prints median [min-max] per implementation and the
ratio hatui/Heartbeat. The goal (issue 2): no more CPU than Heartbeat, RSS ≤ 40 MB.

Needs root (namespaces) and the Debian ``heartbeat`` package for the reference column
(``--only hatui`` measures ours alone). ``python bench/heartbeat_cost.py [--runs 3]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab import Lab, engine_importable, lab_unavailable_reason
from lab.cluster import Timers
from lab.mixed import Kind, MixedCluster
from lab.proccost import cpu_seconds, rss_mb
from lab.realhb import realhb_unavailable_reason

NAMES = ("alpha", "bravo", "charlie")
PROFILES = {
    "keepalive 1 s": Timers("1", "3", "2", "6"),
    "keepalive 200 ms": Timers("200ms", "1", "600ms", "3"),
}
KINDS: tuple[Kind, ...] = ("heartbeat", "hatui")
RSS_GOAL_MB = 40.0


def measure(kind: Kind, timers: Timers, seconds: float) -> tuple[float, float]:
    """(CPU %, RSS MB) of alpha's daemon on a fresh three-node cluster of ``kind``."""
    with Lab(NAMES, networks=2, client=False) as lab:
        cluster = MixedCluster(
            lab, dict.fromkeys(NAMES, kind), media="ucast+bcast", timers=timers, haresources=""
        )
        try:
            cluster.configure()
            cluster.start()
            cluster.wait_mutual("active", 60)
            time.sleep(3.0)  # start-up messages and the first acknowledgements are over
            pids = cluster["alpha"].daemon_pids()
            used0, started = cpu_seconds(pids), time.monotonic()
            time.sleep(seconds)
            cpu = 100.0 * (cpu_seconds(pids) - used0) / (time.monotonic() - started)
            memory = rss_mb(pids)
            if not all(cluster[n].running() for n in NAMES):
                raise RuntimeError(f"a {kind} daemon died during the measurement")
        finally:
            cluster.close()
    return cpu, memory


def summary(values: list[float], digits: int) -> str:
    """``median [min-max] (n)``."""
    if not values:
        return "-"
    fmt = f"{{:.{digits}f}}"
    middle = fmt.format(statistics.median(values))
    return f"{middle} [{fmt.format(min(values))}-{fmt.format(max(values))}] ({len(values)})"


def print_table(results: dict[tuple[str, Kind], list[tuple[float, float]]]) -> None:
    """One row per profile: both implementations, the ratio and the goals."""
    print()
    print(
        "| profile | Heartbeat 3.0.6 CPU % | hatui CPU % | ratio | goal | "
        "Heartbeat RSS MB | hatui RSS MB |"
    )
    print("|---|---|---|---|---|---|---|")
    for profile in PROFILES:
        real = results.get((profile, "heartbeat"), [])
        ours = results.get((profile, "hatui"), [])
        ratio = "-"
        verdict = "-"
        if real and ours:
            value = statistics.median(c for c, _ in ours) / statistics.median(c for c, _ in real)
            ratio = f"{value:.2f}"
            verdict = "met" if value <= 1.0 else "**MISSED**"
        rss_ours = [m for _, m in ours]
        rss_note = "" if not rss_ours or statistics.median(rss_ours) <= RSS_GOAL_MB else " (> 40)"
        print(
            f"| {profile} | {summary([c for c, _ in real], 3)} | {summary([c for c, _ in ours], 3)}"
            f" | {ratio} | ≤ 1.0×: {verdict} | {summary([m for _, m in real], 0)} | "
            f"{summary(rss_ours, 0)}{rss_note} |"
        )
    print(
        "\nCPU: scheduler run time of alpha's daemon processes (all threads), summed for "
        "Heartbeat's six; RSS summed likewise."
    )


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, check the machine, alternate the implementations, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="sampling window (s)")
    parser.add_argument("--runs", type=int, default=3, help="runs per implementation/profile")
    parser.add_argument("--only", choices=KINDS, help="measure one implementation only")
    args = parser.parse_args(argv)
    kinds = (args.only,) if args.only else KINDS
    reason = lab_unavailable_reason() or engine_importable()
    if reason is None and "heartbeat" in kinds:
        reason = realhb_unavailable_reason()
    if reason is not None:
        print(f"heartbeat_cost: cannot run: {reason}", file=sys.stderr)
        return 2
    results: dict[tuple[str, Kind], list[tuple[float, float]]] = {}
    for profile, timers in PROFILES.items():
        for run in range(args.runs):
            for kind in kinds if run % 2 == 0 else kinds[::-1]:
                cpu, memory = measure(kind, timers, args.seconds)
                print(
                    f"{profile} run {run + 1}: {kind:9s} CPU {cpu:.3f} %  RSS {memory:.0f} MB",
                    flush=True,
                )
                results.setdefault((profile, kind), []).append((cpu, memory))
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
