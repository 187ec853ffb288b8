"""Answering the policy's actions, by a script line or automatically (``run``, ``advance``).

An automatic answer is printed as the input line a script would have written for it
(``  alpha: acquire KEY ok``), indented by two spaces, so a transcript reads the same
whichever way the result came.
"""

from __future__ import annotations

from engine.core.policy_types import MonitorCheck
from tests.golden import render
from tests.golden.scenario import Divergence, ScenarioError
from tests.golden.sim import Sim

ACTION_DEFAULT = {True: "done", False: "exit 1"}
"""The reason an action result carries when the script gives none."""
LOOP_LIMIT = 2000
"""Automatic answers or timer steps one input may take before it counts as a storm."""


def finish_action(
    sim: Sim, node: str, kind: str, key: str, ok: bool, reason: str, cause: str = ""
) -> None:
    """The oldest pending Acquire/Release of ``node`` ended (it must be KIND of KEY)."""
    pending = sim.pending[node].resource
    action = pending[0] if pending else None
    if action is None or type(action).__name__.lower() != kind or action.group_key != key:
        raise Divergence(
            f"{node} is not running {kind} {key}; pending: {sim.pending[node].describe()}"
        )
    pending.pop(0)
    if cause:
        sim.lines.append(cause)
    if ok and kind == "acquire":
        sim.world.started(node, key)
    elif ok:
        sim.world.stopped(node, key)
    sim.show_world()
    why = reason or ACTION_DEFAULT[ok]
    sim.call(node, lambda p: p.on_action_done(action.id, ok, why, sim.now))


def checks_from_words(sim: Sim, args: list[str]) -> list[MonitorCheck]:
    """``GROUP ok`` or ``GROUP TOKEN=RESULT [DETAIL]``: the members before TOKEN are ok."""
    key = args[0]
    group = sim.world.groups.get(key)
    if group is None:
        raise ScenarioError(f"no group {key!r} in haresources")
    tokens = [res.token for res in group.resources]
    if args[1:] == ["ok"]:
        return [MonitorCheck(token, "ok") for token in tokens]
    token, sep, result = args[1].partition("=")
    if not sep or token not in tokens:
        raise ScenarioError(f"{args[1]!r} is not MEMBER=RESULT for a member of {key}")
    detail = args[2] if len(args) > 2 else result
    checks = [MonitorCheck(t, "ok") for t in tokens[: tokens.index(token)]]
    return [*checks, MonitorCheck(token, result, detail)]


def answer_check(
    sim: Sim, node: str, key: str, checks: list[MonitorCheck], cause: str = ""
) -> None:
    """The Monitor of ``key`` that ``node`` is running ended with ``checks``."""
    pending = sim.pending[node]
    check = next((m for m in pending.checks if m.group_key == key), None)
    if check is None:
        raise Divergence(f"{node} is not checking {key}; pending: {pending.describe()}")
    pending.checks.remove(check)
    if cause:
        sim.lines.append(cause)
    sim.call(node, lambda p: p.on_monitor_done(check.id, checks, sim.now))


def run_all(sim: Sim) -> None:
    """Answer every Acquire/Release (as the faults say) and check until none is left.

    Nodes in ha.cf order, each node's oldest action first; checks only once no
    Acquire/Release waits anywhere. Fences are never answered here: the script does.
    """
    for _ in range(LOOP_LIMIT):
        busy = [n for n in sim.live() if sim.pending[n].resource]
        if busy:
            _auto_action(sim, busy[0])
            continue
        checking = [n for n in sim.live() if sim.pending[n].checks]
        if not checking:
            return
        _auto_check(sim, checking[0])
    raise Divergence(f"action storm: more than {LOOP_LIMIT} automatic results")


def _auto_action(sim: Sim, node: str) -> None:
    action = sim.pending[node].resource[0]
    kind = type(action).__name__.lower()
    fault = sim.world.fault(node, "start" if kind == "acquire" else "stop", action.group_key)
    result = "ok" if fault is None else f"failed {render.quote(fault)}"
    cause = f"  {node}: {kind} {action.group_key} {result}"
    finish_action(sim, node, kind, action.group_key, fault is None, fault or "", cause)


def _auto_check(sim: Sim, node: str) -> None:
    key = sim.pending[node].checks[0].group_key
    checks = sim.world.check(node, key)
    bad = next((c for c in checks if not c.ok), None)
    said = "ok" if bad is None else f"{bad.resource}={render.quote(bad.result)}"
    answer_check(sim, node, key, checks, f"  {node}: monitor {key} {said}")


def advance(sim: Sim, to: float, run: bool) -> None:
    """Let time pass until ``to``: at each policy deadline on the way every running node
    is ticked; with ``run`` every action is answered as soon as it is asked for."""
    if run:
        run_all(sim)
    for _ in range(LOOP_LIMIT):
        due = [
            d
            for name in sim.live()
            if (d := sim.policies[name].next_deadline()) is not None and d <= to
        ]
        if not due:
            sim.now = to
            return
        sim.now = max(sim.now, min(due))
        for name in sim.live():
            cause = f"  {render.at(sim.now)} {name}: tick"
            sim.call(name, lambda p: p.tick(sim.now), cause)
        if run:
            run_all(sim)
    raise Divergence(f"timer storm: more than {LOOP_LIMIT} timer steps")
