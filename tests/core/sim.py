"""A tiny in-process network for membership cores: fake clock, explicit delivery."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from engine.config.model import (
    AuthConfig,
    AuthKey,
    ClusterConfig,
    MediumKind,
    MediumSpec,
    SourceRef,
    Timing,
)
from engine.core import events as ev
from engine.core.membership import Membership
from engine.protocol.auth import Authenticator

KEY = AuthConfig(1, (AuthKey(1, "sha1", b"test-key", SourceRef("authkeys", 2)),))
WALL0 = 1_795_611_934.0


def make_config(
    me: str,
    nodes: tuple[str, ...] = ("alpha", "bravo"),
    links: tuple[str, ...] = ("eth0", "eth1"),
    keepalive: int = 200,
    deadtime: int = 1000,
    warntime: int = 600,
    initdead: int = 3000,
    auth: AuthConfig = KEY,
) -> ClusterConfig:
    media = tuple(
        MediumSpec(MediumKind.BCAST, name, SourceRef("ha.cf", i + 1), dev=name)
        for i, name in enumerate(links)
    )
    return ClusterConfig(
        config_dir="/tmp",
        node_name=me,
        nodes=nodes,
        timing=Timing(keepalive, deadtime, warntime, initdead, deadtime),
        media=media,
        auth=auth,
    )


@dataclass
class SimNode:
    name: str
    core: Membership
    events: list[ev.Event] = field(default_factory=list)
    alive: bool = True

    def of(self, kind: type[ev.Event]) -> list[ev.Event]:
        return [e for e in self.events if isinstance(e, kind)]


class Net:
    """Nodes joined by links; ``cut`` holds (a, b, link) triples that drop traffic."""

    def __init__(self, names: tuple[str, ...] = ("alpha", "bravo"), **kw: Any) -> None:
        self.now = 1000.0
        self.links = ("eth0", "eth1")
        self.cut: set[tuple[str, str, str]] = set()
        self.nodes: dict[str, SimNode] = {}
        self.wire: list[tuple[str, bytes]] = []
        for i, name in enumerate(names):
            cfg = make_config(name, nodes=names, **kw)
            core = Membership(
                cfg,
                Authenticator(cfg.auth),
                uuid=bytes([i + 1]) * 16,
                generation=100 + i,
                now=self.now,
                rng=random.Random(i),
            )
            self.nodes[name] = SimNode(name, core)

    def wall(self) -> float:
        return WALL0 + self.now

    def start(self, *names: str) -> None:
        for name in names or tuple(self.nodes):
            self.nodes[name].core.start(self.now, self.wall())
        self.flush()

    def flush(self) -> None:
        for _ in range(20):
            moved = False
            for node in self.nodes.values():
                node.events.extend(node.core.drain_events())
                out = node.core.drain_outbound()
                if not node.alive:
                    continue
                for data in out:
                    moved = True
                    self.wire.append((node.name, data))
                    for other in self.nodes.values():
                        if other is node or not other.alive:
                            continue
                        for link in self.links:
                            if {
                                (node.name, other.name, link),
                                (other.name, node.name, link),
                            } & self.cut:
                                continue
                            other.core.receive(data, link, self.now, self.wall())
            if not moved:
                break
        for node in self.nodes.values():
            node.events.extend(node.core.drain_events())

    def run_until(self, until: float) -> None:
        """Advance time, firing every due tick in order."""
        while True:
            due = min(n.core.next_deadline() for n in self.nodes.values() if n.alive)
            if due > until:
                break
            self.now = max(self.now, due)
            for node in self.nodes.values():
                if node.alive and node.core.next_deadline() <= self.now:
                    node.core.tick(self.now, self.wall())
            self.flush()
        self.now = until

    def run_for(self, seconds: float) -> None:
        self.run_until(self.now + seconds)
