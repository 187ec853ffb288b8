"""A ``failfast`` child dies on a real engine: the node gives up (Heartbeat reboots there).

One engine on loopback (its peer never comes, so it takes its group after initdead).
The child waits until the group runs, then exits 3: the engine must release the group at
once and exit with status 1, saying why in the log.
"""

from __future__ import annotations

import getpass
import time
from pathlib import Path

import pytest

from tests.integration.loopback import Cluster


@pytest.mark.slow
def test_failfast_death_releases_the_group_and_exits_1(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path)
    alpha = cluster["alpha"]
    child = alpha.config_dir / "watchdog-child"
    child.write_text(
        f"#!/bin/sh\nwhile [ ! -e {alpha.state_dir}/res-two ]; do sleep 0.1; done\n"
        f"date +%s.%N > {alpha.state_dir}/child.died\nexit 3\n"
    )
    child.chmod(0o755)
    with (alpha.config_dir / "ha.cf").open("a") as hacf:
        hacf.write(f"failfast {getpass.getuser()} {child}\n")
    try:
        cluster.start("alpha")
        assert alpha.proc is not None
        code = alpha.proc.wait(30)  # initdead 3 s, the group's start, the child's death
        took = time.time() - float((alpha.state_dir / "child.died").read_text())
        assert code == 1
        assert not alpha.holds("one") and not alpha.holds("two")
        log = alpha.log()
        why = f'CRIT: failfast client "{child}" exited with return code 3: giving this node up'
        assert why in log, log[-3000:]
        death = log.index("failfast client")
        assert "Acquiring resource group: alpha demo-svc::one demo-svc::two" in log[:death]
        assert "Releasing resource group: alpha demo-svc::one demo-svc::two" in log[death:]
        assert "All HA resources relinquished." in log[death:]
        print(f"failfast child died -> group released, engine exited: {took * 1000:.0f} ms")
        assert took < 5  # at once: no settle delay, no deadtime
    finally:
        cluster.close()
