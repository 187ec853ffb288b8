"""Failover timings of the engine against Heartbeat 3.0.6 (keepalive 200 ms, deadtime 1 s).

Per run, on a fresh two-node cluster (``alpha IPaddr2::10.99.0.10/24/eth0 hbweb``):

1. standby handover outage: ``hactl standby`` on alpha, HTTP gap on the VIP until bravo
   answers; ``hactl takeover`` brings the group back;
2. crash of the active (every process SIGKILLed, links down) → VIP answers HTTP from bravo;
3. bravo declares alpha "dead" → first gratuitous ARP for the VIP seen by the client
   (raw AF_PACKET capture in the client namespace; the death time comes from bravo's
   debug log, which has millisecond timestamps, else from a 20 ms status poll).

Prints median [min-max], the ratio to the Heartbeat reference numbers
(running-real-heartbeat.md) and each goal of the issue (crash ≤ 0.8× Heartbeat, "dead" →
gratuitous ARP ≤ 30 ms, handover ≤ 300 ms); exits 1 when a goal is missed. Needs root.
``sudo python bench/failover.py --runs 5``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab import (
    ArpCapture,
    Lab,
    engine_importable,
    lab_unavailable_reason,
    wait_until,
)
from lab.cluster import Cluster, Timers, ucast_lines
from lab.hbweb import PORT, hbweb_script

VIP = "10.99.0.10"
TIMERS = Timers("200ms", "1", "600ms", "3")
REFERENCE = {
    "crash -> HTTP from peer": "1435 [1327-1477]",
    "dead -> gratuitous ARP": "174 [160-210]",
    "standby handover outage": "1676 [1634-2194]",
}
REFERENCE_MEDIAN = {
    "crash -> HTTP from peer": 1435.0,
    "dead -> gratuitous ARP": 174.0,
    "standby handover outage": 1676.0,
}
GOALS: dict[str, tuple[str, Callable[[float], bool]]] = {
    "crash -> HTTP from peer": ("<= 0.8x Heartbeat", lambda median: median <= 0.8 * 1435.0),
    "dead -> gratuitous ARP": ("<= 30 ms", lambda median: median <= 30.0),
    "standby handover outage": ("<= 300 ms", lambda median: median <= 300.0),
}


@dataclass
class Results:
    """Milliseconds per measurement name, one value per run."""

    values: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in REFERENCE})


def served_by(lab: Lab, timeout: float = 0.2) -> str | None:
    """Which node answers on the VIP (None: nobody)."""
    reply = lab.http_get(VIP, PORT, timeout=timeout)
    return None if reply is None or reply.status != 200 else reply.body


def wait_served(lab: Lab, node: str, timeout: float) -> float:
    """Probe every 20 ms (overlapping probes) until ``node`` serves the VIP; return the
    monotonic time of its first answer."""
    return lab.wait_http_body(VIP, PORT, node, timeout, 0.02)


def standby_outage(lab: Lab, cluster: Cluster) -> float:
    """HTTP outage (ms) of ``hactl standby`` on alpha, then give the group back."""
    alpha = cluster.engines["alpha"]
    last_alpha = time.monotonic()
    proc = alpha.hactl("standby")
    if proc.returncode != 0:
        raise RuntimeError(f"hactl standby failed: {proc.stdout}{proc.stderr}")
    while True:
        asked = time.monotonic()
        who = served_by(lab)
        if who == "bravo":
            gap = asked - last_alpha
            break
        if who == "alpha":
            last_alpha = asked
        if asked - last_alpha > 30:
            raise RuntimeError("bravo never took over after standby")
        time.sleep(0.02)
    proc = alpha.hactl("takeover")
    if proc.returncode != 0:
        raise RuntimeError(f"hactl takeover failed: {proc.stdout}{proc.stderr}")
    wait_served(lab, "alpha", 30)
    return gap * 1000


def death_time(cluster: Cluster, observer: str, victim: str, polled: float) -> float:
    """Monotonic time ``observer`` declared ``victim`` dead (debug log ms, else poll)."""
    entries = cluster.engines[observer].log_entries(rf"node {victim}: is dead", debug=True)
    if entries and entries[-1].time is not None and entries[-1].time % 1:
        return entries[-1].time - (time.time() - time.monotonic())
    return polled


def one_run(results: Results) -> None:
    """One fresh cluster: standby outage, then crash timings."""
    with Lab(["alpha", "bravo"], networks=2) as lab:
        media = [*ucast_lines(lab, "eth0", 0), *ucast_lines(lab, "eth1", 1)]
        cluster = Cluster(lab, media, TIMERS, haresources=f"alpha IPaddr2::{VIP}/24/eth0 hbweb\n")
        cluster.scripts = {"hbweb": hbweb_script()}
        cluster.start_all()
        cluster.wait_all_active(timeout=30)
        wait_served(lab, "alpha", 40)
        cluster.wait_settled()
        results.values["standby handover outage"].append(standby_outage(lab, cluster))
        cluster.wait_settled()
        time.sleep(0.5)
        with ArpCapture(lab.client) as capture:
            crashed = lab.kill_node("alpha")
            polled = wait_until(
                lambda: cluster.everyone_sees("dead", ["alpha"], ["bravo"]) and time.monotonic(),
                10,
                0.02,
                "bravo declares alpha dead",
            )
            answered = wait_served(lab, "bravo", 10)
            wait_until(lambda: capture.gratuitous_for(VIP, crashed), 5, 0.02, "gratuitous ARP")
        died = death_time(cluster, "bravo", "alpha", polled)
        garp = capture.gratuitous_for(VIP, crashed)[0].time
        results.values["crash -> HTTP from peer"].append((answered - crashed) * 1000)
        results.values["dead -> gratuitous ARP"].append((garp - died) * 1000)


def report(results: Results) -> bool:
    """Print median [min-max] per measurement with the Heartbeat reference and the goal;
    True when every measured goal is met."""
    print()
    header = ("measurement (ms)", "runs", "median [min-max]", "Heartbeat", "ratio", "goal")
    print(
        f"{header[0]:<26} {header[1]:>4} {header[2]:>24} {header[3]:>18} {header[4]:>6}"
        f"  {header[5]}"
    )
    all_met = True
    for name, values in results.values.items():
        if not values:
            continue
        median = statistics.median(values)
        spread = f"{median:.0f} [{min(values):.0f}-{max(values):.0f}]"
        ratio = median / REFERENCE_MEDIAN[name]
        goal, met = GOALS[name][0], GOALS[name][1](median)
        all_met = all_met and met
        verdict = f"{goal}: {'met' if met else 'MISSED'}"
        print(
            f"{name:<26} {len(values):>4} {spread:>24} {REFERENCE[name]:>18} {ratio:>6.2f}"
            f"  {verdict}"
        )
    print("\nHeartbeat 3.0.6 reference: keepalive 200 ms / deadtime 1 s, 5 runs, same lab shape.")
    print("bench/compare.py measures both implementations side by side in one run.")
    return all_met


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, check the machine, run, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="number of runs (>= 1, default 5)")
    args = parser.parse_args(argv)
    reason = lab_unavailable_reason() or engine_importable()
    if reason is not None:
        print(f"failover: cannot run: {reason}", file=sys.stderr)
        return 2
    results = Results()
    for run in range(1, max(1, args.runs) + 1):
        print(f"run {run}/{args.runs} ...", flush=True)
        one_run(results)
    return 0 if report(results) else 1


if __name__ == "__main__":
    sys.exit(main())
