"""The engine's loop is its heartbeat: loop lag under stress, on real engines (issue 15).

Two nodes in namespaces, keepalive 200 ms, deadtime 1 s, warntime 500 ms, a STONITH
device behind a slow link (``external/slowswitch``: cluster-glue's external-plugin
convention, 3 s per operation) and alpha holding a group of two resource.d scripts.
Each phase below stresses alpha in one way while its loop lag is measured by alpha
itself (``status --json`` ``loop``: every timer wake-up's lateness in a histogram) and
bravo's log is read for late heartbeats and deaths:

1. ha.cf touched (a comment) while probing the plugin takes 3 s: the reload applies
   when the probe answers and nothing else changes;
2. a fence through the slow plugin (3 s, then the switch gives up);
3. 200 control-socket clients subscribing at once;
4. a log storm: the group's status check prints 10 000 lines a second, every one of
   them logged at debug level;
5. the config dir's ``ha.cf`` turns into a FIFO nobody writes (a file system that blocks
   reads): the reload is refused when its read times out;
6. a resource whose stop hangs for seconds (standby moves the group to bravo).

bravo must log no late heartbeat from alpha and alpha no lag warning (a lag or a callback
beyond warntime/4) in any phase, and the p99 of alpha's loop lag over the whole run must
stay under 50 ms. Numbers per phase and for the run are printed (BENCHMARKS.md quotes
them).
``HATUI_LOOPLAG_LONG=1`` (or ``HATUI_SOAK=1``) runs every phase longer and repeats it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lab import EngineHandle, Lab, engine_importable, lab_unavailable_reason, wait_until
from lab.cluster import Cluster, Timers, ucast_lines

pytestmark = [pytest.mark.netns, pytest.mark.slow]

LONG = os.environ.get("HATUI_LOOPLAG_LONG") == "1" or os.environ.get("HATUI_SOAK") == "1"
REPEAT = 3 if LONG else 1
"""How often each phase runs."""
STORM_SECONDS = 20.0 if LONG else 6.0
CHATTY = (1, 2, 3, 4)
"""Resources whose status check storms the log: 10 000 lines each, about every second."""
SUBSCRIBERS = 200
SUBSCRIBE_HOLD = 10.0 if LONG else 2.0
STOP_HANG_S = 6 if LONG else 3
PLUGIN_DELAY_S = 3
LAG_P99_LIMIT_MS = 50.0
TIMERS = Timers(keepalive="200ms", deadtime="1", warntime="500ms", initdead="3")
SCRIPTS = Path(__file__).parent / "looplag"
RESULTS: list[str] = []


@dataclass
class Stressed:
    """The cluster and what the phases need to reach into."""

    lab: Lab
    cluster: Cluster
    state: Path
    """Prefix of the resource scripts' state files (each node appends its name)."""
    start: list[tuple[float, int]] = field(default_factory=list)
    """alpha's lag histogram when the phases began."""

    @property
    def alpha(self) -> EngineHandle:
        return self.cluster.engines["alpha"]

    @property
    def bravo(self) -> EngineHandle:
        return self.cluster.engines["bravo"]

    def config_dir(self, name: str = "alpha") -> Path:
        return self.lab.node_dirs(name)[0]


def _hatui_conf() -> str:
    return (
        "monitor_interval = 1\n"
        "stonith_timeout = 10\n"
        "config_read_timeout = 2\n"  # the FIFO phase waits this long for its refusal
    )


@pytest.fixture(scope="module")
def stressed() -> Iterator[Stressed]:
    reason = lab_unavailable_reason() or engine_importable()
    if reason is not None:
        pytest.skip(f"namespace lab not available: {reason}")
    with Lab(["alpha", "bravo"], networks=1, client=False) as lab:
        state = lab.workdir / "rsc"
        cluster = Cluster(
            lab,
            ucast_lines(lab, "eth0", 0),
            TIMERS,
            haresources=(
                f"alpha {' '.join(f'chatty::{state}-chatty{n}' for n in CHATTY)} "
                f"slowstop::{state}-slow\n"
            ),
            extra="stonith_host * external/slowswitch alpha bravo\n",
            scripts={name: (SCRIPTS / name).read_text() for name in ("chatty", "slowstop")},
            hatui_conf=_hatui_conf(),
        )
        for name in cluster.names:
            cluster.configure(name)
            external = lab.node_dirs(name)[0] / "stonith" / "external"
            external.mkdir(parents=True, exist_ok=True)
            shutil.copy(SCRIPTS / "slowswitch", external / "slowswitch")
            (external / "slowswitch.delay").write_text(f"{PLUGIN_DELAY_S}\n")
        cluster.start_all()
        cluster.wait_all_active(timeout=30)
        wait_until(lambda: _holds(cluster, "alpha"), 30, 0.1, "alpha holds its group")
        cluster.wait_settled()
        run = Stressed(lab, cluster, state)
        run.start = _histogram(run.alpha)
        yield run
        cluster.stop_all()


@pytest.fixture(scope="module", autouse=True)
def print_results(request: pytest.FixtureRequest) -> Iterator[None]:
    """The table of every phase, printed at the end even without ``-s``."""
    yield
    load = os.getloadavg()
    lines = [
        f"loop lag of alpha per phase (p99 limit {LAG_P99_LIMIT_MS:g} ms; load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, {os.cpu_count()} CPUs)",
        *RESULTS,
    ]
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print("\n" + "\n".join(lines))


def _intervals_heard(engine: EngineHandle, node: str) -> list[int]:
    """The recent heartbeat intervals ``engine`` measured from ``node`` (every link)."""
    entry = next(n for n in engine.status()["nodes"] if n["name"] == node)
    return [ms for link in entry["links"] for ms in link["intervals_ms"]]


def _holdings(status: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(g["key"], str(g["held_by"]), g["state"]) for g in status["groups"]]


def _holds(cluster: Cluster, node: str) -> bool:
    status = cluster.status(node)
    return bool(status) and any(
        g.get("held_by") == node and g.get("state") == "running" for g in status["groups"]
    )


# ----------------------------------------------------------------------- measuring


def _histogram(engine: EngineHandle) -> list[tuple[float, int]]:
    """alpha's loop-lag histogram: (upper bound ms, count), cumulative, +Inf last."""
    loop = engine.status()["loop"]
    return [(float(bound), int(count)) for bound, count in loop["histogram_ms"]]


def _quantile(before: list[tuple[float, int]], after: list[tuple[float, int]], q: float) -> float:
    """The q-quantile (ms) of the wake-ups between two cumulative histograms, with
    linear interpolation inside the bucket (as Prometheus' histogram_quantile)."""
    counts = [(b, a[1] - p[1]) for (b, _), a, p in zip(after, after, before, strict=True)]
    total = counts[-1][1]
    if total <= 0:
        return 0.0
    rank = q * total
    lower, below = 0.0, 0
    for bound, cumulative in counts:
        if cumulative >= rank:
            if bound == float("inf"):
                return lower
            inside = cumulative - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, cumulative
    return lower


def _max_bound(before: list[tuple[float, int]], after: list[tuple[float, int]]) -> float:
    """The upper bound of the highest bucket any wake-up of the interval fell in."""
    total = after[-1][1] - before[-1][1]
    for (bound, count), (_, earlier) in zip(after, before, strict=True):
        if count - earlier >= total:
            return bound
    return float("inf")


@dataclass
class PhaseResult:
    """What one phase measured."""

    name: str
    wakeups: int
    p99_ms: float
    max_ms: float
    late: list[str]
    deaths: list[str]
    seconds: float


@contextmanager
def phase(run: Stressed, name: str) -> Iterator[None]:
    """Measure alpha's loop lag and read bravo's log over the body of the ``with``."""
    hist = _histogram(run.alpha)
    loop_before = run.alpha.status()["loop"]
    bravo_lines = len(run.bravo.log_lines())
    alpha_lines = len(run.alpha.log_lines())
    started = time.monotonic()
    yield
    run.cluster.check_alive()
    after = _histogram(run.alpha)
    loop = run.alpha.status()["loop"]
    warnings = loop["warnings"] - loop_before["warnings"]
    cpu_wait = loop["cpu_wait_ms"] - loop_before["cpu_wait_ms"]
    new_bravo = run.bravo.log_lines()[bravo_lines:]
    new_alpha = run.alpha.log_lines()[alpha_lines:]
    result = PhaseResult(
        name=name,
        wakeups=after[-1][1] - hist[-1][1],
        p99_ms=_quantile(hist, after, 0.99),
        max_ms=_max_bound(hist, after),
        late=[line for line in new_bravo if "Late heartbeat: Node alpha" in line],
        deaths=[
            line
            for line in new_bravo + new_alpha
            if " is dead" in line or "main loop stalled" in line or "Local stall" in line
        ],
        seconds=time.monotonic() - started,
    )
    RESULTS.append(
        f"  {name:<44} {result.seconds:5.1f} s {result.wakeups:6d} wake-ups  "
        f"p99 {result.p99_ms:6.1f} ms  max <= {result.max_ms:6g} ms  CPU wait {cpu_wait:6.1f} ms  "
        f"lag warnings {warnings}  late heartbeats at bravo {len(result.late)}"
    )
    if result.max_ms >= LAG_P99_LIMIT_MS / 2:  # say what ran, for the reader of the table
        slow = ", ".join(f"{c['name']} {c['ms']} ms" for c in loop["slow_callbacks"])
        RESULTS.append(f"    (slowest recent callbacks of alpha: {slow or 'none'})")
    assert not result.deaths, "\n".join(result.deaths)
    assert not result.late, "\n".join(result.late)
    # the engine's own verdict: no lag (nor callback) beyond warntime/4 in the phase; the
    # p99 limit holds over the whole run (test_the_whole_run): a phase of a few seconds
    # has a few dozen wake-ups, where a p99 is the largest one
    assert warnings == 0, f"{loop['last_warning']}\n" + "\n".join(RESULTS[-2:])


def _wait_log(engine: EngineHandle, text: str, since: int, timeout: float) -> str:
    def found() -> str | None:
        return next((line for line in engine.log_lines()[since:] if text in line), None)

    return wait_until(found, timeout, 0.05, f"{engine.node.name} logs {text!r}")


# -------------------------------------------------------------------------- phases


def test_reload_with_a_slow_stonith_plugin(stressed: Stressed) -> None:
    """ha.cf's stonith line edited: the reload probes the plugin (3 s) off the loop and
    applies when it answers; heartbeats go on meanwhile."""
    hacf = stressed.config_dir() / "ha.cf"
    original = hacf.read_text()
    line = "stonith_host * external/slowswitch alpha bravo"
    edited = original.replace(line, "stonith_host * external/slowswitch bravo alpha")
    assert line in original
    for _ in range(REPEAT):
        since = len(stressed.alpha.log_lines())
        before = stressed.alpha.status()
        with phase(stressed, f"reload, plugin probe takes {PLUGIN_DELAY_S} s"):
            started = time.monotonic()
            hacf.write_text(edited)
            applied = _wait_log(stressed.alpha, "configuration reloaded", since, 20)
            took = time.monotonic() - started
            since = len(stressed.alpha.log_lines())
            hacf.write_text(original)
            _wait_log(stressed.alpha, "configuration reloaded", since, 20)
        assert took >= PLUGIN_DELAY_S, f"applied after {took:.1f} s: the probe did not run"
        assert "stonith changed: needs a restart" in applied, applied
        after = stressed.alpha.status()
        assert after["stonith"]["device"] == before["stonith"]["device"]
        assert after["counters"].get("deaths") == before["counters"].get("deaths")


def test_comment_only_reload_changes_nothing(stressed: Stressed) -> None:
    """A comment added to ha.cf: nothing to probe, nothing changes, no heartbeat lost."""
    hacf = stressed.config_dir() / "ha.cf"
    original = hacf.read_text()
    since = len(stressed.alpha.log_lines())
    before = stressed.alpha.status()
    with phase(stressed, "reload, a comment touched"):
        hacf.write_text(original + "# a comment, nothing else\n")
        line = _wait_log(stressed.alpha, "configuration reloaded", since, 20)
    intervals = _intervals_heard(stressed.bravo, "alpha")  # the last 32, ~6 s
    hacf.write_text(original)
    assert line.endswith("changed ha.cf: configuration reloaded, nothing changed"), line
    keepalive_ms = TIMERS.keepalive_s * 1000
    assert max(intervals) < 2 * keepalive_ms, f"a heartbeat went missing: {intervals}"
    after = stressed.alpha.status()
    for key in ("timing", "auto_failback"):
        assert after[key] == before[key], key
    assert _holdings(after) == _holdings(before)
    assert after["stonith"]["device"] == before["stonith"]["device"]


def test_fencing_with_a_slow_plugin(stressed: Stressed) -> None:
    """An operator's fence of bravo: the plugin takes 3 s and the switch gives up."""
    for _ in range(REPEAT):
        since = len(stressed.alpha.log_lines())
        with phase(stressed, f"fence through a plugin taking {PLUGIN_DELAY_S} s"):
            stressed.alpha.request("stonith", {"node": "bravo"})
            _wait_log(stressed.alpha, "Host bravo not reset!", since, 30)


def test_two_hundred_subscribers_at_once(stressed: Stressed) -> None:
    """200 control-socket clients connect, then all subscribe in the same instant."""
    for _ in range(REPEAT):
        with phase(stressed, f"{SUBSCRIBERS} clients subscribe at once"):
            answered = _subscribe_many(stressed.alpha.control_path, SUBSCRIBERS, SUBSCRIBE_HOLD)
        assert answered == SUBSCRIBERS


def test_log_storm(stressed: Stressed) -> None:
    """The group's chatty resources print 10 000 lines each at every status check (about
    one a second, a check lasting a moment): every line is logged at debug level."""
    storms = [Path(f"{stressed.state}-chatty{n}.alpha.storm") for n in CHATTY]
    debug_before = len(stressed.alpha.log_lines(debug=True))
    with phase(stressed, "log storm, 10 000+ lines/s"):
        for storm in storms:
            storm.write_text("10000\n")
        try:
            time.sleep(STORM_SECONDS)
        finally:
            for storm in storms:
                storm.unlink()
        _wait_quiet(stressed.alpha)  # the checks under way finish writing
    logged = len(stressed.alpha.log_lines(debug=True)) - debug_before
    rate = logged / STORM_SECONDS
    RESULTS.append(f"    (debug log: {logged} lines in {STORM_SECONDS:g} s, {rate:.0f} lines/s)")
    assert rate >= 10_000, RESULTS[-1]


def test_config_dir_that_blocks(stressed: Stressed) -> None:
    """ha.cf becomes a FIFO nobody writes: reading it blocks. SIGHUP: the reload is
    refused when the read times out (config_read_timeout = 2), heartbeats never wait
    for it, and a reload once the file is back applies as usual."""
    hacf = stressed.config_dir() / "ha.cf"
    saved = hacf.read_bytes()
    for _ in range(REPEAT):
        since = len(stressed.alpha.log_lines())
        with phase(stressed, "reload from a blocking file system"):
            hacf.unlink()
            os.mkfifo(hacf)
            try:
                stressed.alpha.proc.send_signal(signal.SIGHUP)
                line = _wait_log(stressed.alpha, "reload", since, 15)
            finally:
                _unblock_fifo(hacf)
                hacf.unlink()
                hacf.write_bytes(saved)
        assert "reload rejected, old configuration stays" in line, line
        assert "did not finish within 2 s" in line or "has not returned" in line, line
        assert stressed.alpha.status()["timing"]["keepalive_ms"] == 200
        since = len(stressed.alpha.log_lines())
        stressed.alpha.proc.send_signal(signal.SIGHUP)  # the file system is back
        recovered = _wait_log(stressed.alpha, "SIGHUP", since, 15)
        assert "configuration reloaded, nothing changed" in recovered, recovered


def test_resource_that_hangs_on_stop(stressed: Stressed) -> None:
    """Standby: alpha releases its group and the slow resource's stop hangs for seconds."""
    hang = Path(f"{stressed.state}-slow.alpha.hang")
    hang.write_text(f"{STOP_HANG_S}\n")
    with phase(stressed, f"resource stop hangs {STOP_HANG_S} s (standby)"):
        stressed.alpha.request("standby", {"which": "all"})
        wait_until(lambda: _holds(stressed.cluster, "bravo"), STOP_HANG_S + 20, 0.1, "bravo")
    hang.unlink()


def test_the_whole_run(stressed: Stressed) -> None:
    """Every phase together: the p99 of alpha's loop lag over the whole run."""
    after = _histogram(stressed.alpha)
    p99 = _quantile(stressed.start, after, 0.99)
    top = _max_bound(stressed.start, after)
    wakeups = after[-1][1] - stressed.start[-1][1]
    RESULTS.append(
        f"  {'the whole run':<44} {wakeups:14d} wake-ups  p99 {p99:6.1f} ms  max <= {top:6g} ms"
    )
    assert p99 < LAG_P99_LIMIT_MS, RESULTS[-1]


# ------------------------------------------------------------------------- helpers


def _subscribe_many(path: Path, count: int, hold: float) -> int:
    """Connect ``count`` clients, then send every ``subscribe`` before reading any
    reply; read replies and pushed events for ``hold`` seconds. Returns replies seen."""
    import selectors

    clients = []
    for _ in range(count):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(str(path))
        clients.append(sock)
    request = (json.dumps({"id": 1, "cmd": "subscribe", "args": {}}) + "\n").encode()
    for sock in clients:
        sock.sendall(request)
    answered: set[int] = set()
    buffers: dict[int, bytes] = {}
    with selectors.DefaultSelector() as selector:
        for sock in clients:
            selector.register(sock, selectors.EVENT_READ)
        deadline = time.monotonic() + hold
        while time.monotonic() < deadline or len(answered) < count:
            if time.monotonic() > deadline + 10:
                break
            for key, _ in selector.select(0.1):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                data = sock.recv(1 << 20)
                buffers[sock.fileno()] = buffers.get(sock.fileno(), b"") + data
                if b'"id":1' in buffers[sock.fileno()] or b'"id": 1' in buffers[sock.fileno()]:
                    answered.add(sock.fileno())
                    buffers[sock.fileno()] = b""
    for sock in clients:
        sock.close()
    return len(answered)


def _wait_quiet(engine: EngineHandle, timeout: float = 10.0) -> None:
    """Wait until the engine's debug log stops growing for half a second."""
    size, deadline = -1, time.monotonic() + timeout
    path = engine.state_dir / "ha-debug"
    while time.monotonic() < deadline:
        now = path.stat().st_size
        if now == size:
            return
        size = now
        time.sleep(0.5)


def _unblock_fifo(path: Path) -> None:
    """Let a reader blocked on opening the FIFO go (it reads an empty file)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return  # nobody is reading
    os.close(fd)
