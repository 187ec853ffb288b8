"""Side-by-side benchmark: a real three-node Corosync + Pacemaker cluster against a hatui
pair, same run, same machine, same service.

Both run docs/examples/web as the lab has it (``alpha IPaddr2::10.99.0.200/24/eth0
hbweb``, an LSB service answering HTTP; hatui's pair uses lab/mixed.py's address
10.99.0.10 and bench/compare.py's crash procedure): Pacemaker gets ``hactl export pacemaker
--format crm`` of it (plus a 50-point preference for bravo, so the survivor that takes
over is known in advance; it changes no timing), hatui the files themselves.
Detection settings compared: corosync ``token: 1000`` against hatui ``deadtime 1``
(keepalive 200 ms), ``token: 3000`` against ``deadtime 3`` (keepalive 1 s), and
``token: 1000`` with ``token_coefficient: 0`` against ``deadtime 1``. Corosync's
runtime token (it adds ``token_coefficient``, 650 ms per node beyond two) is read back
with ``corosync-cmapctl`` and printed.

Per setting and implementation, on one fresh cluster: idle CPU % (scheduler run time of
every thread) and RSS/PSS of one node's whole cluster stack (corosync, pacemakerd and
its six daemons; hatui's one engine process), averaged over the nodes, with the group
running; then ``--runs`` crashes of alpha (every process SIGKILLed, cables pulled) →
first HTTP answer from bravo (overlapping 10 ms probes from the client), alpha restarted
and the group back home between runs.

``sudo python bench/pacemaker.py --runs 5 --idle-seconds 20``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.compare import Series, crash, machine, ready, summary
from engine.export import export_pacemaker
from lab import Lab, engine_importable, lab_unavailable_reason
from lab.mixed import PROFILES, MixedCluster
from lab.pacemaker import PacemakerCluster, Totem, pacemaker_unavailable_reason
from lab.pacemaker.examples import web_example
from lab.proccost import cpu_seconds, pss_mb, rss_mb

VIP = "10.99.0.200"
GROUP = "rg-hbweb"
PREFER_BRAVO = "location prefer-bravo rg-hbweb 50: bravo\n"
CRASH = "crash -> HTTP from survivor (ms)"
CPU = "idle CPU % per node (whole stack)"
RSS = "RSS MB per node (whole stack)"
PSS = "PSS MB per node (whole stack)"
METRICS = (CRASH, CPU, RSS, PSS)


@dataclass(frozen=True)
class Setting:
    """One detection setting, as each implementation spells it."""

    name: str
    token_ms: int
    hatui_profile: str
    token_coefficient_ms: int | None = None


SETTINGS = (
    Setting("1 s", 1000, "200ms/1s"),
    Setting("3 s", 3000, "1s/3s"),
    Setting("1 s literal", 1000, "200ms/1s", 0),
)
"""``1 s literal``: ``token_coefficient: 0``, so the runtime token is the 1000 ms written
(the strictest comparison: the same detection time as hatui's deadtime 1)."""


def idle(pids_of: dict[str, list[int]], seconds: float) -> tuple[float, float, float]:
    """(CPU %, RSS MB, PSS MB) per node, averaged over the nodes, over ``seconds``."""
    cpu0 = {name: cpu_seconds(p) for name, p in pids_of.items()}
    started = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    cpu = [100 * (cpu_seconds(p) - cpu0[name]) / elapsed for name, p in pids_of.items()]
    rss = [rss_mb(p) for p in pids_of.values()]
    pss = [pss_mb(p) for p in pids_of.values()]
    return statistics.mean(cpu), statistics.mean(rss), statistics.mean(pss)


def pacemaker_setting(
    setting: Setting, series: Series, args: argparse.Namespace, work: Path
) -> str:
    """Measure Pacemaker at ``setting``; returns the runtime token line."""
    totem = Totem(setting.token_ms, setting.token_coefficient_ms)
    with PacemakerCluster(totem=totem) as cluster:
        token, consensus = cluster.runtime_token()
        example = web_example(work)
        result = export_pacemaker(example.config_dir, "crm")
        assert result.text is not None, result.error
        cluster.load("crm", result.text + PREFER_BRAVO)
        cluster.wait_group(GROUP, "alpha", 60)
        cluster.wait_served(VIP, "alpha", 60)
        cluster.settle()
        cpu, rss, pss = idle(
            {n.name: n.daemon_pids() for n in cluster.nodes.values()}, args.idle_seconds
        )
        for metric, value in ((CPU, cpu), (RSS, rss), (PSS, pss)):
            series.add(setting.name, "pacemaker", metric, value)
        for run in range(args.runs):
            crashed = cluster.crash("alpha")
            answered = cluster.wait_served(VIP, "bravo", 60)
            series.add(setting.name, "pacemaker", CRASH, (answered - crashed) * 1000)
            print(
                f"  pacemaker {setting.name} run {run + 1}: {(answered - crashed) * 1000:.0f} ms",
                flush=True,
            )
            cluster.restart("alpha", forget=[VIP])
            cluster.wait_ready(90, expect=cluster.names)
            cluster.wait_group(GROUP, "alpha", 60)
            cluster.wait_served(VIP, "alpha", 60)
            cluster.settle()
            time.sleep(1.0)
    written = f"token: {setting.token_ms}"
    if setting.token_coefficient_ms is not None:
        written += f", token_coefficient: {setting.token_coefficient_ms}"
    return f"{setting.name}: {written} -> runtime token {token} ms, consensus {consensus} ms"


def hatui_setting(setting: Setting, series: Series, args: argparse.Namespace) -> str:
    """Measure a hatui pair at ``setting``; returns the timers line."""
    timers = PROFILES[setting.hatui_profile]
    with Lab(["alpha", "bravo"], networks=2) as lab:
        cluster = MixedCluster(
            lab,
            {"alpha": "hatui", "bravo": "hatui"},
            timers=timers,
            extra="crm no\nrealtime on",
        )
        try:
            cluster.configure()
            started = time.monotonic()
            cluster.start()
            ready(cluster, started)
            pids = {m.name: m.daemon_pids() for m in cluster.members.values()}
            cpu, rss, pss = idle(pids, args.idle_seconds)
            for metric, value in ((CPU, cpu), (RSS, rss), (PSS, pss)):
                series.add(setting.name, "hatui", metric, value)
            for run in range(args.runs):
                failover, _garp = crash(cluster, (run + 0.5) / args.runs)
                series.add(setting.name, "hatui", CRASH, failover)
                print(f"  hatui {setting.name} run {run + 1}: {failover:.0f} ms", flush=True)
                cluster.revive("alpha")
                ready(cluster, time.monotonic())
        finally:
            cluster.close()
    return f"keepalive {timers.keepalive}, deadtime {timers.deadtime}"


def goal(metric: str, pacemaker: list[float], hatui: list[float]) -> str:
    """The issue's goal for ``metric`` and whether the medians meet it."""
    if not pacemaker or not hatui:
        return ""
    ratio = statistics.median(hatui) / statistics.median(pacemaker)
    if metric == CRASH:
        return f"< 0.5× Pacemaker: {'met' if ratio < 0.5 else '**MISSED**'}"
    if metric in (RSS, PSS):
        return f"< 0.25× Pacemaker: {'met' if ratio < 0.25 else '**MISSED**'}"
    return ""


def table(series: Series, settings: Sequence[Setting]) -> str:
    """Markdown: one row per (setting, metric), both columns, ratio and goal."""
    lines = [
        "| detection | measurement | Pacemaker 2.1 (3 nodes) median [min-max] (n) "
        "| hatui (2 nodes) median [min-max] (n) | ratio hatui/Pacemaker | goal |",
        "|---|---|---|---|---|---|",
    ]
    for setting in settings:
        for metric in METRICS:
            theirs = series.get(setting.name, "pacemaker", metric)
            ours = series.get(setting.name, "hatui", metric)
            ratio = "-"
            if theirs and ours and statistics.median(theirs) > 0:
                ratio = f"{statistics.median(ours) / statistics.median(theirs):.2f}"
            lines.append(
                f"| {setting.name} | {metric} | {summary(theirs)} ({len(theirs)}) "
                f"| {summary(ours)} ({len(ours)}) | {ratio} | {goal(metric, theirs, ours)} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, check the machine, measure both, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=3, help="crashes per implementation and setting"
    )
    parser.add_argument("--idle-seconds", type=float, default=10.0, help="idle window (s)")
    parser.add_argument(
        "--settings",
        default=",".join(s.name for s in SETTINGS),
        help="comma-separated among: " + ", ".join(s.name for s in SETTINGS),
    )
    args = parser.parse_args(argv)
    wanted = {s.strip() for s in args.settings.split(",")}
    settings = [s for s in SETTINGS if s.name in wanted]
    reason = lab_unavailable_reason() or pacemaker_unavailable_reason() or engine_importable()
    if reason is not None:
        print(f"pacemaker bench: cannot run: {reason}", file=sys.stderr)
        return 2
    work = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-pcmk-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    series = Series()
    notes: list[str] = []
    began = time.monotonic()
    load = os.getloadavg()[0]
    for index, setting in enumerate(settings):
        order = ("pacemaker", "hatui") if index % 2 == 0 else ("hatui", "pacemaker")
        for kind in order:
            print(f"{setting.name}: {kind} ...", flush=True)
            if kind == "pacemaker":
                notes.append(f"Pacemaker {pacemaker_setting(setting, series, args, work)}")
            else:
                notes.append(f"hatui {setting.name}: {hatui_setting(setting, series, args)}")
    print()
    print(f"Machine: {machine()}")
    print(f"Load average (1 min) at start {load:.2f}, at end {os.getloadavg()[0]:.2f}; "
          f"took {(time.monotonic() - began) / 60:.1f} min")  # fmt: skip
    for note in notes:
        print(f"  {note}")
    print()
    print(table(series, settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
