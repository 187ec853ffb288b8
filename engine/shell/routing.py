"""Where each membership event goes: one table, event type -> its handlers, in order.

The shell logs every event (Heartbeat's line), puts deaths, restarts, partitions and
stalls on the timeline, keeps its own books (peer generations, children and STONITH
checks at comm-up), then hands the event to the resource policy. ``event_routes`` writes
all of that down once; an event type not in the table is only logged. With ``crm on``
there is no policy and the policy's column is left out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.core import events as ev
from engine.core.policy import ResourcePolicy
from engine.hblog import hb_log

logger = logging.getLogger("heartbeat")

Handler = Callable[[Any, float], None]
"""One step for one event: (the event, now)."""
Routes = Mapping[type[ev.Event], tuple[Handler, ...]]

SPLIT_BRAIN_HINT = (
    (
        "info",
        "For information on cluster partitions, See URL: http://linux-ha.org/wiki/Split_Brain",
    ),
    ("WARN", "Deadtime value may be too small."),
)
"""What Heartbeat logs after a healed partition."""


@dataclass(frozen=True)
class ShellHooks:
    """What the engine itself does with membership events."""

    log_rejected: Callable[[ev.PacketRejected], None]
    """Count and log (rate-limited) a packet that was refused."""
    timeline: Callable[[str, str, str, str], None]
    """(kind, node, group, reason) onto the timeline."""
    remember_generations: Callable[[], None]
    """Persist the peers' generations (replay guard across restarts)."""
    comm_up: Callable[[], None]
    """Communications are up: start the respawn children and the STONITH checks."""


def event_routes(hooks: ShellHooks, policy: ResourcePolicy | None) -> Routes:
    """The table: for each event type, the shell's steps, then the policy's input."""
    shell: dict[type[ev.Event], tuple[Handler, ...]] = {
        ev.MessageReceived: (),
        ev.PacketRejected: (lambda event, _now: hooks.log_rejected(event),),
        ev.NodeDead: (_log, _log_reason, _on_timeline(hooks, "death")),
        ev.NodeRestarted: (
            _log,
            _on_timeline(hooks, "restart"),
            lambda _event, _now: hooks.remember_generations(),
        ),
        ev.PartitionHealed: (_log, _log_split_brain_hint, _on_timeline(hooks, "partition")),
        ev.LocalStall: (_log, _on_timeline(hooks, "stall")),
        ev.CommUp: (_log, lambda _event, _now: hooks.comm_up()),
    }
    if policy is None:
        return shell
    inputs = _policy_inputs(policy)
    kinds = set(shell) | set(inputs)
    return {kind: shell.get(kind, (_log,)) + inputs.get(kind, ()) for kind in kinds}


def route(routes: Routes, event: ev.Event, now: float) -> None:
    """Run the event's handlers; a type the table does not name is only logged."""
    for handler in routes.get(type(event), (_log,)):
        handler(event, now)


def _policy_inputs(policy: ResourcePolicy) -> dict[type[ev.Event], tuple[Handler, ...]]:
    """The policy's input for each event it takes (its ``on_*`` methods)."""
    return {
        ev.MessageReceived: (lambda e, now: policy.on_message(e.message, now),),
        ev.NodeDead: (lambda e, now: policy.on_node_dead(e.node, e.reason, now),),
        ev.NodeStatusChanged: (lambda e, now: policy.on_node_status(e.node, e.new, now),),
        ev.NodeRestarted: (lambda e, now: policy.on_node_restarted(e.node, now),),
        ev.CommUp: (lambda _e, now: policy.on_comm_up(now),),
        ev.LocalStall: (lambda e, now: policy.on_local_stall(e.stalled_ms, now),),
        ev.PeerHearsUs: (lambda e, now: policy.on_peer_hears(e.node, e.hears, now),),
    }


def _log(event: ev.Event, _now: float) -> None:
    hb_log(event.level, event.text)


def _log_reason(event: ev.NodeDead, _now: float) -> None:
    logger.info("%s", event.reason)


def _log_split_brain_hint(_event: ev.PartitionHealed, _now: float) -> None:
    for word, text in SPLIT_BRAIN_HINT:
        hb_log(word, text)


def _on_timeline(hooks: ShellHooks, kind: str) -> Handler:
    """Put the event on the timeline as ``kind`` with its reason (or its log text)."""

    def put(event: ev.Event, _now: float) -> None:
        reason = getattr(event, "reason", "")
        hooks.timeline(kind, getattr(event, "node", ""), "", str(reason) if reason else event.text)

    return put
