"""The control socket's handler (engine/shell/commands.py) on a read-only view of an engine.

The view holds real parts (a configuration, the ResourcePolicy, a Fencer, a link); what
the handler makes the engine do goes through ``ControlEffects``, noted here.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from engine.config.model import ClusterConfig
from engine.control.schema import CommandRefused, PeerInfo
from engine.core.policy import ResourcePolicy
from engine.shell.commands import EngineControl
from engine.shell.statusdoc import StatusBuilder
from engine.stonith.fencer import Fencer
from tests.core_policy.harness import Cluster, make_config

ROOT = PeerInfo(pid=1, uid=0, gid=0, user="root", cmdline="hactl", can_act=True, reason="")


class Link:
    """The part of a transport link the handler's view shows (its name; cut by effects)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.cut = False


@dataclass
class View:
    """An engine's read-only face: what EngineControl reads."""

    config: ClusterConfig
    policy: ResourcePolicy | None
    fencer: Fencer
    links: list[Link]
    allow_fault_injection: bool = False
    clock: float = 0.0
    membership: Any = None
    actions: Any = None
    control: Any = None
    children: Any = None
    stats: Any = None
    lag: Any = None
    last_change: dict[str, Any] = field(default_factory=dict)

    def now(self) -> float:
        return self.clock


@dataclass
class Effects:
    """What the handler asked the engine to do, in order."""

    view: View
    done: list[str] = field(default_factory=list)

    def pump(self) -> None:
        self.done.append("pump")

    def status_changed(self) -> None:
        self.done.append("status changed")

    def timeline(self, kind: str, node: str, group: str, reason: str, outcome: str = "") -> None:
        self.done.append(f"timeline {kind} {node} {outcome}: {reason}")

    def set_link_cut(self, name: str, cut: bool) -> bool:
        for link in self.view.links:
            if link.name == name:
                link.cut = cut
                self.done.append(f"link {name} cut={cut}")
                return True
        return False


def handler(*, crm: bool = False, faults: bool = False) -> tuple[EngineControl, View, Effects]:
    config = make_config("alpha")
    policy = None if crm else ResourcePolicy(config, 0.0)
    view = View(config, policy, Fencer(config), [Link("eth0")], allow_fault_injection=faults)
    effects = Effects(view)
    status = StatusBuilder(view, lambda _callback: None)  # type: ignore[arg-type]
    return EngineControl(view, effects, status), view, effects  # type: ignore[arg-type]


async def act(control: EngineControl, cmd: str, **args: Any) -> dict[str, Any]:
    return await control.act(cmd, args, ROOT)


async def test_standby_goes_to_the_policy_and_the_engine_acts_on_it() -> None:
    control, view, effects = handler()
    assert view.policy is not None
    view.policy.on_comm_up(0.0)
    with pytest.raises(CommandRefused, match="bravo is init: it cannot take resources now"):
        await act(control, "standby", which="all")
    assert effects.done == []
    cluster = Cluster()  # the two policies wired together, started, settled
    cluster.cold_start()
    view.policy, view.clock = cluster.nodes["alpha"], cluster.now
    reply = await act(control, "standby", which="all")
    assert reply == {"accepted": True, "which": "all", "message": "standby all requested"}
    assert effects.done == ["pump"]
    sent = [msg.type for msg in cluster.nodes["alpha"].drain_outbound()]
    assert sent == ["ask_resources"]  # the standby request to bravo, sent by the pump


async def test_unknown_resource_set_and_crm_mode_are_refused_before_the_policy() -> None:
    control, _view, effects = handler()
    with pytest.raises(CommandRefused, match="unknown resource set 'most'"):
        await act(control, "takeover", which="most")
    crm, _view, _effects = handler(crm=True)
    with pytest.raises(CommandRefused, match="resource management is disabled"):
        await act(crm, "standby", which="all")
    assert effects.done == []


async def test_stonith_refusals_name_the_reason() -> None:
    control, _view, effects = handler()
    with pytest.raises(CommandRefused, match="it is this node"):
        await act(control, "stonith", node="alpha")
    with pytest.raises(CommandRefused, match="unknown node 'zulu'; nodes: alpha, bravo"):
        await act(control, "stonith", node="zulu")
    with pytest.raises(CommandRefused, match="no STONITH device configured"):
        await act(control, "stonith", node="Bravo ")
    assert effects.done == []


async def test_debug_link_exists_only_with_fault_injection_and_cuts_through_effects() -> None:
    control, _view, _effects = handler()
    assert "debug_link" not in control.command_names()
    control, view, effects = handler(faults=True)
    assert "debug_link" in control.command_names()
    assert await act(control, "debug_link", link="eth0", up=False) == {"link": "eth0", "up": False}
    assert view.links[0].cut and effects.done == ["link eth0 cut=True", "status changed"]
    with pytest.raises(CommandRefused, match=r"no link named 'eth9'; links: \['eth0'\]"):
        await act(control, "debug_link", link="eth9", up=True)


async def test_hbparameter_reads_the_configuration_in_force() -> None:
    control, view, _effects = handler()
    reply = await act(control, "hbparameter", name="keepalive")
    assert reply == {"name": "keepalive", "value": view.config.parameter("keepalive")}
    assert reply["value"] is None  # unset in this configuration
    view.config = replace(view.config, parameters=(("keepalive", "200ms"),))  # a reload
    assert (await act(control, "hbparameter", name="keepalive"))["value"] == "200ms"


async def test_meatware_confirm_with_nobody_waiting_is_refused() -> None:
    control, _view, effects = handler()
    with pytest.raises(CommandRefused):
        await act(control, "meatware_confirm", node="bravo")
    assert effects.done == []
    await asyncio.sleep(0)
