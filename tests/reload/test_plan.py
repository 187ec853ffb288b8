"""plan_reload: what a changed config dir may change while the engine runs."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from engine.config import load_config
from engine.config.model import ClusterConfig
from engine.shell.reload import (
    WATCH_STEP_MS,
    WATCHED_FILES,
    ConfigReloader,
    ReloadPlan,
    plan_reload,
)
from lab.engine import write_config

GROUP = "alpha 10.99.0.10/24/eth0\n"


def load_and_plan(old: ClusterConfig) -> ReloadPlan:
    """Read the running configuration's directory again and plan the reload (the engine
    does the same off the loop, through ReloadPipeline)."""
    result = load_config(Path(old.config_dir), old.node_name)
    return plan_reload(old, result.config, result.issues)


def _write(tmp: Path, nodes: tuple[str, ...] = ("alpha", "bravo"), **kw: str) -> None:
    media = ["ucast eth0 10.99.0.1", "ucast eth0 10.99.0.2", "ucast eth0 10.99.0.3"]
    write_config(tmp, nodes, media, log_dir=tmp, **kw)  # type: ignore[arg-type]


def _load(tmp: Path) -> ClusterConfig:
    result = load_config(tmp, "alpha")
    assert result.config is not None, [str(i) for i in result.issues]
    return result.config


def test_invalid_config_is_rejected_with_every_issue(tmp_path: Path) -> None:
    _write(tmp_path)
    old = _load(tmp_path)
    (tmp_path / "ha.cf").write_text((tmp_path / "ha.cf").read_text() + "bogus_directive 1\n")
    (tmp_path / "haresources").write_text("nosuchnode 10.99.0.10\n")
    plan = load_and_plan(old)
    assert not plan.accepted and plan.config is None
    text = " ".join(plan.errors)
    assert "bogus_directive" in text and "ha.cf" in text
    assert "nosuchnode" in text
    assert "rejected" in plan.summary()


def test_added_node_and_timing_are_applied(tmp_path: Path) -> None:
    _write(tmp_path)
    old = _load(tmp_path)
    _write(tmp_path, ("alpha", "bravo", "charlie"), deadtime="2", initdead="4")
    plan = load_and_plan(old)
    assert plan.accepted and plan.config is not None
    assert plan.added_nodes == ("charlie",)
    assert plan.config.timing.deadtime_ms == 2000
    assert any("charlie" in a for a in plan.applied)
    assert any("timing" in a for a in plan.applied)
    assert not plan.refused


def test_removed_node_and_media_change_are_refused_and_keep_old_values(tmp_path: Path) -> None:
    _write(tmp_path, ("alpha", "bravo", "charlie"))
    old = _load(tmp_path)
    write_config(tmp_path, ("alpha", "bravo"), ["bcast eth0"], log_dir=tmp_path)
    plan = load_and_plan(old)
    assert plan.config is not None
    assert plan.config.nodes == old.nodes
    assert plan.config.media == old.media
    refused = " ".join(plan.refused)
    assert "charlie" in refused and "media" in refused and "restart" in refused


def test_key_change_builds_a_new_authenticator(tmp_path: Path) -> None:
    _write(tmp_path)
    old = _load(tmp_path)
    (tmp_path / "authkeys").write_text("auth 2\n1 sha1 old-key-123\n2 sha1 new-key-456\n")
    plan = load_and_plan(old)
    assert plan.config is not None and plan.auth_changed
    assert plan.config.auth.send_index == 2
    assert {k.index for k in plan.config.auth.keys} == {1, 2}


def test_group_change_only_for_groups_nobody_holds(tmp_path: Path) -> None:
    _write(tmp_path, haresources=GROUP)
    old = _load(tmp_path)
    (tmp_path / "haresources").write_text(
        "alpha 10.99.0.10/24/eth0 Delay::1::0\nbravo 10.99.0.20/24/eth0\n"
    )
    new = load_config(tmp_path, "alpha").config
    held = plan_reload(old, new, held_by={"10.99.0.10/24/eth0": "alpha"})
    assert held.config is not None
    assert [g.canonical for g in held.config.groups] == [
        "alpha 10.99.0.10/24/eth0",
        "bravo 10.99.0.20/24/eth0",
    ]
    assert any("held by alpha" in r for r in held.refused)
    free = plan_reload(old, new, held_by={})
    assert free.config is not None
    assert free.config.groups[0].canonical.endswith("Delay::1::0")
    assert set(free.changed_groups) == {"10.99.0.10/24/eth0", "10.99.0.20/24/eth0"}


def test_hatui_conf_monitor_change_applies_stonith_change_waits_for_a_restart(
    tmp_path: Path,
) -> None:
    _write(tmp_path, haresources=GROUP)
    (tmp_path / "hatui.conf").write_text("stonith_delay = 2\nmonitor_interval = 10\n")
    old = _load(tmp_path)
    (tmp_path / "hatui.conf").write_text(
        "# edited\nmonitor_interval = 5\nstonith_delay = 4\nstonith_timeout = 30\n"
    )
    plan = load_and_plan(old)
    assert plan.config is not None
    assert plan.config.monitor.interval_ms == 5000
    assert any("resource monitoring (every 10 s" in a and "every 5 s" in a for a in plan.applied)
    assert plan.refused == [
        "hatui.conf stonith_delay 2 -> 4: needs a restart of the engine; old value stays",
        "hatui.conf stonith_timeout (default) -> 30: needs a restart of the engine; "
        "old value stays",
    ]
    conf = plan.config.hatui
    assert (conf.get("stonith_delay"), conf.get("stonith_timeout")) == (2000, None)
    assert conf.get("monitor_interval") == 5000
    # the running values stay the reference: the next reload sees the same refusal
    again = load_and_plan(plan.config)
    assert again.refused == plan.refused and not again.applied


def test_hatui_conf_comments_and_moved_lines_change_nothing(tmp_path: Path) -> None:
    _write(tmp_path)
    (tmp_path / "hatui.conf").write_text("stonith_delay = 2\nmonitor_interval = 10\n")
    old = _load(tmp_path)
    (tmp_path / "hatui.conf").write_text("# same values\nmonitor_interval = 10000ms\n\n"
                                         "stonith_delay = 2\n")  # fmt: skip
    plan = load_and_plan(old)
    assert plan.accepted and not plan.applied and not plan.refused
    assert plan.summary() == "configuration reloaded, nothing changed"


def test_monitor_lines_in_ha_cf_reject_a_reload(tmp_path: Path) -> None:
    _write(tmp_path)
    old = _load(tmp_path)
    _write(tmp_path, extra="monitor_interval 10\n")
    plan = load_and_plan(old)
    assert not plan.accepted
    [error] = plan.errors
    assert "monitor_interval moved to hatui.conf" in error
    assert f"write 'monitor_interval = 10' in {tmp_path / 'hatui.conf'}" in error


async def until_any(seen: list[Any], timeout: float = 5.0) -> None:
    """Until the watcher reported something (it looks every WATCH_STEP_MS)."""
    for _ in range(int(timeout / 0.05)):
        if seen:
            return
        await asyncio.sleep(0.05)


async def test_a_changed_hatui_conf_is_watched_like_the_other_files(tmp_path: Path) -> None:
    assert {"ha.cf", "authkeys", "haresources", "hatui.conf"} <= WATCHED_FILES
    triggers: list[str] = []
    reloader = ConfigReloader(tmp_path, triggers.append)
    reloader.start()
    try:
        await asyncio.sleep(0.5)  # the watcher is set up
        (tmp_path / "unrelated.txt").write_text("x\n")
        tmp = tmp_path / ".hatui.conf.tmp"
        tmp.write_text("monitor_interval = 10\n")
        tmp.rename(tmp_path / "hatui.conf")  # as editors do
        await until_any(triggers)
    finally:
        await reloader.close()
    assert triggers == ["changed hatui.conf"]


async def test_the_watch_runs_in_its_own_thread_and_the_loop_gets_only_the_trigger(
    tmp_path: Path,
) -> None:
    """The loop runs no watch machinery (issue 15: through ``awatch`` each change cost a
    task step of anyio on the loop, the first one 25-45 ms of imports): the watcher is
    a thread, and the loop only runs the trigger."""
    loop_thread = threading.get_ident()
    seen: list[tuple[str, int]] = []

    def trigger(text: str) -> None:
        seen.append((text, threading.get_ident()))

    reloader = ConfigReloader(tmp_path, trigger)
    before = set(threading.enumerate())  # an earlier test's watcher may still be ending
    reloader.start()
    [watcher] = [t for t in set(threading.enumerate()) - before if t.name == "config-watch"]
    try:
        assert not [t for t in asyncio.all_tasks() if "ConfigReloader" in repr(t.get_coro())]
        await asyncio.sleep(0.5)  # the watcher is set up
        (tmp_path / "ha.cf").write_text("keepalive 1\n")
        await until_any(seen)
    finally:
        await reloader.close()
    assert seen == [("changed ha.cf", loop_thread)]
    await asyncio.to_thread(watcher.join, 3 * WATCH_STEP_MS / 1000)
    assert not watcher.is_alive()
