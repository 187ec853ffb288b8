"""Logs written by the real programs: real Heartbeat 3.0.6 and our engine in one cluster.

A namespace lab runs alpha with the Debian heartbeat package and bravo with our engine
(``lab.mixed``), the group starts on alpha, alpha goes standby (bravo takes over),
then both stop. Each node's ``ha-log`` and ``ha-debug`` are the result: the syslog form
or, with ``syslogmsgfmt false``, the classic form, plus the resource scripts' lines.

``python -m tests.logs.realcapture DIR [syslog|classic]`` refreshes the fixtures in DIR
(the committed ones in ``tests/logs/fixtures`` came from this, cut to a few hundred lines).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lab import Lab
from lab.mixed import PROFILES, MixedCluster

START_S = 40.0
FORMATS = {"syslog": "crm no", "classic": "crm no\nsyslogmsgfmt false"}
KEEP_LINES = 400


@contextmanager
def mixed_cluster(form: str) -> Iterator[MixedCluster]:
    """Real alpha + hatui bravo, configured with ``form``'s log format, torn down after."""
    lab = Lab(["alpha", "bravo"], networks=1)
    lab.start()
    cluster = MixedCluster(lab, {"alpha": "heartbeat", "bravo": "hatui"},
                           timers=PROFILES["200ms/1s"], extra=FORMATS[form])  # fmt: skip
    try:
        cluster.configure()
        yield cluster
    finally:
        cluster.close()
        lab.close()


def run_scenario(cluster: MixedCluster, *, standby: bool = True) -> None:
    """Start, alpha serves, (alpha goes standby, bravo serves,) both stop."""
    cluster.start()
    cluster.wait_mutual("active", START_S)
    cluster.wait_served_by("alpha", START_S, 0.1)
    if standby:
        cluster.wait_stable(START_S)  # Heartbeat refuses a standby during a transition
        cluster["alpha"].standby()
        cluster.wait_served_by("bravo", START_S, 0.1)
    for name in reversed(cluster.names):
        cluster[name].stop()


def capture(form: str) -> dict[str, list[str]]:
    """``{"alpha-ha-log": lines, ...}`` of one run of the scenario."""
    with mixed_cluster(form) as cluster:
        run_scenario(cluster)
        found: dict[str, list[str]] = {}
        for name in cluster.names:
            member = cluster[name]
            found[f"{member.kind}-{name}-ha-log"] = member.log_lines()
            found[f"{member.kind}-{name}-ha-debug"] = member.debug_lines()
        return found


def main(argv: list[str]) -> int:
    """Write the captured logs (first ``KEEP_LINES`` lines of each) into a directory."""
    folder = Path(argv[0])
    folder.mkdir(parents=True, exist_ok=True)
    for form in argv[1:] or list(FORMATS):
        for name, lines in capture(form).items():
            path = folder / f"{form}-{name}"
            path.write_text("".join(f"{line}\n" for line in lines[:KEEP_LINES]))
            print(f"{path}: {len(lines)} lines captured, {min(len(lines), KEEP_LINES)} kept")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
