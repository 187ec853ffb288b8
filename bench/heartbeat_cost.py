"""Idle cost of one engine: CPU share and RSS with three nodes on two links.

Starts three engines in network namespaces (the measured one plus two peers; ``ucast``
on eth0 and ``bcast`` on eth1), for keepalive 1 s and then 200 ms, lets each cluster
settle, samples the measured engine's utime+stime from ``/proc/PID/stat`` over
``--seconds`` and its ``VmRSS``, and compares with Heartbeat 3.0.6 measured on the same
kind of machine (running-real-heartbeat.md: 0.10 % / 0.35 % CPU, ≈ 40 MB RSS summed
over its six processes).

Needs root (namespaces). Run: ``sudo python bench/heartbeat_cost.py [--seconds 30]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.lab import Lab, engine_importable, lab_unavailable_reason
from tests.lab.cluster import Cluster, Timers, ucast_lines

NAMES = ("alpha", "bravo", "charlie")
PROFILES = {
    "keepalive 1 s": (Timers("1", "3", "2", "6"), 0.10),
    "keepalive 200 ms": (Timers("200ms", "1", "600ms", "3"), 0.35),
}
HEARTBEAT_RSS_MB = 40.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Cost:
    """What one profile cost the measured engine."""

    profile: str
    cpu_percent: float
    rss_mb: float
    processes: int
    heartbeat_cpu: float


def cpu_ticks(pid: int) -> int:
    """utime + stime of ``pid`` in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def rss_mb(pid: int) -> float:
    """VmRSS of ``pid`` in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(profile: str, timers: Timers, seconds: float, heartbeat_cpu: float) -> Cost:
    """Run one three-node cluster and sample alpha's engine (every process in its netns)."""
    with Lab(NAMES, networks=2, client=False) as lab:
        cluster = Cluster(lab, [*ucast_lines(lab, "eth0", 0), "bcast eth1"], timers)
        cluster.start_all()
        cluster.wait_all_active(timeout=30)
        cluster.wait_settled(timeout=30)
        time.sleep(2.0)
        pids = lab.nodes["alpha"].pids()
        start_ticks = sum(cpu_ticks(pid) for pid in pids)
        started = time.monotonic()
        time.sleep(seconds)
        cluster.check_alive()
        used = sum(cpu_ticks(pid) for pid in pids) - start_ticks
        elapsed = time.monotonic() - started
        memory = sum(rss_mb(pid) for pid in pids)
    cpu = 100.0 * used / CLOCK_TICKS / elapsed
    return Cost(profile, cpu, memory, len(pids), heartbeat_cpu)


def print_table(costs: list[Cost]) -> None:
    """Print ours against Heartbeat 3.0.6 for each profile."""
    print()
    print(f"{'profile':<18} {'CPU %':>8} {'HB 3.0.6':>9} {'ratio':>6} {'RSS MB':>8} {'HB MB':>6}")
    for cost in costs:
        ratio = cost.cpu_percent / cost.heartbeat_cpu
        print(
            f"{cost.profile:<18} {cost.cpu_percent:>8.3f} {cost.heartbeat_cpu:>9.2f} "
            f"{ratio:>6.2f} {cost.rss_mb:>8.1f} {HEARTBEAT_RSS_MB:>6.0f}"
            f"   ({cost.processes} process(es) in the node)"
        )
    print(
        "\nHeartbeat 3.0.6 reference: same 2-core machine, 6 processes per node, CPU summed, "
        "RSS summed (PSS about 12 MB)."
    )


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, check the machine, measure both profiles, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="sampling window (s)")
    args = parser.parse_args(argv)
    reason = lab_unavailable_reason() or engine_importable()
    if reason is not None:
        print(f"heartbeat_cost: cannot run: {reason}", file=sys.stderr)
        return 2
    costs = []
    for profile, (timers, reference) in PROFILES.items():
        print(f"measuring {profile} for {args.seconds:.0f} s ...", flush=True)
        costs.append(measure(profile, timers, args.seconds, reference))
    print_table(costs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
