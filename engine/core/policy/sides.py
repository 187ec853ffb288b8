"""Who is who: this node, the other side of the resource protocol, and the mode.

Heartbeat v1 resource management is two-node (spec §12): the other side is the one
other ``node`` of ha.cf (``config.peers[0]``). Every part of the policy asks ``Sides``
who that is, so this is the one place to widen when the other side may be more than
one node.
"""

from __future__ import annotations

from engine.config.model import AutoFailback, ClusterConfig


class Sides:
    """This node and the other side, plus the auto_failback mode (fixed at start)."""

    def __init__(self, config: ClusterConfig) -> None:
        self._config = config
        self._us = config.node_name
        self._other = config.peers[0] if config.peers else None
        self._nice = config.auto_failback is not AutoFailback.LEGACY
        self._auto = config.auto_failback is AutoFailback.ON

    @property
    def us(self) -> str:
        """This node's name."""
        return self._us

    @property
    def other(self) -> str | None:
        """The other side: the node that takes our groups and gives us its own (None on
        a one-node cluster)."""
        return self._other

    def is_other(self, node: str) -> bool:
        """Whether ``node`` is the other side (messages and status of other nodes, such
        as ping nodes or a third ``node``, are not about resources)."""
        return self._other is not None and node == self._other

    @property
    def nice(self) -> bool:
        """auto_failback on/off (Heartbeat's nice_failback); False for legacy."""
        return self._nice

    @property
    def auto(self) -> bool:
        """auto_failback on: groups go back to their home node when it returns."""
        return self._auto

    @property
    def config(self) -> ClusterConfig:
        """The configuration (its groups change on a haresources reload)."""
        return self._config

    def replace(self, config: ClusterConfig) -> None:
        """Take a reloaded configuration (only its groups may differ)."""
        self._config = config
