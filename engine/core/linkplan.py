"""Which links a configuration yields: one per medium, ucast lines on one device merged.

Heartbeat creates one medium per ``ucast`` line, so several ``ucast eth0 <peer>`` lines
(one per peer, the usual 3-node layout) give several media all named ``eth0``, whose
receive sockets share one port and split the traffic between them. We merge them into
one link named after the device that sends to every listed peer: same name, same
behaviour on the wire, and no ambiguity about which link a packet arrived on.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.config.model import ClusterConfig, MediumKind, MediumSpec


@dataclass(frozen=True, slots=True)
class LinkPlan:
    """One link to open: its name and the media lines it serves."""

    name: str
    kind: MediumKind
    media: tuple[MediumSpec, ...]


def plan_links(config: ClusterConfig) -> list[LinkPlan]:
    """Links in configuration order (ping media are not heartbeat links)."""
    plans: list[LinkPlan] = []
    ucast_index: dict[str, int] = {}
    for medium in config.media:
        if medium.kind in (MediumKind.PING, MediumKind.PING_GROUP):
            continue
        if medium.kind is MediumKind.UCAST and medium.dev in ucast_index:
            i = ucast_index[medium.dev]
            old = plans[i]
            plans[i] = LinkPlan(old.name, old.kind, (*old.media, medium))
            continue
        if medium.kind is MediumKind.UCAST:
            ucast_index[medium.dev] = len(plans)
        plans.append(LinkPlan(medium.name, medium.kind, (medium,)))
    return plans
