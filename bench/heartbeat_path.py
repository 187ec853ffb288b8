"""Python cost of one heartbeat in the sans-I/O membership core, without sockets or clocks.

Two cores (alpha, bravo) with two links exchange status heartbeats on a fake clock that
advances one keepalive per round, once per authkeys method: ``sha1`` (what Heartbeat
clusters use), ``sha256`` and the encrypting ``aes256gcm`` and ``chacha20poly1305``
(hatui-only clusters; the datagram is sealed instead of signed twice). Per round, bravo
does what the shell makes it do on its two kinds of wake-up, each timed with
``perf_counter``:

* send: the timer fires -> ``tick`` (our status: stamp, own copy, encode with two HMACs
  or one seal),
  drain events and datagrams, ``own_links_sent``, ``next_deadline``;
* receive: the peer's status arrives on both links -> ``receive`` twice (full decode and
  verify, then the byte-identical copy), ``has_work``, drains, ``next_deadline``.

ACKs (every tenth sequence number, to the peer and to ourselves, as Heartbeat does) fall
in the rounds where they happen, so the figures are per-heartbeat averages. Each run is
``--rounds`` rounds; the minimum over ``--runs`` runs is printed (the least disturbed by
other processes), with the ratio to sha1 and the size of one status datagram.
Deterministic input (random nonces aside), so the numbers compare across commits:
``python bench/heartbeat_path.py [--rounds 10000] [--runs 5] [--methods sha1,aes256gcm]``.

On a loaded machine, count instructions instead of time: run ``--rounds 1 --runs 1`` and
``--rounds 1001 --runs 1`` under ``valgrind --tool=callgrind`` (the real interpreter, not
a shim; ``PYTHONHASHSEED=0``) and divide the difference of the totals by 1000 (both
nodes' work per round).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.config.model import AuthConfig, AuthKey, SourceRef
from engine.core.membership import Membership
from engine.shell.realtime import quiet_garbage_collector
from tests.core.sim import WALL0, Net

KEEPALIVE_MS = 100
LINKS = ("eth0", "eth1")
METHODS = ("sha1", "sha256", "aes256gcm", "chacha20poly1305")
SECRET = b"bench-secret-0123456789abcdef0123"


def auth_for(method: str) -> AuthConfig:
    """``auth 1`` / ``1 <method> <secret>``."""
    return AuthConfig(1, (AuthKey(1, method, SECRET, SourceRef("authkeys", 2)),))


def _settled_pair(method: str = "sha1") -> tuple[Net, Membership, Membership]:
    """Alpha and bravo past start-up (comm up, both active, deadtime bump over)."""
    net = Net(
        keepalive=KEEPALIVE_MS, deadtime=500, warntime=300, initdead=1000, auth=auth_for(method)
    )
    net.start()
    net.run_for(8.0)
    quiet_garbage_collector()  # as the daemon does once it is up
    return net, net.nodes["alpha"].core, net.nodes["bravo"].core


def _wake_on_timer(core: Membership, now: float, wall: float) -> list[bytes]:
    """What the shell does with the core when its timer fires."""
    core.tick(now, wall)
    core.drain_events()
    out = core.drain_outbound()
    core.own_links_sent(set(LINKS), now)
    core.drain_events()
    core.next_deadline()
    return out


def _wake_on_input(core: Membership, datagrams: list[bytes], now: float, wall: float) -> None:
    """What the shell does with the core when the peer's copies arrive on every link."""
    for data in datagrams:
        for link in LINKS:
            core.receive(data, link, now, wall)
    if core.has_work():
        core.drain_events()
        core.drain_outbound()
        core.next_deadline()
    else:
        core.drain_events()


def run(rounds: int, method: str = "sha1") -> tuple[float, float, int]:
    """(µs per send wake-up, µs per receive wake-up, bytes of bravo's last datagram) for
    bravo over ``rounds`` keepalives with ``method``."""
    net, alpha, bravo = _settled_pair(method)
    size = 0
    now = net.now
    clock = time.perf_counter
    send_s = receive_s = 0.0
    for _ in range(rounds):
        now += KEEPALIVE_MS / 1000
        wall = WALL0 + now
        from_alpha = _wake_on_timer(alpha, now, wall)
        started = clock()
        from_bravo = _wake_on_timer(bravo, now, wall)
        sent = clock()
        size = len(from_bravo[-1]) if from_bravo else size
        _wake_on_input(bravo, from_alpha, now, wall)
        received = clock()
        _wake_on_input(alpha, from_bravo, now, wall)
        send_s += sent - started
        receive_s += received - sent
    _check_alive(alpha, bravo)
    return 1e6 * send_s / rounds, 1e6 * receive_s / rounds, size


def _check_alive(*cores: Membership) -> None:
    """The measurement is void if the pair fell apart (a bug, not a slow path)."""
    for core in cores:
        for peer in core.peers():
            if peer.status != "active" or any(ln.status != "up" for ln in peer.links.values()):
                raise RuntimeError(f"{core.me} sees {peer.name} {peer.status}: run is void")


def main(argv: list[str] | None = None) -> int:
    """Run every method, print µs per send and per receive (min over runs), their sum,
    the ratio to sha1 and the datagram size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10000, help="keepalives per run")
    parser.add_argument("--runs", type=int, default=5, help="runs; the minimum is printed")
    parser.add_argument(
        "--methods", default=",".join(METHODS), help="comma-separated authkeys methods"
    )
    args = parser.parse_args(argv)
    methods = [m for m in args.methods.split(",") if m]
    print(f"rounds {args.rounds} x runs {args.runs}, keepalive {KEEPALIVE_MS} ms, 2 links")
    print(f"{'method':<18} {'send µs':>8} {'receive µs':>11} {'per heartbeat':>14} "
          f"{'vs sha1':>8} {'bytes':>6}")  # fmt: skip
    measured: dict[str, tuple[float, float, int]] = {}
    for method in methods:
        results = [run(args.rounds, method) for _ in range(args.runs)]
        send = min(s for s, _, _ in results)
        receive = min(r for _, r, _ in results)
        measured[method] = (send, receive, results[-1][2])
    base = sum(measured.get("sha1", next(iter(measured.values())))[:2])
    for method, (send, receive, size) in measured.items():
        total = send + receive
        print(
            f"{method:<18} {send:8.1f} {receive:11.1f} {total:14.1f} {total / base:7.2f}x {size:6d}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
