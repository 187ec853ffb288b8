"""The script's input lines, each one call of the policy's public surface (or of the sim).

``[@TIME] NODE: VERB ARGS`` calls NODE's policy as its engine would; ``[@TIME] VERB
ARGS`` acts on the simulated cluster (crash, boot, cut links, faults, run, wait). The
verbs are listed in ``NODE_VERBS``/``CLUSTER_VERBS`` and in docs/architecture.md.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Collection
from dataclasses import dataclass

from engine.config.model import MonitorConfig
from engine.protocol.message import Message
from tests.golden.actions import advance, answer_check, checks_from_words, finish_action
from tests.golden.cluster import CLUSTER_VERBS
from tests.golden.scenario import Divergence, ScenarioError
from tests.golden.sim import Sim

Args = list[str]
NodeVerb = Callable[[Sim, str, Args], None]


@dataclass
class Input:
    """One parsed input line."""

    time: float | None
    node: str
    verb: str
    args: Args


def parse(text: str) -> Input:
    """Split ``@12.5 alpha: standby all`` into time, node, verb (1-2 words) and args."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise ScenarioError(f"cannot split the line: {exc}") from None
    time = None
    if words and words[0].startswith("@"):
        time = _number(words.pop(0)[1:], "time")
    node = ""
    if words and words[0].endswith(":"):
        node = words.pop(0)[:-1]
    verbs: Collection[str] = NODE_VERBS.keys() if node else CLUSTER_VERBS.keys()
    for size in (2, 1):
        verb = " ".join(words[:size])
        if len(words) >= size and verb in verbs:
            return Input(time, node, verb, words[size:])
    kind = f"{node}: " if node else ""
    raise ScenarioError(f"unknown input {kind}{' '.join(words[:2])!r}; see docs/architecture.md")


def apply(sim: Sim, item: Input) -> None:
    """Let time pass to the line's time (timers fire on the way), then run the input.

    ``@T advance`` answers every action while time passes; ``wait`` and ``advance``
    need a time.
    """
    passing = not item.node and item.verb in ("wait", "advance")
    if item.time is None and passing:
        raise ScenarioError(f"{item.verb} needs a time: @TIME {item.verb}")
    if item.time is not None:
        if item.time < sim.now:
            raise ScenarioError(f"time goes back: @{item.time:g} after @{sim.now:g}")
        advance(sim, item.time, run=passing and item.verb == "advance")
    if item.node:
        if item.node not in sim.policies:
            raise Divergence(f"{item.node} is not running (boot it first)")
        NODE_VERBS[item.verb](sim, item.node, item.args)
    else:
        CLUSTER_VERBS[item.verb](sim, item.args)


# ---------------------------------------------------------------- helpers


def _number(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ScenarioError(f"bad {what} {text!r}") from None


def _want(args: Args, low: int, high: int, usage: str) -> None:
    if not low <= len(args) <= high:
        raise ScenarioError(f"usage: {usage}")


def _ok(word: str) -> bool:
    if word not in ("ok", "failed"):
        raise ScenarioError(f"expected ok or failed, not {word!r}")
    return word == "ok"


def _by(args: Args, usage: str) -> tuple[Args, str]:
    """Split ``... by WHO`` off the end."""
    if len(args) < 2 or args[-2] != "by":
        raise ScenarioError(f"usage: {usage}")
    return args[:-2], args[-1]


def _accepted(refusal: str | None) -> str:
    return "accepted" if refusal is None else f"refused: {refusal}"


# ---------------------------------------------------------------- node verbs


def _status(sim: Sim, node: str, args: Args) -> None:
    _want(args, 2, 2, "NODE: status PEER init|up|active|dead|ping")
    sim.call(node, lambda p: p.on_node_status(args[0], args[1], sim.now))


def _dead(sim: Sim, node: str, args: Args) -> None:
    """The membership declares a node dead: NodeDead, then its status ``dead``."""
    _want(args, 2, 2, 'NODE: dead PEER "REASON"')
    sim.call(node, lambda p: p.on_node_dead(args[0], args[1], sim.now))
    sim.call(node, lambda p: p.on_node_status(args[0], "dead", sim.now), f"  {node}: status dead")


def _restarted(sim: Sim, node: str, args: Args) -> None:
    _want(args, 1, 1, "NODE: restarted PEER")
    sim.call(node, lambda p: p.on_node_restarted(args[0], sim.now))


def _heard_by(sim: Sim, node: str, args: Args) -> None:
    """The membership's ``PeerHearsUs``: PEER's status lists NODE (yes), does not (no),
    or says nothing (-: no ``hears`` field, as real Heartbeat, or PEER died)."""
    _want(args, 2, 2, "NODE: heard by PEER yes|no|-")
    values = {"yes": True, "no": False, "-": None}
    if args[1] not in values:
        raise ScenarioError(f"expected yes, no or -, not {args[1]!r}")
    sim.call(node, lambda p: p.on_peer_hears(args[0], values[args[1]], sim.now))


def _comm_up(sim: Sim, node: str, args: Args) -> None:
    _want(args, 0, 0, "NODE: comm up")
    sim.call(node, lambda p: p.on_comm_up(sim.now))


def _stall(sim: Sim, node: str, args: Args) -> None:
    _want(args, 1, 1, "NODE: stall MILLISECONDS")
    sim.call(node, lambda p: p.on_local_stall(int(_number(args[0], "stall")), sim.now))


def _from(sim: Sim, node: str, args: Args) -> None:
    """A message as the membership hands it over: ``from SRC|- name=value ...``."""
    if not args:
        raise ScenarioError("usage: NODE: from SRC|- NAME=VALUE ...")
    pairs = []
    for word in args[1:]:
        name, sep, value = word.partition("=")
        if not sep:
            raise ScenarioError(f"field {word!r} is not NAME=VALUE")
        pairs.append((name, value))
    if args[0] != "-":
        pairs.append(("src", args[0]))
    msg = Message.of(*pairs)
    sim.call(node, lambda p: p.on_message(msg, sim.now))


def _tick(sim: Sim, node: str, args: Args) -> None:
    _want(args, 0, 0, "NODE: tick")
    sim.call(node, lambda p: p.tick(sim.now))


def _standby(sim: Sim, node: str, args: Args) -> None:
    _want(args, 0, 1, "NODE: standby [all|foreign|local|failback]")
    which = args[0] if args else "all"
    sim.call(node, lambda p: p.request_standby(which, sim.now), reply=_accepted)


def _takeover(sim: Sim, node: str, args: Args) -> None:
    _want(args, 0, 1, "NODE: takeover [all|foreign|local|failback]")
    which = args[0] if args else "all"
    sim.call(node, lambda p: p.request_takeover(which, sim.now), reply=_accepted)


def _shutdown(sim: Sim, node: str, args: Args) -> None:
    _want(args, 0, 0, "NODE: shutdown")
    sim.call(node, lambda p: p.request_shutdown(sim.now), reply=_accepted)


def _give_up(sim: Sim, node: str, args: Args) -> None:
    _want(args, 1, 1, 'NODE: give up "REASON"')
    sim.call(node, lambda p: p.give_up(args[0], sim.now))


def _confirm(sim: Sim, node: str, args: Args) -> None:
    usage = 'NODE: confirm stopped PEER by "WHO"'
    rest, who = _by(args, usage)
    _want(rest, 1, 1, usage)
    sim.call(node, lambda p: p.confirm_stopped(rest[0], who, sim.now), reply=_accepted)


def _manual_fence(sim: Sim, node: str, args: Args) -> None:
    usage = 'NODE: manual fence PEER ok|failed "REASON" by "WHO"'
    rest, who = _by(args, usage)
    _want(rest, 3, 3, usage)
    ok = _ok(rest[1])
    sim.call(node, lambda p: p.on_manual_fence_done(rest[0], ok, rest[2], who, sim.now))


def _monitor_settings(sim: Sim, node: str, args: Args) -> None:
    """``monitor settings off`` or ``interval=S timeout=S restarts=N window=S``."""
    values: dict[str, int] = {}
    names = {"interval": "interval_ms", "timeout": "timeout_ms", "window": "window_ms"}
    for word in args if args != ["off"] else []:
        name, _, value = word.partition("=")
        if name == "restarts":
            values["restarts"] = int(_number(value, name))
        elif name in names:
            values[names[name]] = round(_number(value, name) * 1000)
        else:
            raise ScenarioError("usage: NODE: monitor settings off|interval=S timeout=S ...")
    monitor = MonitorConfig(**values)
    sim.call(node, lambda p: p.set_monitor(monitor, sim.now))


def _result(kind: str) -> NodeVerb:
    def verb(sim: Sim, node: str, args: Args) -> None:
        _want(args, 2, 3, f'NODE: {kind} GROUP ok|failed ["REASON"]')
        ok = _ok(args[1])
        finish_action(sim, node, kind, args[0], ok, args[2] if len(args) > 2 else "")

    return verb


def _fence(sim: Sim, node: str, args: Args) -> None:
    _want(args, 2, 3, 'NODE: fence PEER ok|failed ["REASON"]')
    fences = sim.pending[node].fences
    if not any(f.node == args[0] for f in fences):
        pending = sim.pending[node].describe()
        raise Divergence(f"{node} is not fencing {args[0]}; pending: {pending}")
    ok = _ok(args[1])
    sim.pending[node].fences = [f for f in fences if f.node != args[0]]
    reason = args[2] if len(args) > 2 else ("fenced" if ok else "fence failed")
    sim.call(node, lambda p: p.on_fence_done(args[0], ok, reason, sim.now))


def _monitor(sim: Sim, node: str, args: Args) -> None:
    """``monitor GROUP ok`` or ``monitor GROUP TOKEN=RESULT ["DETAIL"]``."""
    _want(args, 2, 3, 'NODE: monitor GROUP ok|TOKEN=RESULT ["DETAIL"]')
    answer_check(sim, node, args[0], checks_from_words(sim, args))


NODE_VERBS: dict[str, NodeVerb] = {
    "status": _status,
    "dead": _dead,
    "restarted": _restarted,
    "heard by": _heard_by,
    "comm up": _comm_up,
    "stall": _stall,
    "from": _from,
    "tick": _tick,
    "standby": _standby,
    "takeover": _takeover,
    "shutdown": _shutdown,
    "give up": _give_up,
    "confirm stopped": _confirm,
    "manual fence": _manual_fence,
    "monitor settings": _monitor_settings,
    "acquire": _result("acquire"),
    "release": _result("release"),
    "fence": _fence,
    "monitor": _monitor,
}
