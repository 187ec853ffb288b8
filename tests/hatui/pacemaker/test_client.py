"""The Pacemaker client and its poller, replaying the tools' captured output.

``Replay`` answers each query with what the lab's tools printed (fixtures) and counts
the calls; the tools themselves are exercised against the real cluster in
tests/pacemaker/test_console.py. Times are fake: the clocks are plain counters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from engine.control.schema import ControlError
from engine.process.runner import ProgramResult
from hatui.backends.pacemaker.client import (
    CHANGE_WINDOW_S,
    REREAD_S,
    Options,
    PacemakerClient,
    Poller,
)
from hatui.backends.pacemaker.tools import ToolError, Tools
from tests.hatui.pacemaker.captured import FIXTURES, text


@dataclass(frozen=True)
class Replay(Tools):
    """Captured output instead of running the tools; ``script`` is the crm_mon
    situations in order (the last one repeats)."""

    script: list[str] = field(default_factory=lambda: ["idle"])
    calls: list[str] = field(default_factory=list)
    acted: list[tuple[str, ...]] = field(default_factory=list)
    act_result: int = 0

    async def crm_mon(self) -> str:
        self.calls.append("crm_mon")
        name = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if name == "gone":
            raise ToolError("crm_mon: env: 'crm_mon': No such file or directory")
        return text(f"{name}.xml")  # "down": crm_mon's XML when Pacemaker is stopped

    async def icmap(self) -> str:
        self.calls.append("icmap")
        return text("icmap.txt")

    async def knet_stats(self) -> str:
        self.calls.append("knet")
        return text("idle.knet.txt")

    async def constraints(self) -> str:
        self.calls.append("constraints")
        return text("idle.constraints.xml")

    async def act(self, argv: Sequence[str], timeout: float = 60.0) -> ProgramResult:
        self.acted.append(tuple(argv))
        said = "" if self.act_result == 0 else "Error performing operation: No such device"
        return ProgramResult(tuple(argv), self.act_result, "", said, 5.0)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def poller(tools: Replay, clock: Clock) -> Poller:
    logs = (FIXTURES / "pacemaker.log", FIXTURES / "corosync.log")
    return Poller(Options(tools, logs), clock=lambda: 2e9, monotonic=clock)


async def test_first_poll_brings_history_then_only_what_is_new() -> None:
    tools, clock = Replay(script=["idle", "idle", "moved"]), Clock()
    source = poller(tools, clock)
    first = await source.poll()
    assert first.doc["node"] == "alpha" and first.timeline == [] and first.logs == []
    deaths = [e for e in source.history_timeline if e["kind"] == "death"]
    assert [e["node"] for e in deaths][:1] == ["bravo"]  # from the captured log
    assert source.history_logs and all(r["level"] != "INFO" or "corosync" in r["text"]
                                       for r in source.history_logs)  # fmt: skip
    clock.now += 1
    assert (await source.poll()).timeline == []
    clock.now += 1
    moved = await source.poll()
    assert [e["kind"] for e in moved.timeline] == ["move"]
    assert moved.logs == []  # the fixture files did not grow


async def test_what_rarely_changes_is_not_read_every_poll() -> None:
    tools, clock = Replay(script=["idle"]), Clock()
    source = poller(tools, clock)
    await source.poll()
    assert tools.calls == ["crm_mon", "icmap", "knet", "constraints"]
    tools.calls.clear()
    clock.now += CHANGE_WINDOW_S + 0.1  # the CIB has not changed since
    await source.poll()
    assert sorted(tools.calls) == ["crm_mon", "knet"]
    tools.calls.clear()
    clock.now += REREAD_S  # the safety net
    await source.poll()
    assert sorted(tools.calls) == ["constraints", "crm_mon", "icmap", "knet"]


async def test_a_cib_change_reads_the_constraints_again() -> None:
    tools, clock = Replay(script=["idle", "moved", "moved", "moved"]), Clock()
    source = poller(tools, clock)
    await source.poll()
    clock.now += CHANGE_WINDOW_S + 1
    tools.calls.clear()
    await source.poll()  # moved: crm_mon's last change differs
    assert "constraints" in tools.calls
    clock.now += 1
    tools.calls.clear()
    await source.poll()  # within the window: a second change in the same second
    assert "constraints" in tools.calls
    clock.now += CHANGE_WINDOW_S
    tools.calls.clear()
    await source.poll()
    assert "constraints" not in tools.calls


async def test_a_cluster_that_does_not_answer_is_a_disconnection_with_its_reason() -> None:
    tools, clock = Replay(script=["idle", "down", "gone", "idle"]), Clock()
    source = poller(tools, clock)
    await source.poll()
    with pytest.raises(ControlError) as caught:
        await source.poll()
    assert caught.value.code == "disconnected"
    assert caught.value.message == (
        "crm_mon: Not connected: error: Could not connect to launcher: Connection refused; "
        "crm_mon: Connection to cluster failed: Connection refused"
    )
    with pytest.raises(ControlError, match="No such file or directory"):
        await source.poll()  # the tool itself cannot run: its own words
    tools.calls.clear()
    await source.poll()
    assert "icmap" in tools.calls  # read again after the gap: the node may have changed


def client(tools: Replay) -> PacemakerClient:
    return PacemakerClient(Options(tools, (Path("/nonexistent/log"),)))


async def test_verbs_run_the_planned_command_and_report_its_effect() -> None:
    tools = Replay(script=["idle"])
    result: Any = await client(tools).call("node_standby", node="alpha")
    assert tools.acted == [("crm_attribute", "--node", "alpha", "--name", "standby",
                            "--update", "on")]  # fmt: skip
    assert result["effect"] == "alpha goes to standby: rg-hbweb move to another node"


async def test_a_refusal_runs_nothing_and_a_failing_tool_is_a_failure() -> None:
    tools = Replay(script=["idle"])
    with pytest.raises(ControlError) as refused:
        await client(tools).call("node_online", node="alpha")
    assert (refused.value.code, refused.value.message) == ("refused", "alpha is not in standby")
    assert tools.acted == []
    failing = Replay(script=["idle"], act_result=1)
    with pytest.raises(ControlError) as failed:
        await client(failing).call("move", group="rg-hbweb", node="charlie")
    assert failed.value.code == "failed"
    assert failed.value.message == "crm_resource: Error performing operation: No such device"


async def test_hello_and_subscribe_answer_like_the_engine() -> None:
    tools = Replay(script=["idle"])
    hello = await client(tools).call("hello")
    assert hello["server"] == "pacemaker" and hello["node"] == "alpha"
    assert set(hello["peer"]) >= {"uid", "user", "can_act", "reason"}
    reply = await client(tools).call("subscribe")
    assert set(reply) == {"snapshot", "seq", "timeline", "log"}
    assert reply["snapshot"]["backend"] == "pacemaker"


async def test_the_console_says_when_the_cluster_does_not_answer_and_recovers() -> None:
    from hatui.backends.pacemaker.app import PacemakerApp
    from tests.hatui.waiting import until

    tools = Replay(script=["down", "idle"])
    app = PacemakerApp(Options(tools, (Path("/nonexistent/log"),), interval_s=0.2))
    async with app.run_test(size=(80, 24)) as pilot:
        banner = (
            "✖ DISCONNECTED from cluster: crm_mon: Not connected: error: Could not connect "
            "to launcher: Connection refused; crm_mon: Connection to cluster failed: "
            "Connection refused — reconnecting"
        )
        await until(
            pilot,
            lambda: app.picture and any(b.text.startswith(banner) for b in app.picture.banners),
        )
        assert app.action_block_reason() == "not connected to the cluster"
        await until(pilot, lambda: app.picture and "3/3 nodes up" in app.picture.summary, 10)
        assert not [b for b in app.picture.banners if "DISCONNECTED" in b.text]  # type: ignore[union-attr]
