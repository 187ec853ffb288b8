"""A peer that restarts in the middle of a standby must not leave us waiting an hour."""

from __future__ import annotations

import logging

import pytest

from tests.core_policy.harness import Cluster


def test_peer_restart_cancels_pending_standby_and_shutdown_proceeds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    c = Cluster()
    c.cold_start()
    bravo = c.nodes["bravo"]
    # alpha asks to go standby; bravo answers "other" and waits for alpha's "done"...
    assert c.nodes["alpha"].request_standby("all", c.now) is None
    c.flush()
    assert bravo.snapshot()["standby"] != "none"
    # ...but alpha's engine is killed and restarted before it sends "done".
    c.crash("alpha")
    c.boot("alpha")
    bravo.on_node_restarted("alpha", c.now)
    c.comm_up("alpha")
    c.advance(c.now + 12)  # the restarted alpha settles (RSCRCVD delay)
    assert bravo.snapshot()["standby"] == "none"
    assert "Cancelling pending standby operation" in caplog.text
    # bravo can now be stopped without waiting for the 1 h standby deadline.
    assert bravo.request_shutdown(c.now) is None
    c.advance(c.now + 5)
    c.run_actions()
    assert bravo.shutdown_complete
