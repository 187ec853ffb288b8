"""The rest of the §6 scenarios: start/stop, media, STONITH, split brain, ping, standby,
group ordering, security and robustness (see scenarios.py for the shared machinery).

Every function returns a ScenarioResult; ``tests.soak.table`` lists them with the
scenarios this machine cannot run (and why).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from lab import audits
from lab.cluster import Timers, ucast_lines
from lab.engine import write_config
from lab.faults import cpu_starved, frozen
from lab.fuzz import mutated_datagrams
from lab.hbweb import PORT as WEB_PORT
from lab.hbweb import hbweb_script, service_events
from lab.netns import CLIENT_ADDRESS, Lab, LabUnsupported, Sample, wait_until
from lab.powerswitch import PORT as SWITCH_PORT
from lab.powerswitch import PowerSwitch, install_plugin
from lab.realhb import heartbeat_version, realhb_unavailable_reason
from tests.soak.scenarios import (
    FULL,
    HARESOURCES,
    TIMERS,
    VIP,
    Run,
    ScenarioResult,
    _rss_kib,
    check,
    conclude,
    finish,
    two_nodes,
)
from tests.soak.wire import (
    ACK_EVERY,
    Traffic,
    capture_sent,
    compare_fields,
    real_heartbeat_traffic,
    wire_floor,
)

STONITH_CONF = "stonith_retry_min = 500ms\nstonith_retry_max = 2\nstonith_timeout = 5\n"
FLIPS = int(os.environ.get("HATUI_SOAK_FLIPS", "100" if FULL else "6"))
STOP_START_S = 2.0
"""Budget for one IPaddr2 stop + start in the lab (built-in agent, measured ~0.3 s)."""

ORDER_SCRIPT = """#!/bin/sh
# Logs its actions to ../order.log (next to the config dir); FAIL_<action> makes it fail.
log="$(dirname "$0")/../../state/order.log"
name="$(basename "$0")"
case "$1" in
  start) echo "$(date +%s.%N) start $name" >> "$log"
         [ -e "$(dirname "$0")/FAIL_start_$name" ] && exit 1
         touch "$(dirname "$0")/../../state/$name.running"; exit 0 ;;
  stop)  echo "$(date +%s.%N) stop $name" >> "$log"
         [ -e "$(dirname "$0")/FAIL_stop_$name" ] && exit 1
         rm -f "$(dirname "$0")/../../state/$name.running"; exit 0 ;;
  status) if [ -e "$(dirname "$0")/../../state/$name.running" ]; then
            echo running; else echo stopped; fi; exit 0 ;;
esac
exit 0
"""


# ------------------------------------------------------------------------- helpers


def hactl(run: Run, node: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real ``hactl`` against ``node``'s engine."""
    return run.cluster.engines[node].hactl(*args)


def log_count(run: Run, node: str, text: str) -> int:
    """How many of ``node``'s ha-log lines contain ``text``."""
    return sum(text in line for line in run.log(node))


def first_index(lines: list[str], text: str, start: int = 0) -> int:
    """Index of the first line at/after ``start`` containing ``text`` (-1: none)."""
    return next((i for i, line in enumerate(lines) if i >= start and text in line), -1)


def held_by(run: Run, observer: str) -> str | None:
    """Who ``observer`` says holds the (only) group."""
    status = run.cluster.status(observer) or {}
    groups = status.get("groups") or [{}]
    value = groups[0].get("held_by")
    return None if value is None else str(value)


def samples_after(run: Run, t0: float) -> list[frozenset[str]]:
    """Holder sets sampled at/after ``t0``."""
    return [s.holders for s in list(run.sampler.samples) if s.time >= t0]


def moves(holders: list[frozenset[str]]) -> list[frozenset[str]]:
    """The successive distinct holder sets in ``holders``."""
    out: list[frozenset[str]] = []
    for h in holders:
        if not out or out[-1] != h:
            out.append(h)
    return out


def gap_ms(run: Run, t0: float) -> float:
    """Milliseconds since ``t0`` during which nobody held the VIP."""
    return sum(run.sampler.interval for h in samples_after(run, t0) if not h) * 1000


def setup_stonith(run: Run, network: int, delay: float = 0.0) -> PowerSwitch:
    """Start the lab power switch on ``network`` and configure ``external/labswitch``.

    Must run before the engines start (two_nodes(start=())).
    """
    switch = PowerSwitch(run.lab, network=network)
    switch.start()
    line = f"external/labswitch {switch.address} {SWITCH_PORT} alpha bravo"
    run.cluster.extra = f"{run.cluster.extra}stonith_host * {line}\n"
    conf = STONITH_CONF + (f"stonith_delay = {delay:g}\n" if delay else "")
    run.cluster.hatui_conf = f"{run.cluster.hatui_conf}{conf}"
    for name in run.cluster.names:
        run.cluster.configure(name)
        install_plugin(run.lab.node_dirs(name)[0])
    return switch


@contextmanager
def fenced_nodes(
    start: tuple[str, ...] = ("alpha", "bravo"), delay: float = 0.0
) -> Iterator[tuple[Run, PowerSwitch]]:
    """Two nodes, heartbeat on eth0, the power switch on eth1."""
    with two_nodes(start=(), networks=2) as run:
        switch = setup_stonith(run, 1, delay)
        try:
            for name in start:
                run.cluster.start(name)
            yield run, switch
        finally:
            switch.stop()


def settle(run: Run, ping: bool = False) -> None:
    """Wait until alpha holds the VIP and both engines apply the configured deadtime.

    With a ping node, Cluster.wait_settled would wait for the ping node's deadping to
    equal deadtime, so the 5 s start-up deadtime grace is waited out instead.
    """
    run.wait_holder("alpha")
    run.cluster.wait_all_active(15, list(run.cluster.names))
    if ping:
        time.sleep(max(0.0, run.cluster.engines["alpha"].started_at + 6 - time.monotonic()))
    else:
        run.cluster.wait_settled()


# ------------------------------------------------------------------- start/stop


def s02_start_one_by_one() -> ScenarioResult:
    """2. alpha then bravo: no stop/start on alpha when bravo joins, zero gap."""
    result = ScenarioResult("02 StartOnebyOne")
    with two_nodes(start=("alpha",)) as run:
        run.wait_holder("alpha")
        t0 = time.monotonic()
        releases = log_count(run, "alpha", "Releasing resource group")
        run.cluster.start("bravo")
        run.cluster.wait_all_active(20)
        time.sleep(3)
        result.gap_ms = gap_ms(run, t0)
        check(result, moves(samples_after(run, t0)) == [{"alpha"}], "VIP never left alpha")
        check(result, log_count(run, "alpha", "Releasing resource group") == releases, "no stop")
        finish(run, result)
    return result


def s03_failback_on() -> ScenarioResult:
    """3. bravo alone, alpha joins with auto_failback on: the group moves to alpha once."""
    result = ScenarioResult("03 late home node, failback on")
    with two_nodes(start=("bravo",)) as run:
        run.wait_holder("bravo")
        t0 = time.monotonic()
        run.cluster.start("alpha")
        run.wait_holder("alpha")
        time.sleep(3)
        seq = [h for h in moves(samples_after(run, t0))]
        result.gap_ms = gap_ms(run, t0)
        check(result, seq == [{"bravo"}, set(), {"alpha"}] or seq == [{"bravo"}, {"alpha"}],
              f"one move bravo -> alpha (saw {[sorted(h) for h in seq]})")  # fmt: skip
        check(result, (result.gap_ms or 0) <= STOP_START_S * 1000 + 1000, "gap <= stop+start+1s")
        finish(run, result)
    return result


def s04_failback_off() -> ScenarioResult:
    """4. as 3 with auto_failback off: the group stays on bravo, no movement."""
    result = ScenarioResult("04 late home node, failback off")
    with two_nodes(start=("bravo",), auto_failback="off") as run:
        run.wait_holder("bravo")
        t0 = time.monotonic()
        run.cluster.start("alpha")
        run.cluster.wait_all_active(20)
        time.sleep(60 if FULL else 8)
        seq = moves(samples_after(run, t0))
        check(result, seq == [{"bravo"}], f"no movement (saw {[sorted(h) for h in seq]})")
        finish(run, result)
    return result


def s05_graceful_stop_active() -> ScenarioResult:
    """5. graceful stop of alpha: released before bravo acquires, shutdown notice, no death."""
    result = ScenarioResult("05 graceful stop of active")
    with two_nodes() as run:
        settle(run)
        t0 = time.monotonic()
        run.cluster.engines["alpha"].proc.send_signal(signal.SIGTERM)
        run.wait_holder("bravo")
        result.gap_ms = gap_ms(run, t0)
        result.detection_ms = (time.monotonic() - t0) * 1000
        run.cluster.engines["alpha"].proc.wait(20)
        lines = run.log("bravo")
        notice = first_index(lines, "Received shutdown notice from 'alpha'")
        check(result, notice >= 0, "bravo logged the shutdown notice")
        check(result, first_index(lines, "node alpha: is dead") == -1, "no 'is dead'")
        check(result, (result.gap_ms or 0) <= STOP_START_S * 1000 + 1000, "takeover <= stop+1s")
        check(result, audits.dual_owner_samples(run.sampler.samples) == 0, "never dual")
        finish(run, result)
    return result


def s06_simul_stop() -> ScenarioResult:
    """6. both stop together: exit within 10 s, nothing left behind."""
    result = ScenarioResult("06 SimulStop")
    with two_nodes() as run:
        settle(run)
        t0 = time.monotonic()
        for engine in run.cluster.engines.values():
            engine.proc.send_signal(signal.SIGTERM)
        codes = [engine.proc.wait(15) for engine in run.cluster.engines.values()]
        took = time.monotonic() - t0
        result.detection_ms = took * 1000
        check(result, took <= 10, f"both exited within 10 s ({took:.1f} s)")
        check(result, codes == [0, 0], f"exit codes {codes}")
        for name in run.cluster.names:
            sock = run.lab.node_dirs(name)[1] / "control.sock"
            check(result, not sock.exists(), f"{name}: control socket removed")
        finish(run, result)
    return result


def s07_partial_start() -> ScenarioResult:
    """7. alpha started and stopped before initdead: clean exit, never acquired, bravo fine."""
    result = ScenarioResult("07 PartialStart")
    with two_nodes(start=("bravo",)) as run:
        run.wait_holder("bravo")
        t0 = time.monotonic()
        alpha = run.cluster.start("alpha")
        time.sleep(1.0)
        stop_at = time.monotonic()
        alpha.proc.send_signal(signal.SIGTERM)
        code = alpha.proc.wait(10)
        took = time.monotonic() - stop_at
        time.sleep(2)
        # spec §7.9: a shutdown during the start-up resource negotiation is deferred
        # ("Shutdown delayed ...") until it settles (RQSTDELAY 10 s at most)
        delayed = log_count(run, "alpha", "Shutdown delayed") > 0
        limit = 5 + (10 if delayed else 0)
        result.detection_ms = took * 1000
        result.details.append(f"info: exit after {took:.1f} s (deferral logged: {delayed})")
        check(result, took <= limit, f"exit within {limit} s ({took:.1f} s)")
        check(result, code == 0, f"exit code {code}")
        check(result, all("alpha" not in h for h in samples_after(run, t0)), "alpha held nothing")
        check(result, run.holder() == {"bravo"}, "bravo unaffected")
        finish(run, result)
    return result


def s08_alone_with_stonith() -> ScenarioResult:
    """8. alpha alone with STONITH: waits initdead, fences bravo, then acquires."""
    result = ScenarioResult("08 alone + STONITH fences peer")
    with fenced_nodes(start=()) as (run, switch):
        t0 = time.monotonic()
        run.cluster.start("alpha")
        acquired = run.wait_holder("alpha")
        result.gap_ms = (acquired - t0) * 1000
        initdead = Timers.seconds(TIMERS.initdead)
        check(result, acquired - t0 >= initdead, f"acquired after initdead ({acquired - t0:.1f}s)")
        check(result, switch.resets() == ["bravo"], f"bravo fenced once ({switch.resets()})")
        lines = run.log("alpha")
        reset = first_index(lines, "node bravo now reset.")
        check(result, 0 <= reset < first_index(lines, "Acquiring resource group"), "fence first")
        finish(run, result)
    return result


def _is_engine(pid: int) -> bool:
    """An engine process (the node's services, e.g. the web server, may run too)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"engine.programs.haengine" in fh.read()
    except OSError:
        return False


Footprints = dict[int, list[tuple[int, int, int]]]
"""Engine pid -> (iteration, RSS KiB, open fds) after each iteration it lived through."""
FD_SLACK = 2
"""A status request's connection may still be open on the engine side when fds are counted."""


def s09_flip_loop() -> ScenarioResult:
    """9. random Flip/Restart iterations: no audit failure, no leaks (RSS < +10 %, fds)."""
    result = ScenarioResult(f"09 {FLIPS} random flips")
    rng = random.Random(9)
    footprints: Footprints = {}
    with two_nodes() as run:
        settle(run)
        up = {"alpha": True, "bravo": True}
        _footprint(run, up, -1, footprints)
        for i in range(FLIPS):
            name = rng.choice(["alpha", "bravo"])
            if up[name] and sum(up.values()) == 2:
                run.cluster.engines[name].stop()
                up[name] = False
            elif not up[name]:
                run.cluster.start(name)
                up[name] = True
            else:  # the only one left: restart it
                run.cluster.engines[name].stop()
                run.cluster.start(name)
            live = [n for n, on in up.items() if on]
            try:
                run.cluster.wait_all_active(20, live)
                wait_until(lambda: len(run.holder()) == 1, 20, 0.05, "one owner")
            except TimeoutError as exc:
                check(result, False, f"iteration {i}: {exc}")
                break
            for n in run.cluster.names:
                engines = [p for p in run.lab.nodes[n].pids() if _is_engine(p)]
                check(
                    result,
                    len(engines) <= (1 if up[n] else 0),
                    f"iteration {i}: {n} engines {engines}",
                )
            _footprint(run, up, i, footprints)
        result.details.append(f"info: {FLIPS} iterations")
        _check_leaks(result, footprints)
        finish(run, result)
    return result


def _footprint(run: Run, up: dict[str, bool], iteration: int, footprints: Footprints) -> None:
    """Record RSS and open fds of every running engine."""
    for name, on in up.items():
        pid = run.cluster.engines[name].pid
        if on:
            fds = len(os.listdir(f"/proc/{pid}/fd"))
            footprints.setdefault(pid, []).append((iteration, _rss_kib(pid), fds))


def _check_leaks(result: ScenarioResult, footprints: Footprints) -> None:
    """Each engine's RSS grew < 10 % and its fds by at most FD_SLACK over its life."""
    lived = {pid: s for pid, s in footprints.items() if len(s) > 1}
    for pid, samples in lived.items():
        (first, rss0, fds0), (last, rss1, fds1) = samples[0], samples[-1]
        span = f"engine {pid} iterations {first}..{last}"
        growth = 100 * (rss1 - rss0) / rss0
        check(result, growth < 10, f"{span}: RSS {rss0} -> {rss1} KiB (+{growth:.1f} %)")
        check(result, fds1 - fds0 <= FD_SLACK, f"{span}: open fds {fds0} -> {fds1}")
    if lived:
        pid, samples = max(lived.items(), key=lambda item: len(item[1]))
        (first, rss0, fds0), (last, rss1, fds1) = samples[0], samples[-1]
        result.details.append(
            f"info: longest-lived engine {pid} (iterations {first}..{last}): "
            f"RSS {rss0} -> {rss1} KiB, fds {fds0} -> {fds1}; {len(lived)} engines checked"
        )


# ------------------------------------------------------------------ failure detection


def s13_two_media_cut_one() -> ScenarioResult:
    """13. ucast eth0 + mcast eth1, cut eth0: link dead only, no failover; restore: up."""
    result = ScenarioResult("13 two media, cut one")
    media = ["ucast eth0 10.99.0.1", "ucast eth0 10.99.0.2", "mcast eth1 239.0.0.43 694 1 0"]
    with two_nodes(networks=2, media=media) as run:
        settle(run)
        t0 = time.monotonic()
        run.lab.link_down("alpha", "eth0")
        wait_until(lambda: run.cluster.link_is("bravo", "alpha", "eth0", "dead"), 10, 0.02,
                   "bravo sees alpha:eth0 dead")  # fmt: skip
        result.detection_ms = (time.monotonic() - t0) * 1000
        time.sleep(2)
        check(result, run.deaths("bravo") == 0, "no death")
        check(result, run.holder() == {"alpha"}, "no failover")
        run.lab.link_up("alpha", "eth0")
        wait_until(lambda: run.cluster.link_is("bravo", "alpha", "eth0", "up"), 10, 0.05, "up")
        check(result, log_count(run, "bravo", "Link alpha:eth0 dead.") >= 1, "link dead logged")
        check(result, log_count(run, "bravo", "Link alpha:eth0 up.") >= 2, "link up logged")
        check(result, (result.detection_ms or 0) <= TIMERS.deadtime_s * 1000 + 500, "in time")
        down = [r"write failure on ucast eth0", r"Gratuitous ARP for .* on eth0 failed"]
        finish(run, result, allow=down)
    return result


def s14_serial_only() -> ScenarioResult:
    """14. serial medium only (pty pair, 19200 baud): bandwidth headroom, detection."""
    from tests.serial.ptys import PtyBridge

    result = ScenarioResult("14 serial only, cut")
    if shutil.which("socat") is None:
        result.skipped = "socat not installed"
        return result
    timers = Timers(keepalive="1", deadtime="4", warntime="2", initdead="8")
    with two_nodes(start=(), timers=timers, media=["baud 19200"]) as run:
        links = (run.lab.workdir / "ttyA", run.lab.workdir / "ttyB")
        bridge = PtyBridge(links)
        bridge.start()
        try:
            for name, tty in zip(run.cluster.names, links, strict=True):
                run.cluster.media = ["baud 19200", f"serial {tty}"]
                run.cluster.configure(name)
                run.cluster.start(name)
            settle(run)
            first = _serial_bytes(run, str(links[1]))
            time.sleep(5)
            rate = (_serial_bytes(run, str(links[1])) - first) / 5
            capacity = 19200 / 10
            result.details.append(f"info: {rate:.0f} B/s of {capacity:.0f} B/s on the line")
            check(result, 0 < rate <= 0.5 * capacity, "serial rate with >= 50 % headroom")
            t0 = time.monotonic()
            bridge.kill()
            wait_until(lambda: run.deaths("bravo") >= 1, 15, 0.05, "bravo sees alpha dead")
            result.detection_ms = (time.monotonic() - t0) * 1000
            check(result, result.detection_ms <= (4 + 1 + 0.5) * 1000, "detected within deadtime")
            finish(run, result, allow=[r"serial", r"tty", r"Both machines own"], dual_ok=10**6)
        finally:
            bridge.kill()
    return result


def _serial_bytes(run: Run, tty: str) -> int:
    """Bytes bravo received on its serial link (``links[]`` of status --json)."""
    status = run.cluster.status("bravo") or {}
    for link in status.get("links", []):
        if link.get("kind") == "serial" or tty in str(link.get("name", "")):
            return int(link.get("bytes_received", 0))
    return 0


BANDWIDTH_TIMERS = Timers(keepalive="1", deadtime="3", warntime="2", initdead="6")
"""§6 states the bandwidth budget at keepalive 1 s: measured there, nothing to scale."""
SECTION6_BUDGET_BITS = 2000
OUR_OVERHEAD = 1.15
"""Our status heartbeat carries ``hears`` (the peers we hear), which Heartbeat's lacks."""
MAX_PACKET = 1400


def s15_bandwidth() -> ScenarioResult:
    """15. idle cluster: our heartbeat traffic against real Heartbeat's, packets <= 1400 B.

    §6 asks for <= 2 kbit/s per node at keepalive 1 s, but one status heartbeat of
    Heartbeat 3.0.6 is 310 bytes (the wire fixtures), about 2.5 kbit/s of UDP payload per
    peer and medium: below the wire format's floor, which Heartbeat itself exceeds. So
    alpha's traffic is compared with real Heartbeat's alpha in the same lab, measured in
    the same run (or, where it is not installed, with that floor).
    """
    result = ScenarioResult("15 bandwidth idle")
    seconds = 60 if FULL else 10
    with two_nodes(timers=BANDWIDTH_TIMERS) as run:
        settle(run)
        ours = capture_sent(run.lab, "alpha", seconds)
        finish(run, result)
    result.details.append(f"info: hatui alpha -> bravo on eth0: {ours.describe()}")
    reference, label = _reference_traffic(seconds, ours, result)
    limit = OUR_OVERHEAD * reference
    result.details.append(
        f"info: §6 budget {SECTION6_BUDGET_BITS} bit/s is below the wire format's floor "
        f"({8 * wire_floor(BANDWIDTH_TIMERS.keepalive_s):.0f} bit/s: one 310 B status per "
        f"keepalive + an ACK per {ACK_EVERY}); checked instead: hatui <= {OUR_OVERHEAD} x {label}"
    )
    check(result, ours.bytes_per_s > 0, "alpha sent heartbeats")
    rate = f"{ours.bytes_per_s:.0f} B/s"
    check(result, ours.bytes_per_s <= limit, f"{rate} <= {OUR_OVERHEAD} x {reference:.0f} B/s")
    check(result, 0 < ours.largest <= MAX_PACKET, f"packets <= {MAX_PACKET} B ({ours.largest})")
    conclude(result)
    return result


def _reference_traffic(seconds: float, ours: Traffic, result: ScenarioResult) -> tuple[float, str]:
    """Real Heartbeat's bytes/s in the same lab, or the wire floor where it is missing.

    Returns the bytes/s and how to name them; what was measured goes to ``result``.
    """
    reason = realhb_unavailable_reason()
    if reason is not None:
        floor = wire_floor(BANDWIDTH_TIMERS.keepalive_s)
        return floor, f"the wire-format floor {floor:.0f} B/s (no Heartbeat here: {reason})"
    real = real_heartbeat_traffic(BANDWIDTH_TIMERS, HARESOURCES, seconds, settle=6.0)
    label = f"Heartbeat {heartbeat_version()} {real.bytes_per_s:.0f} B/s"
    detail = f"info: Heartbeat {heartbeat_version()} alpha -> bravo on eth0: {real.describe()}"
    ours_status, real_status = ours.first_status(), real.first_status()
    if ours_status and real_status:
        detail += f"; {compare_fields(ours_status, real_status)}"
    result.details.append(detail)
    return real.bytes_per_s, label


def s19_delay_beyond_deadtime() -> ScenarioResult:
    """19. delay 3 s (> deadtime) on alpha's heartbeats, with STONITH.

    bravo declares alpha dead after deadtime and fences it before taking over (single
    owner in every sample); once the delay is gone, alpha boots again and rejoins
    within 2 x initdead. The power cycle takes the emulator down with alpha, as a
    reboot loses a netem qdisc on the node's interface.
    """
    from lab.faults import netem

    result = ScenarioResult("19 delay 3s > deadtime")
    initdead = Timers.seconds(TIMERS.initdead)
    with fenced_nodes() as (run, switch):
        settle(run)
        t0 = time.monotonic()
        with netem(run.lab, "alpha", "eth0", "delay 3000ms", "egress") as shaping:
            wait_until(lambda: run.deaths("bravo") >= 1, 10, 0.02, "bravo sees alpha dead")
            result.detection_ms = (time.monotonic() - t0) * 1000
            run.wait_holder("bravo", 20)
        result.gap_ms = gap_ms(run, t0)
        deadtime_ms = TIMERS.deadtime_s * 1000
        early = deadtime_ms - TIMERS.keepalive_s * 1000 - 50
        check(result, early <= result.detection_ms <= deadtime_ms + 800, "detected in the window")
        check(result, switch.resets() == ["alpha"], f"alpha fenced once ({switch.resets()})")
        lines = run.log("bravo")
        reset = first_index(lines, "node alpha now reset.")
        check(result, 0 <= reset < first_index(lines, "Acquiring resource group"), "fence first")
        result.details.append(f"info: emulator {shaping.stats.get('egress', {})}")
        wait_until(lambda: run.lab.ping("bravo", run.lab.nodes["alpha"].address(0)), 10, 0.2,
                   "alpha powered on")  # fmt: skip
        booted = time.monotonic()
        run.cluster.start("alpha")
        run.cluster.wait_all_active(2 * initdead, ["alpha", "bravo"])
        rejoin = time.monotonic() - booted
        result.details.append(f"info: rejoined {rejoin:.1f} s after alpha's engine started")
        check(result, rejoin <= 2 * initdead, f"rejoin within 2 x initdead ({2 * initdead:.0f} s)")
        wait_until(lambda: len(run.holder()) == 1, 30, 0.05, "one owner after the rejoin")
        time.sleep(3)
        check(result, run.deaths("alpha") == 0, "the rebooted alpha declared nobody dead")
        check(result, len(run.holder()) == 1, f"single owner after the rejoin ({run.holder()})")
        finish(run, result)
    return result


def s22_cpu_starvation() -> ScenarioResult:
    """22. alpha limited to 5 % CPU for 30 s: no failover, or a logged stall; never dual."""
    result = ScenarioResult("22 CPU starved 5% 30s")
    with two_nodes() as run:
        settle(run)
        t0 = time.monotonic()
        with cpu_starved(run.lab, "alpha", 5):
            time.sleep(30 if FULL else 15)
        time.sleep(3)
        deaths = run.deaths("bravo")
        stalls = log_count(run, "alpha", "main loop stalled")
        result.details.append(f"info: bravo deaths {deaths}, alpha stall logs {stalls}")
        check(result, deaths == 0 or stalls > 0, "no failover, or a self-detected stall")
        check(result, len(run.holder()) == 1, "single owner after")
        dual = audits.dual_owner_samples([s for s in run.sampler.samples if s.time >= t0])
        result.dual_owner = dual
        finish(run, result, allow=[r"stall", r"Late heartbeat", r"Both machines own"])
    return result


# ------------------------------------------------------------------- freeze / STONITH


def s24_freeze_with_stonith() -> ScenarioResult:
    """24. freeze alpha 3 x deadtime with STONITH: fenced before bravo acquires."""
    result = ScenarioResult("24 freeze 3x deadtime + STONITH")
    with fenced_nodes() as (run, switch):
        settle(run)
        with frozen(run.lab, "alpha") as started:
            run.wait_holder("bravo", TIMERS.deadtime_s + 10)
            result.detection_ms = (time.monotonic() - started) * 1000
            time.sleep(max(0.0, started + 3 * TIMERS.deadtime_s - time.monotonic()))
        time.sleep(2)
        check(result, run.holder() == {"bravo"}, "only bravo after the resume")
        check(result, switch.resets() == ["alpha"], f"alpha fenced once ({switch.resets()})")
        check(result, not run.cluster.engines["alpha"].alive(), "alpha's engine is gone")
        lines = run.log("bravo")
        reset = first_index(lines, "node alpha now reset.")
        check(result, 0 <= reset < first_index(lines, "Acquiring resource group"), "fence first")
        run.crashed["alpha"] = time.monotonic() + 1e9  # power-cycled: no leftover audit
        finish(run, result)
    return result


MONITOR = "monitor_interval = 1\nmonitor_timeout = 2\nmonitor_restarts = 1\nmonitor_window = 120\n"
"""hatui.conf lines (never ha.cf, which real Heartbeat would refuse)."""
MONITOR_BUDGET_S = 1 + 2 + 1.0
"""interval + timeout + 1 s for the kill, scheduling and the 50 ms polling."""


def _web_monitor(run: Run) -> dict[str, object]:
    """alpha's ``groups[0].monitor`` (failures, restarts, recovery...)."""
    status = run.cluster.status("alpha") or {}
    value = (status.get("groups") or [{}])[0].get("monitor") or {}
    return dict(value)


def _served_by(run: Run) -> str | None:
    reply = run.lab.http_get(VIP, WEB_PORT, timeout=0.2)
    return None if reply is None or reply.status != 200 else reply.body


def _freeze_web(run: Run) -> float:
    """SIGSTOP alpha's web server process only (never the engine)."""
    pid = int((run.lab.node_dirs("alpha")[0] / "hbweb.pid").read_text())
    os.kill(pid, signal.SIGSTOP)
    return time.monotonic()


def s26_freeze_service() -> ScenarioResult:
    """26. freeze only the service process: the monitor timeout detects it within
    interval + timeout, alpha restarts the group, a second freeze moves it to bravo."""
    result = ScenarioResult("26 freeze the service process")
    web = f"alpha IPaddr2::{VIP}/24/eth0 hbweb\n"
    scripts = {"hbweb": hbweb_script()}
    with two_nodes(start=(), haresources=web, scripts=scripts, hatui_conf=MONITOR) as run:
        for name in run.cluster.names:
            (run.lab.node_dirs(name)[0] / "hbweb.probe").touch()
            run.cluster.start(name)
        settle(run)
        wait_until(lambda: int(_web_monitor(run).get("checks") or 0) >= 1, 10, 0.05, "a check")
        frozen_at = _freeze_web(run)
        wait_until(lambda: _web_monitor(run).get("failures") == 1, 10, 0.05, "failure 1")
        result.detection_ms = (time.monotonic() - frozen_at) * 1000
        wait_until(lambda: _served_by(run) == "alpha", 10, 0.02, "alpha serves again")
        result.gap_ms = (time.monotonic() - frozen_at) * 1000
        try:
            wait_until(lambda: _web_monitor(run).get("recovery") == "restarted", 5, 0.05, "ok")
        except TimeoutError:
            check(result, False, f"restarted in place ({_web_monitor(run)})")
        check(result, (result.detection_ms or 0) <= MONITOR_BUDGET_S * 1000,
              f"detected within interval+timeout+1 s ({result.detection_ms:.0f} ms)")  # fmt: skip
        again = _freeze_web(run)
        wait_until(lambda: _served_by(run) == "bravo", 15, 0.02, "bravo serves")
        moved_s = time.monotonic() - again
        wait_until(lambda: _web_monitor(run).get("recovery") == "moved", 5, 0.05, "moved")
        result.details.append(
            f"info: detected {result.detection_ms:.0f} ms, served again by alpha after "
            f"{result.gap_ms:.0f} ms; second freeze: bravo serves after {moved_s:.2f} s"
        )
        check(result, held_by(run, "bravo") == "bravo", "bravo holds the group")
        stops = [e.time for e in service_events(run.lab.node_dirs("alpha")[0])
                 if e.action == "stopped"]  # fmt: skip
        starts = [e.time for e in service_events(run.lab.node_dirs("bravo")[0])
                  if e.action == "start"]  # fmt: skip
        check(result, bool(stops and starts) and stops[-1] < starts[0], "stopped before started")
        check(result, log_count(run, "alpha", "failed its monitor: timeout") == 2, "2 timeouts")
        finish(run, result, allow=[r"failed its monitor", r"hbweb status timed out"])
    return result


def s29_cut_with_stonith() -> ScenarioResult:
    """29. symmetric cut, STONITH on both: exactly one fence, the survivor owns."""
    result = ScenarioResult("29 split brain + STONITH")
    with fenced_nodes(delay=2.0) as (run, switch):
        settle(run)
        t0 = time.monotonic()
        run.lab.link_down("alpha", "eth0")
        wait_until(lambda: switch.resets(), 10, 0.05, "a fence")
        result.detection_ms = (time.monotonic() - t0) * 1000
        time.sleep(4)  # past the loser's delay: it must not fence too
        resets = switch.resets()
        check(result, len(resets) == 1, f"exactly one fence ({resets})")
        loser = resets[0] if resets else ""
        survivor = "alpha" if loser == "bravo" else "bravo"
        check(result, run.lab.holders_via_ip(VIP) == {survivor}, f"{survivor} owns the group")
        run.lab.link_up("alpha", "eth0")
        run.crashed[loser] = time.monotonic() + 1e9
        down = [r"write failure on ucast eth0", r"Gratuitous ARP for .* on eth0 failed"]
        finish(run, result, allow=down)
    return result


def s30_cut_without_stonith() -> ScenarioResult:
    """30. symmetric cut, no STONITH: dual ownership after deadtime (loud), one owner on heal."""
    result = ScenarioResult("30 split brain, no STONITH")
    with two_nodes() as run:
        settle(run)
        t0 = time.monotonic()
        run.lab.link_down("alpha", "eth0")
        wait_until(lambda: run.holder() == {"alpha", "bravo"}, 10, 0.02, "dual ownership")
        result.detection_ms = (time.monotonic() - t0) * 1000
        time.sleep(2)
        healed = time.monotonic()
        run.lab.link_up("alpha", "eth0")
        wait_until(lambda: len(run.holder()) == 1, 15, 0.02, "single owner after heal")
        took = time.monotonic() - healed
        result.gap_ms = took * 1000
        time.sleep(3)
        check(result, len(run.holder()) == 1, "still single owner")
        check(result, took <= TIMERS.deadtime_s + STOP_START_S, f"healed in {took:.1f} s")
        crit = log_count(run, "alpha", "CRIT") + log_count(run, "bravo", "CRIT")
        check(result, crit > 0, "partition logged as CRIT")
        finish(run, result, allow=[r"CRIT", r"ERROR"], dual_ok=10**6)
    return result


def s32_stonith_device_failing() -> ScenarioResult:
    """32. fencing device down: no takeover, retries logged; recovery when it returns."""
    result = ScenarioResult("32 STONITH device failing")
    with fenced_nodes() as (run, switch):
        settle(run)
        switch.stop()
        t0 = run.crash("alpha")
        wait_until(
            lambda: log_count(run, "bravo", "STONITH of alpha failed.  Retrying...") >= 3,
            20, 0.1, "three failed fencing attempts",
        )  # fmt: skip
        check(result, not any("bravo" in h for h in samples_after(run, t0)), "no takeover")
        reason = (run.cluster.status("bravo") or {}).get("stonith", {}).get("last", {})
        result.details.append(f"info: last fence {reason.get('alpha')}")
        switch.start()
        run.wait_holder("bravo", 15)
        result.gap_ms = (time.monotonic() - t0) * 1000
        finish(run, result, allow=[r"STONITH", r"fenc", r"stonith", r"Host alpha not reset!"])
    return result


def s33_ping_ipfail() -> ScenarioResult:
    """33. router unreachable from the active only: moves; from both: no move."""
    result = ScenarioResult("33 ping node lost (ipfail)")
    deadping = 1.5
    extra = (
        f"ping {CLIENT_ADDRESS}\ndeadping {int(deadping * 1000)}ms\n"
        "respawn hacluster /usr/libexec/heartbeat/ipfail\n"
    )
    with two_nodes(extra=extra) as run:
        settle(run, ping=True)
        t0 = time.monotonic()
        _blackhole(run, "alpha")
        run.wait_holder("bravo", deadping + 15)
        result.gap_ms = (time.monotonic() - t0) * 1000
        check(result, run.deaths("bravo") == 0, "a hand-over, not a death")
        check(result, result.gap_ms <= (deadping + STOP_START_S + 3) * 1000, "moved in time")
        _blackhole(run, "bravo")
        wait_until(lambda: _ping_state(run, "bravo") == "dead", 10, 0.1, "bravo lost router")
        time.sleep(3 * deadping)
        check(result, run.holder() == {"bravo"}, "both unreachable: no move")
        finish(run, result, allow=[rf"write failure on ping {CLIENT_ADDRESS}"])
    return result


def _blackhole(run: Run, node: str) -> None:
    run.lab.nodes[node].exec(["ip", "route", "add", "blackhole", f"{CLIENT_ADDRESS}/32"])


def _ping_state(run: Run, observer: str) -> str | None:
    for node in (run.cluster.status(observer) or {}).get("nodes", []):
        if node["name"] == CLIENT_ADDRESS:
            return str(node["status"])
    return None


# --------------------------------------------------------- resources, standby, failback


def s34_standby() -> ScenarioResult:
    """34. hb_standby all on the active: the group moves, 'standby done', single owner."""
    result = ScenarioResult("34 hb_standby on active")
    with two_nodes() as run:
        settle(run)
        t0 = time.monotonic()
        proc = hactl(run, "alpha", "standby", "all")
        check(result, proc.returncode == 0, f"standby accepted: {proc.stderr.strip()}")
        run.wait_holder("bravo", STOP_START_S + 5)
        result.gap_ms = gap_ms(run, t0)
        wait_until(lambda: log_count(run, "alpha", "Standby resource acquisition done") +
                   log_count(run, "bravo", "Standby resource acquisition done"), 5, 0.05,
                   "standby done")  # fmt: skip
        done = time.monotonic() - t0
        result.detection_ms = done * 1000
        check(result, done <= STOP_START_S + 1 + 1, f"standby done in {done:.1f} s")
        check(result, audits.dual_owner_samples(run.sampler.samples) == 0, "never dual")
        finish(run, result)
    return result


def s35_standby_peer_down() -> ScenarioResult:
    """35. hb_standby with the peer down: refused with a reason, non-zero exit."""
    result = ScenarioResult("35 hb_standby, peer down")
    with two_nodes() as run:
        settle(run)
        run.crash("bravo")
        wait_until(lambda: run.deaths("alpha") >= 1, 10, 0.05, "alpha sees bravo dead")
        t0 = time.monotonic()
        proc = hactl(run, "alpha", "standby", "all")
        result.details.append(f"info: hactl exit {proc.returncode}: {proc.stderr.strip()}")
        check(result, proc.returncode != 0, "non-zero exit")
        check(result, "bravo" in proc.stderr, "message names the peer")
        time.sleep(2)
        check(result, moves(samples_after(run, t0)) == [{"alpha"}], "nothing moved")
        finish(run, result)
    return result


def s36_takeover() -> ScenarioResult:
    """36. hb_takeover on the standby: the group moves to the requester."""
    result = ScenarioResult("36 hb_takeover on standby")
    with two_nodes() as run:
        settle(run)
        t0 = time.monotonic()
        proc = hactl(run, "bravo", "takeover", "all")
        check(result, proc.returncode == 0, f"takeover accepted: {proc.stderr.strip()}")
        run.wait_holder("bravo", STOP_START_S + 5)
        result.gap_ms = gap_ms(run, t0)
        check(result, audits.dual_owner_samples(run.sampler.samples) == 0, "never dual")
        finish(run, result)
    return result


def s37_standby_in_flux() -> ScenarioResult:
    """37. a standby request during a transition is refused as transient; a retry works."""
    result = ScenarioResult("37 hb_standby in flux, retry")
    # a 3 s member start keeps the transition open longer than hactl takes to start
    slow = '#!/bin/sh\n[ "$1" = start ] && sleep 3\nexit 0\n'
    haresources = f"alpha IPaddr2::{VIP}/24/eth0 slow\n"
    with two_nodes(haresources=haresources, scripts={"slow": slow}) as run:
        settle(run)
        time.sleep(4)  # alpha's own slow start finishes first
        first = hactl(run, "alpha", "standby", "all")
        second = hactl(run, "bravo", "standby", "all")
        result.details.append(f"info: during transition: {second.stderr.strip()}")
        check(result, first.returncode == 0, "first standby accepted")
        check(result, second.returncode != 0, "second refused during the transition")
        transient = ("flux", "in progress")
        check(result, any(t in second.stderr for t in transient), "refusal says transient")
        run.wait_holder("bravo", 10)
        for _ in range(10):  # the CTS retry loop: 2 s apart
            time.sleep(2)
            retry = hactl(run, "bravo", "standby", "all")
            if retry.returncode == 0:
                break
        check(result, retry.returncode == 0, f"retry accepted: {retry.stderr.strip()}")
        run.wait_holder("alpha", 10)
        check(result, audits.dual_owner_samples(run.sampler.samples) == 0, "never dual")
        finish(run, result)
    return result


def _order_group(members: str = "ord1 ord2") -> tuple[str, dict[str, str]]:
    names = members.split()
    return (f"alpha IPaddr2::{VIP}/24/eth0 {members}\n", {n: ORDER_SCRIPT for n in names})


def _order_log(run: Run, node: str) -> list[str]:
    path = run.lab.node_dirs(node)[1] / "order.log"
    if not path.exists():
        return []
    return [" ".join(line.split()[1:]) for line in path.read_text().splitlines()]


def s38_group_ordering() -> ScenarioResult:
    """38. members start left to right and stop right to left."""
    result = ScenarioResult("38 group ordering")
    haresources, scripts = _order_group()
    with two_nodes(haresources=haresources, scripts=scripts) as run:
        settle(run)
        wait_until(lambda: len(_order_log(run, "alpha")) >= 2, 10, 0.05, "members started")
        hactl(run, "alpha", "standby", "all")
        run.wait_holder("bravo", 10)
        wait_until(lambda: len(_order_log(run, "bravo")) >= 2, 10, 0.05, "bravo started")
        alpha, bravo = _order_log(run, "alpha"), _order_log(run, "bravo")
        result.details.append(f"info: alpha {alpha}; bravo {bravo}")
        check(result, alpha[:2] == ["start ord1", "start ord2"], "start left to right")
        check(result, alpha[2:4] == ["stop ord2", "stop ord1"], "stop right to left")
        check(result, bravo[:2] == ["start ord1", "start ord2"], "bravo starts in order")
        finish(run, result)
    return result


def s39_start_fails_on_takeover() -> ScenarioResult:
    """39. a member fails to start on bravo: partial group stopped in reverse, bounded retries."""
    result = ScenarioResult("39 member start fails")
    haresources, scripts = _order_group("ord1 bad ord3")
    with two_nodes(haresources=haresources, scripts=scripts) as run:
        settle(run)
        (run.lab.node_dirs("bravo")[0] / "resource.d" / "FAIL_start_bad").touch()
        t0 = run.crash("alpha")
        wait_until(lambda: "stop ord1" in _order_log(run, "bravo"), 20, 0.1, "rollback")
        time.sleep(15 if FULL else 8)
        log = _order_log(run, "bravo")
        result.details.append(f"info: bravo {log[:8]}{' ...' if len(log) > 8 else ''}")
        first = log[:4]
        rollback = ["start ord1", "start bad", "stop bad", "stop ord1"]
        check(result, first == rollback, f"rollback in reverse {first}")
        check(result, "start ord3" not in log, "ord3 never started")
        attempts = log.count("start bad")
        check(result, attempts <= 3, f"bounded retries ({attempts} attempts)")
        check(result, not any("bravo" in h for h in samples_after(run, time.monotonic() - 2)),
              "bravo does not keep a half group")  # fmt: skip
        _ = t0
        finish(run, result, allow=[r"bad", r"start", r"resource", r"acquire", r"owns"])
    return result


def s40_stop_fails_on_release() -> ScenarioResult:
    """40. a member fails to stop on alpha: bravo never starts the group; never dual owner."""
    result = ScenarioResult("40 member stop fails")
    haresources, scripts = _order_group("ord1 sticky")
    with two_nodes(haresources=haresources, scripts=scripts) as run:
        settle(run)
        (run.lab.node_dirs("alpha")[0] / "resource.d" / "FAIL_stop_sticky").touch()
        t0 = time.monotonic()
        proc = hactl(run, "alpha", "standby", "all")
        result.details.append(f"info: standby exit {proc.returncode}")
        time.sleep(10)
        check(result, "start ord1" not in _order_log(run, "bravo"), "bravo never started it")
        check(result, audits.dual_owner_samples(samples_after_s(run, t0)) == 0, "never dual")
        (run.lab.node_dirs("alpha")[0] / "resource.d" / "FAIL_stop_sticky").unlink()
        finish(run, result, allow=[r"sticky", r"stop", r"resource", r"release", r"owns"])
    return result


def samples_after_s(run: Run, t0: float) -> list[Sample]:
    """Samples at/after ``t0``."""
    return [s for s in list(run.sampler.samples) if s.time >= t0]


# ------------------------------------------------------------ security and robustness


def s41_authkeys_modes() -> ScenarioResult:
    """41. authkeys 0644 / 0622 / symlink / wrong owner: refuses to start, says why."""
    result = ScenarioResult("41 authkeys permissions")
    with two_nodes(start=()) as run:
        config_dir, state_dir = run.lab.node_dirs("alpha")
        keyfile = config_dir / "authkeys"
        good = keyfile.read_text()
        cases: list[tuple[str, Callable[[], None]]] = [
            ("0644", lambda: keyfile.chmod(0o644)),
            ("0622", lambda: keyfile.chmod(0o622)),
            ("symlink", lambda: _symlink(keyfile, good)),
            ("owner", lambda: os.chown(keyfile, 65534, 65534)),
        ]
        for label, damage in cases:
            _restore(keyfile, good)
            damage()
            proc = run.lab.nodes["alpha"].exec(
                [sys.executable, "-m", "engine.programs.haengine", "--config-dir", str(config_dir),
                 "--state-dir", str(state_dir), "--node", "alpha"],
                check=False, timeout=20,
            )  # fmt: skip
            text = (proc.stdout + proc.stderr).strip().splitlines()
            said = next((line for line in text if "authkeys" in line), text[-1] if text else "")
            result.details.append(f"info: {label}: exit {proc.returncode}: {said[-160:]}")
            check(result, proc.returncode != 0, f"{label}: non-zero exit")
            check(result, "authkeys" in said, f"{label}: message names the file")
        _restore(keyfile, good)
        result.passed = not [d for d in result.details if d.startswith("check:")]
    return result


def _symlink(keyfile: Path, text: str) -> None:
    target = keyfile.with_name("authkeys.real")
    target.write_text(text)
    target.chmod(0o600)
    keyfile.unlink()
    keyfile.symlink_to(target)


def _restore(keyfile: Path, text: str) -> None:
    if keyfile.is_symlink() or keyfile.exists():
        keyfile.unlink()
    keyfile.write_text(text)
    keyfile.chmod(0o600)
    os.chown(keyfile, 0, 0)


def s42_wrong_key() -> ScenarioResult:
    """42. bravo has another key: packets rejected and counted, never alive, no crash."""
    result = ScenarioResult("42 peer with wrong key")
    with two_nodes(start=()) as run:
        keyfile = run.lab.node_dirs("bravo")[0] / "authkeys"
        keyfile.write_text("auth 1\n1 sha1 a-completely-different-key\n")
        for name in run.cluster.names:
            run.cluster.start(name)
        time.sleep(12)
        for me, peer in (("alpha", "bravo"), ("bravo", "alpha")):
            status = run.cluster.status(me) or {}
            state = next((n["status"] for n in status.get("nodes", []) if n["name"] == peer), None)
            rejected = status.get("counters", {}).get("rejected", {})
            result.details.append(f"info: {me} sees {peer} {state}; rejected {rejected}")
            check(result, state != "active", f"{me} never considers {peer} alive")
            check(result, sum(rejected.values()) > 0, f"{me} counts rejected packets")
        lines = [line for line in run.log("alpha") if "auth" in line.lower()]
        check(result, len(lines) <= 12 * 5 + 5, f"auth failures rate-limited ({len(lines)})")
        # both think they are alone: dual ownership is the documented outcome without fencing
        finish(run, result, allow=[r"auth", r"Both machines own"], dual_ok=10**6)
    return result


def s44_replay() -> ScenarioResult:
    """44. replay alpha's captured packets after killing it: bravo still declares it dead."""
    result = ScenarioResult("44 replay after SIGKILL")
    extra = f"ucast eth0 {CLIENT_ADDRESS}\n"
    with two_nodes(extra=extra) as run:
        settle(run)
        sock = run.lab.client_socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((CLIENT_ADDRESS, 694))
        sock.settimeout(0.2)
        captured: list[bytes] = []
        stop = time.monotonic() + 3
        while time.monotonic() < stop:
            try:
                data, source = sock.recvfrom(65536)
            except OSError:
                continue
            if source[0] == run.lab.nodes["alpha"].address(0):
                captured.append(data)
        sock.settimeout(None)
        before = (run.cluster.status("bravo") or {}).get("counters", {})
        t0 = run.crash("alpha")
        bravo = (run.lab.nodes["bravo"].address(0), 694)
        sent = 0
        while run.deaths("bravo") < 1 and time.monotonic() - t0 < 10:
            for data in captured:
                sock.sendto(data, bravo)
                sent += 1
            time.sleep(0.05)
        result.detection_ms = (time.monotonic() - t0) * 1000
        sock.close()
        after = (run.cluster.status("bravo") or {}).get("counters", {})
        grew = {k: v - before.get(k, 0) for k, v in after.items()
                if isinstance(v, int) and v != before.get(k, 0)}  # fmt: skip
        grew.update({k: v - before.get("rejected", {}).get(k, 0)
                     for k, v in after.get("rejected", {}).items()})  # fmt: skip
        result.details.append(f"info: captured {len(captured)}, replayed {sent}, rejected +{grew}")
        check(result, len(captured) > 5, "captured alpha's heartbeats")
        check(result, run.deaths("bravo") >= 1, "alpha declared dead despite the replay")
        check(result, result.detection_ms <= TIMERS.deadtime_s * 1000 + 800, "within deadtime")
        counted = sum(v for k, v in grew.items() if "dup" in k or "replay" in k or k in
                      after.get("rejected", {}))  # fmt: skip
        check(result, counted > 0, "replays counted (rejected/duplicate counters)")
        run.wait_holder("bravo")
        finish(run, result, allow=[r"replay", r"seq", r"generation"])
    return result


def s46_fuzz_100k() -> ScenarioResult:
    """46. 100 k malformed datagrams at alpha: alive, RSS < +10 MB, no state change, quiet."""
    result = ScenarioResult("46 fuzz 100k datagrams")
    with two_nodes() as run:
        settle(run)
        pid = run.cluster.engines["alpha"].pid
        rss = _rss_kib(pid)
        lines = len(run.log("alpha"))
        sock = run.lab.client_socket(socket.AF_INET, socket.SOCK_DGRAM)
        target = (run.lab.nodes["alpha"].address(0), 694)
        t0 = time.monotonic()
        for i, data in enumerate(mutated_datagrams(100_000, seed=46)):
            try:
                sock.sendto(data, target)
            except OSError:
                pass
            if i % 2000 == 1999:
                time.sleep(0.02)
        took = time.monotonic() - t0
        sock.close()
        time.sleep(1)
        growth = _rss_kib(pid) - rss
        logged = len(run.log("alpha")) - lines
        result.details.append(f"info: {took:.1f} s, RSS +{growth} KiB, {logged} log lines")
        check(result, run.cluster.engines["alpha"].alive(), "alpha alive")
        check(result, growth < 10 * 1024, "RSS growth < 10 MB")
        check(result, logged <= 5 * (took + 1) + 10, "<= 5 log lines/s")
        check(result, run.deaths("alpha") == 0 and run.deaths("bravo") == 0, "no deaths")
        check(result, run.holder() == {"alpha"}, "no state change")
        finish(run, result)
    return result


BAD_CONFIGS: dict[str, tuple[str, str]] = {
    "deadtime <= 2 x keepalive": ("keepalive 2\ndeadtime 3\n", "ha.cf:"),
    "initdead < deadtime": ("deadtime 10\ninitdead 5\n", "ha.cf:"),
    "unknown directive": ("keepalive_typo 2\n", "keepalive_typo"),
    "duplicate node": ("node alpha\n", "ha.cf:"),
}


def s48_config_validation() -> ScenarioResult:
    """48. bad ha.cf/haresources refused with file:line in the message (--check-config)."""
    result = ScenarioResult("48 config validation")
    with Lab(["alpha"], networks=1, client=False) as lab:
        config_dir, state_dir = lab.node_dirs("alpha")
        cases = dict(BAD_CONFIGS)
        cases["missing node"] = ("", "")
        cases["bad haresources"] = ("", "haresources:")
        for label, (extra, needle) in cases.items():
            nodes = ["bravo"] if label == "missing node" else ["alpha", "bravo"]
            write_config(config_dir, nodes, ["ucast eth0 10.99.0.2"], deadtime="2",
                         keepalive="200ms", initdead="4", extra=extra, log_dir=state_dir,
                         haresources="alpha NoSuchAgent::x::y ::\n"
                         if label == "bad haresources" else HARESOURCES)  # fmt: skip
            proc = lab.nodes["alpha"].exec(
                [sys.executable, "-m", "engine.programs.haengine", "--config-dir", str(config_dir),
                 "--state-dir", str(state_dir), "--node", "alpha", "--check-config"],
                check=False, timeout=30,
            )  # fmt: skip
            text = (proc.stdout + proc.stderr).strip()
            said = next((x for x in text.splitlines() if ("ERROR" in x or "error" in x)), text)
            result.details.append(f"info: {label}: exit {proc.returncode}: {said[-150:]}")
            check(result, proc.returncode != 0, f"{label}: refused")
            wanted = needle or "alpha"
            check(result, wanted in text, f"{label}: message has {wanted!r}")
        result.passed = not [d for d in result.details if d.startswith("check:")]
    return result


def unsupported(exc: LabUnsupported, name: str) -> ScenarioResult:
    """A SKIP row for a fault this machine cannot inject."""
    return ScenarioResult(name, skipped=str(exc))


_ = (ucast_lines, HARESOURCES)
