"""Side-by-side benchmark: two real Heartbeat 3.0.6 nodes against two hatui nodes.

Same lab (alpha, bravo, two heartbeat networks, ``ucast`` on both, client namespace),
byte-identical ``ha.cf``/``authkeys``/``haresources``
(``alpha IPaddr2::10.99.0.10/24/eth0 hbweb``, ``auto_failback on``, ``realtime on``),
alternating the implementations run by run. Per run, on a fresh cluster:

1. idle: CPU % (scheduler run time of the daemon's processes, summed for Heartbeat's six) and
   RSS per node, and bytes/s on the wire (frames the nodes sent into the switch);
2. standby handover outage: HTTP gap on the VIP after ``hb_standby``/``hactl standby``
   on alpha (then bravo gives the group back the same way);
3. partition healed → single owner: all traffic of both nodes dropped (nft) until both
   hold the VIP, then restored; time until exactly one node holds it for 2 s;
4. crash of alpha (every process SIGKILLed, links down) → VIP answers HTTP from bravo,
   and bravo's "dead" verdict (polled through cl_status / the control socket) → first
   gratuitous ARP for the VIP in the client namespace.

``sudo python bench/compare.py --runs 5 --settings 200ms/1s --write BENCHMARKS.md``
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
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
from lab.capture import wait_status_heartbeat
from lab.mixed import PROFILES, VIP, Kind, Member, MixedCluster
from lab.partition import partition_heal as lab_partition_heal
from lab.proccost import cpu_seconds, rss_mb
from lab.realhb import heartbeat_version, realhb_unavailable_reason

KINDS: tuple[Kind, Kind] = ("heartbeat", "hatui")
METRICS = (
    "crash -> HTTP from peer (ms)",
    "dead -> gratuitous ARP (ms)",
    "standby handover outage (ms)",
    "partition healed -> single owner (ms)",
    "idle CPU % per node",
    "RSS MB per node",
    "wire bytes/s (cluster)",
)


@dataclass
class Series:
    """Values per (setting, kind, metric); failures per (setting, kind)."""

    values: dict[tuple[str, str, str], list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def add(self, setting: str, kind: str, metric: str, value: float) -> None:
        """Record one measurement."""
        self.values.setdefault((setting, kind, metric), []).append(value)

    def get(self, setting: str, kind: str, metric: str) -> list[float]:
        """The measurements (possibly empty)."""
        return self.values.get((setting, kind, metric), [])


def wire_bytes(lab: Lab) -> int:
    """Bytes the nodes sent into the switch so far (rx of their switch ports)."""
    out = subprocess.run(
        ["ip", "-n", lab.switch, "-j", "-s", "link", "show"], capture_output=True, text=True
    ).stdout
    total = 0
    for link in json.loads(out or "[]"):
        name = str(link.get("ifname", ""))
        if name.startswith("n") and "e" in name and not name.startswith("client"):
            total += int(link.get("stats64", {}).get("rx", {}).get("bytes", 0))
    return total


def measure_idle(cluster: MixedCluster, seconds: float) -> tuple[float, float, float]:
    """(CPU % per node, RSS MB per node, wire bytes/s) averaged over ``seconds``."""
    members = list(cluster.members.values())
    pids = {m.name: m.daemon_pids() for m in members}
    cpu0 = {name: cpu_seconds(p) for name, p in pids.items()}
    wire0 = wire_bytes(cluster.lab)
    started = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    wire = (wire_bytes(cluster.lab) - wire0) / elapsed
    cpu = [100 * (cpu_seconds(p) - cpu0[name]) / elapsed for name, p in pids.items()]
    rss = [rss_mb(p) for p in pids.values()]
    return statistics.mean(cpu), statistics.mean(rss), wire


def standby_outage(cluster: MixedCluster, giver: Member, taker: str) -> float:
    """HTTP outage (ms) between the giver's last answer and the taker's first.

    The standby command runs in a thread while the client keeps probing, so the time
    the admin tool itself needs to start is not counted as service outage.
    """
    last = time.monotonic()
    command = threading.Thread(target=giver.standby, daemon=True)
    command.start()
    while True:
        who = cluster.served_by(0.1)
        now = time.monotonic()
        if who == taker:
            command.join(30)
            return (now - last) * 1000
        if who == giver.name:
            last = now
        if now - last > 30:
            raise RuntimeError(f"{taker} never took over after standby on {giver.name}")
        time.sleep(0.005)


def partition_heal(cluster: MixedCluster, deadtime: float) -> float:
    """Cut both nodes off each other, wait for split brain, heal; ms to one owner."""
    return lab_partition_heal(cluster.lab, VIP, deadtime) * 1000


def crash(cluster: MixedCluster, phase: float) -> tuple[float, float]:
    """(crash → HTTP from bravo, dead → gratuitous ARP) in ms.

    alpha is crashed ``phase`` of a keepalive after bravo sees one of its status
    heartbeats, so that both implementations are crashed at the same phases of their
    heartbeat period (run ``i`` of ``n`` uses ``(i + 0.5) / n``): a crash just before
    a heartbeat is detected almost a keepalive later than one just after it.
    """
    lab = cluster.lab
    bravo = cluster["bravo"]
    alpha_address = lab.nodes["alpha"].address(0)
    with ArpCapture(lab.client) as capture:
        heard = wait_status_heartbeat(lab.nodes["bravo"].namespace, "eth0", alpha_address)
        time.sleep(max(0.0, heard + phase * cluster.timers.keepalive_s - time.monotonic()))
        crashed = cluster.crash("alpha")
        died = wait_until(
            lambda: bravo.sees("alpha") == "dead" and time.monotonic(), 15, 0.005, "dead"
        )
        answered = cluster.wait_served_by("bravo", 15, 0.01)
        wait_until(lambda: capture.gratuitous_for(VIP, crashed), 5, 0.02, "gratuitous ARP")
    garp = capture.gratuitous_for(VIP, crashed)[0].time
    return (answered - crashed) * 1000, (garp - died) * 1000


def ready(cluster: MixedCluster, started: float) -> None:
    """alpha serves, resources settled, and the start-up deadtime boost (5 s) is over."""
    cluster.wait_mutual("active", 40)
    cluster.wait_served_by("alpha", 40, 0.1)
    cluster.wait_stable(40)
    time.sleep(max(0.0, started + 7.5 - time.monotonic()))


def one_run(
    setting: str, kind: Kind, series: Series, args: argparse.Namespace, phase: float
) -> None:
    """A fresh cluster of ``kind`` at ``setting``: idle, standby, partition, crash (at
    ``phase`` of the heartbeat period, see :func:`crash`)."""
    timers = PROFILES[setting]
    with Lab(["alpha", "bravo"], networks=2) as lab:
        cluster = MixedCluster(
            lab, {"alpha": kind, "bravo": kind}, timers=timers, extra="crm no\nrealtime on"
        )
        try:
            cluster.configure()
            started = time.monotonic()
            cluster.start()
            step(series, setting, kind, "start", lambda: ready(cluster, started))
            cpu, rss, wire = measure_idle(cluster, args.idle_seconds)
            series.add(setting, kind, "idle CPU % per node", cpu)
            series.add(setting, kind, "RSS MB per node", rss)
            series.add(setting, kind, "wire bytes/s (cluster)", wire)
            outage = standby_outage(cluster, cluster["alpha"], "bravo")
            series.add(setting, kind, "standby handover outage (ms)", outage)
            cluster.wait_stable(40)
            cluster["bravo"].standby()
            cluster.wait_served_by("alpha", 40, 0.05)
            cluster.wait_stable(40)
            if not args.skip_partition:
                heal = partition_heal(cluster, timers.deadtime_s)
                series.add(setting, kind, "partition healed -> single owner (ms)", heal)
                ready(cluster, time.monotonic())
            failover, garp = crash(cluster, phase)
            series.add(setting, kind, "crash -> HTTP from peer (ms)", failover)
            series.add(setting, kind, "dead -> gratuitous ARP (ms)", garp)
        except (TimeoutError, RuntimeError) as exc:
            series.failures.append(f"{setting} {kind}: {exc}".splitlines()[0])
            print(f"  run failed: {exc}".splitlines()[0], flush=True)
            if args.verbose:
                print(cluster.diagnostics())
        finally:
            cluster.close()


def step(series: Series, setting: str, kind: str, what: str, func: Callable[[], None]) -> None:
    """Run one phase; a timeout names the phase."""
    try:
        func()
    except TimeoutError as exc:
        raise RuntimeError(f"{what}: {exc}") from exc


def summary(values: list[float]) -> str:
    """``median [min-max]`` with a precision that suits the magnitude."""
    if not values:
        return "-"
    med = statistics.median(values)
    fmt = "{:.0f}" if med >= 10 else "{:.2f}"
    return f"{fmt.format(med)} [{fmt.format(min(values))}-{fmt.format(max(values))}]"


def goal(setting: str, metric: str, real: list[float], ours: list[float]) -> str:
    """The issue's goal for ``metric`` and whether the medians meet it ("" if none)."""
    if not real or not ours:
        return ""
    mine, theirs = statistics.median(ours), statistics.median(real)
    deadline_ms = PROFILES[setting].deadtime_s * 1000 + 2000
    checks = {
        "crash -> HTTP from peer (ms)": ("≤ 0.8× Heartbeat", mine <= 0.8 * theirs),
        "dead -> gratuitous ARP (ms)": ("≤ 30 ms", mine <= 30),
        "standby handover outage (ms)": ("≤ 300 ms", mine <= 300),
        "partition healed -> single owner (ms)": (
            f"≤ {deadline_ms:.0f} ms",
            mine <= deadline_ms,
        ),
        "idle CPU % per node": ("≤ 1.0× Heartbeat", mine <= theirs),
    }
    if metric not in checks:
        return ""
    text, met = checks[metric]
    return f"{text}: {'met' if met else '**MISSED**'}"


def table(series: Series, settings: Sequence[str]) -> str:
    """Markdown table: one row per (setting, metric), both columns, ratio and goal."""
    lines = [
        "| setting | measurement | Heartbeat 3.0.6 median [min-max] (n) "
        "| hatui median [min-max] (n) | ratio hatui/Heartbeat | goal |",
        "|---|---|---|---|---|---|",
    ]
    for setting in settings:
        for metric in METRICS:
            real = series.get(setting, "heartbeat", metric)
            ours = series.get(setting, "hatui", metric)
            ratio = "-"
            if real and ours and statistics.median(real) > 0:
                ratio = f"{statistics.median(ours) / statistics.median(real):.2f}"
            lines.append(
                f"| {setting} | {metric} | {summary(real)} ({len(real)}) "
                f"| {summary(ours)} ({len(ours)}) | {ratio} "
                f"| {goal(setting, metric, real, ours)} |"
            )
    return "\n".join(lines)


def machine() -> str:
    """nproc, the lscpu model line, kernel, Heartbeat package version."""
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next(
        (line.split(":", 1)[1].strip() for line in lscpu.splitlines() if "Model name" in line),
        "unknown CPU",
    )
    return (
        f"nproc {nproc}; CPU: {model}; kernel {platform.release()}; "
        f"Python {platform.python_version()}; heartbeat {heartbeat_version() or 'unknown'}"
    )


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, check the machine, alternate the implementations, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per implementation and setting")
    parser.add_argument(
        "--settings",
        default=",".join(PROFILES),
        help=f"comma-separated keepalive/deadtime profiles among {', '.join(PROFILES)}",
    )
    parser.add_argument("--idle-seconds", type=float, default=10.0, help="idle window (s)")
    parser.add_argument("--skip-partition", action="store_true", help="skip the partition step")
    parser.add_argument("--write", type=Path, help="also write the table to this markdown file")
    parser.add_argument("--verbose", action="store_true", help="print logs of failed runs")
    parser.add_argument("--json", type=Path, help="also save every raw value to this file")
    args = parser.parse_args(argv)
    settings = [s.strip() for s in args.settings.split(",") if s.strip()]
    unknown = [s for s in settings if s not in PROFILES]
    if unknown or args.runs < 1:
        parser.error(f"unknown settings {unknown} or --runs < 1 (profiles: {', '.join(PROFILES)})")
    reason = lab_unavailable_reason() or realhb_unavailable_reason() or engine_importable()
    if reason is not None:
        print(f"compare: cannot run: {reason}", file=sys.stderr)
        return 2
    series = Series()
    began = time.monotonic()
    for setting in settings:
        for run in range(args.runs):
            order = KINDS if run % 2 == 0 else KINDS[::-1]
            for kind in order:
                phase = (run + 0.5) / args.runs
                print(
                    f"{setting} run {run + 1}/{args.runs}: {kind} (crash phase {phase:.2f})",
                    flush=True,
                )
                one_run(setting, kind, series, args, phase)
    text = table(series, settings)
    print("\n" + machine() + "\n")
    print(text)
    minutes = (time.monotonic() - began) / 60
    print(f"\n{len(series.failures)} failed runs; {minutes:.1f} min", *series.failures, sep="\n")
    if args.json is not None:
        raw = {"|".join(key): values for key, values in series.values.items()}
        args.json.write_text(json.dumps({"values": raw, "failures": series.failures}, indent=1))
    if args.write is not None:
        args.write.write_text(
            f"{machine()}\n\nCommand: `python bench/compare.py {' '.join(argv or sys.argv[1:])}`"
            f" ({minutes:.1f} min)\n\n{text}\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
