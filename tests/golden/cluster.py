"""Inputs that act on the simulated cluster rather than on one policy.

``boot``/``crash`` start and kill a node's engine, ``cut``/``heal`` break and mend the
links between nodes, ``fault``/``fix`` make an Acquire or Release fail, ``break``/
``repair`` make a resource's monitor fail, and ``run``/``wait``/``advance`` let actions
finish and time pass.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.golden import actions
from tests.golden.scenario import Divergence, ScenarioError
from tests.golden.sim import Sim

Args = list[str]
ClusterVerb = Callable[[Sim, Args], None]


def _want(args: Args, low: int, high: int, usage: str) -> None:
    if not low <= len(args) <= high:
        raise ScenarioError(f"usage: {usage}")


def _node(sim: Sim, name: str) -> str:
    if name not in sim.configs:
        raise ScenarioError(f"{name!r} is not a simulated node ({', '.join(sim.order)})")
    return name


def _boot(sim: Sim, args: Args) -> None:
    _want(args, 1, 1, "boot NODE")
    if _node(sim, args[0]) in sim.policies:
        raise Divergence(f"{args[0]} is running: crash it first")
    sim.boot(args[0])


def _crash(sim: Sim, args: Args) -> None:
    _want(args, 1, 1, "crash NODE")
    sim.crash(_node(sim, args[0]))


def _cut(sim: Sim, args: Args) -> None:
    """``cut A -> B`` loses what A sends to B; ``cut A <-> B`` both ways."""
    _want(args, 3, 3, "cut NODE ->|<-> NODE")
    a, arrow, b = _node(sim, args[0]), args[1], _node(sim, args[2])
    if arrow not in ("->", "<->"):
        raise ScenarioError("usage: cut NODE ->|<-> NODE")
    sim.cut.add((a, b))
    if arrow == "<->":
        sim.cut.add((b, a))


def _heal(sim: Sim, args: Args) -> None:
    _want(args, 0, 0, "heal")
    sim.cut.clear()


def _fault_key(sim: Sim, args: Args, usage: str) -> tuple[str, str, str]:
    node, kind, key = _node(sim, args[0]), args[1], args[2]
    if kind not in ("start", "stop") or key not in sim.world.groups:
        raise ScenarioError(f"usage: {usage} (GROUP a key of haresources)")
    return node, kind, key


def _fault(sim: Sim, args: Args) -> None:
    usage = 'fault NODE start|stop GROUP ["REASON"]'
    _want(args, 3, 4, usage)
    reason = args[3] if len(args) > 3 else actions.ACTION_DEFAULT[False]
    sim.world.faults[_fault_key(sim, args, usage)] = reason


def _fix(sim: Sim, args: Args) -> None:
    usage = "fix NODE start|stop GROUP"
    _want(args, 3, 3, usage)
    sim.world.faults.pop(_fault_key(sim, args, usage), None)


def _break(sim: Sim, args: Args) -> None:
    """``break NODE MEMBER RESULT [sticky]``: its checks say RESULT until a stop (sticky:
    until ``repair``)."""
    _want(args, 3, 4, "break NODE MEMBER RESULT [sticky]")
    sticky = args[3:] == ["sticky"]
    if len(args) == 4 and not sticky:
        raise ScenarioError("usage: break NODE MEMBER RESULT [sticky]")
    sim.world.broken[(_node(sim, args[0]), args[1])] = (args[2], sticky)


def _repair(sim: Sim, args: Args) -> None:
    _want(args, 2, 2, "repair NODE MEMBER")
    sim.world.broken.pop((_node(sim, args[0]), args[1]), None)


def _run(sim: Sim, args: Args) -> None:
    _want(args, 0, 0, "run")
    actions.run_all(sim)


def _wait(sim: Sim, args: Args) -> None:
    """``@TIME wait``: only time passes (``apply`` fired the timers on the way)."""
    _want(args, 0, 0, "@TIME wait")


def _advance(sim: Sim, args: Args) -> None:
    """``@TIME advance``: as wait, every action answered at once (``apply`` did it)."""
    _want(args, 0, 0, "@TIME advance")


CLUSTER_VERBS: dict[str, ClusterVerb] = {
    "boot": _boot,
    "crash": _crash,
    "cut": _cut,
    "heal": _heal,
    "fault": _fault,
    "fix": _fix,
    "break": _break,
    "repair": _repair,
    "run": _run,
    "wait": _wait,
    "advance": _advance,
}
