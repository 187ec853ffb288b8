"""Setup wizard benchmark: the README's two-node web cluster, typed into `hatui setup`.

Runs the real wizard in a real terminal (its own tmux server, 80x24) on a fresh empty
directory and plays the keystrokes a person types for the README's first cluster:
this node (its name is prefilled), peer ``bravo``, ``ucast eth0 <alpha> <bravo>``, the
LAN preset, the generated key, ``IPaddr2 <vip>/24/eth0`` through the form plus
``apache2``, no STONITH, the default log files, then Ctrl+W. The addresses are this
machine's first IPv4 network (alpha = its own address, bravo = the next one, the VIP =
``.10`` of the network, probed like the README's 10.0.0.10) so the flow is the README's
on whatever machine runs it. Prints the keystrokes (a typed character counts as one)
and the seconds from launch to written files, with the part spent waiting for the
wizard (each key's effect, each step's screen) apart from the script's own pauses.

Usage: python bench/wizard.py [--runs 3] [--size 80x24]
"""

from __future__ import annotations

import argparse
import ipaddress
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hatui.wizard.discover import list_interfaces  # noqa: E402
from tests.wizard.terminal import KEY_PAUSE_S, Terminal, python_command  # noqa: E402


@dataclass
class Run:
    """What one scripted run cost."""

    keystrokes: int = 0
    waited_s: float = 0.0
    waits: list[tuple[str, float]] = field(default_factory=list)
    unseen: list[str] = field(default_factory=list)
    """Keys whose effect nothing on screen showed (each cost the 1 s settle limit)."""
    seconds: float = 0.0


class Typist:
    """Presses keys in a Terminal, counting them and the time spent waiting for screens."""

    def __init__(self, term: Terminal, run: Run) -> None:
        self.term, self.run = term, run

    def keys(self, *names: str) -> None:
        for name, seconds in zip(names, self.term.keys(*names), strict=True):
            self.run.waited_s += seconds or 0.0
            self.run.waits.append((name, seconds or 0.0))
            if seconds is None:
                self.run.unseen.append(name)
        self.run.keystrokes += len(names)

    def type(self, text: str) -> None:
        self.term.type(text, clear=False)
        self.run.keystrokes += len(text)

    def expect(self, text: str, timeout: float = 60.0) -> None:
        started = time.monotonic()
        self.term.wait_for(text, timeout)
        waited = time.monotonic() - started
        self.run.waited_s += waited
        self.run.waits.append((text, waited))


def addresses() -> tuple[str, str, str]:
    """(alpha, bravo, vip) in this machine's first non-loopback IPv4 network."""
    for nic in list_interfaces():
        if nic.loopback or not nic.addresses:
            continue
        own = ipaddress.IPv4Interface(nic.addresses[0])
        hosts = [h for h in own.network.hosts() if h != own.ip]
        vip = next((h for h in hosts if int(h) & 0xFF == 10), hosts[-1])
        peer = next(h for h in hosts if h != vip)
        return str(own.ip), str(peer), str(vip)
    raise SystemExit("no IPv4 network on this machine to play the README's cluster in")


def play(typist: Typist, alpha: str, bravo: str, vip: str) -> None:
    """The README's answers, step by step."""
    typist.expect("Step 1/9")
    typist.keys("Enter")  # this node: its name is already there
    typist.expect("Step 2/9")
    typist.type("bravo")
    typist.keys("Enter")
    typist.expect("Step 3/9")
    typist.type(f"eth0 {alpha} {bravo}")
    typist.keys("Enter")
    typist.expect("Step 4/9")
    typist.keys("NPage")  # the LAN preset
    typist.expect("Step 5/9")
    typist.keys("NPage")  # sha256, the generated key
    typist.expect("Step 6/9")
    typist.keys("Tab")  # IPaddr2 is the picker's first agent
    for text in (vip, "24", "eth0"):
        typist.type(text)
        typist.keys("Tab")
    typist.keys("Enter")  # Add
    typist.expect(f"added IPaddr2::{vip}/24/eth0")
    typist.keys("Tab", "End")  # the group line
    typist.type(" apache2")
    typist.keys("NPage")
    typist.expect("Step 7/9")
    typist.keys("NPage")
    typist.expect("No STONITH device configured")
    typist.keys("NPage")
    typist.expect("Step 8/9")
    typist.keys("NPage")
    typist.expect("Step 9/9")
    typist.expect(f"cluster IP {vip}:")
    typist.keys("C-w")
    typist.expect("wrote")


def one_run(size: tuple[int, int], alpha: str, bravo: str, vip: str) -> Run:
    run = Run()
    with tempfile.TemporaryDirectory(prefix="hatui-bench-wizard-") as tmp:
        etc = Path(tmp) / "ha.d"
        started = time.monotonic()
        command = python_command("-m", "hatui", "setup", "--config-dir", str(etc))
        term = Terminal("bench-wizard", command, size)
        try:
            play(Typist(term, run), alpha, bravo, vip)
            run.seconds = time.monotonic() - started
            if not (etc / "haresources").exists():
                raise SystemExit("the wizard did not write the files")
            term.keys("C-q")
        finally:
            term.close()
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size", default="80x24")
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.split("x"))
    alpha, bravo, vip = addresses()
    print(f"README cluster played as alpha={alpha} bravo={bravo} vip={vip}, {args.size}, "
          f"{KEY_PAUSE_S * 1000:.0f} ms pause after each key")  # fmt: skip
    runs = [one_run((width, height), alpha, bravo, vip) for _ in range(args.runs)]
    for number, run in enumerate(runs, 1):
        slowest = max(run.waits, key=lambda wait: wait[1])
        unseen = " ".join(run.unseen) or "none"
        print(f"run {number}: {run.keystrokes} keystrokes, {run.seconds:.1f} s to written files "
              f"({run.waited_s:.1f} s waiting for the wizard; slowest: {slowest[1]:.1f} s for "
              f"{slowest[0]!r}; keys with no visible effect: {unseen})")  # fmt: skip
    seconds = [run.seconds for run in runs]
    print(f"median {statistics.median(seconds):.1f} s [{min(seconds):.1f}-{max(seconds):.1f}], "
          f"{runs[0].keystrokes} keystrokes")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
