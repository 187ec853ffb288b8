"""The engine as its status document and its control handler see it.

``EngineView`` is read-only: properties only, so neither can rebind what the engine runs
with (a reload swaps ``config``; they always read the one in force). ``ControlEffects``
is the short list of what the control handler may make the engine do besides asking the
cores (the policy's ``request_*``, the fencer): act on what changed, note a timeline
entry, cut or restore a link for fault injection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from engine.config.model import ClusterConfig
    from engine.control.server import ControlServer
    from engine.core.membership import Membership
    from engine.core.policy import ResourcePolicy
    from engine.process.children import ChildManager
    from engine.resources.actions import ActionWorker
    from engine.shell.looplag import LoopLag
    from engine.shell.metrics import EngineStats
    from engine.stonith.fencer import Fencer
    from engine.transport.base import Link


class EngineView(Protocol):
    """What the engine runs with, to read."""

    @property
    def config(self) -> ClusterConfig: ...
    @property
    def membership(self) -> Membership: ...
    @property
    def policy(self) -> ResourcePolicy | None: ...
    @property
    def actions(self) -> ActionWorker: ...
    @property
    def control(self) -> ControlServer: ...
    @property
    def fencer(self) -> Fencer: ...
    @property
    def links(self) -> Sequence[Link]: ...
    @property
    def children(self) -> ChildManager: ...
    @property
    def stats(self) -> EngineStats: ...
    @property
    def lag(self) -> LoopLag: ...
    @property
    def last_change(self) -> dict[str, Any]: ...
    @property
    def allow_fault_injection(self) -> bool: ...

    def now(self) -> float:
        """The loop's monotonic time (what the cores are given)."""
        ...


class ControlEffects(Protocol):
    """What a control request may make the engine do."""

    def pump(self) -> None:
        """Act on what the cores say now (after a request they accepted)."""
        ...

    def status_changed(self) -> None:
        """Something shown in the status changed: rebuild and push it."""
        ...

    def timeline(self, kind: str, node: str, group: str, reason: str, outcome: str = "") -> None:
        """Add a timeline entry (published to subscribers, kept as ``last_change``)."""
        ...

    def set_link_cut(self, name: str, cut: bool) -> bool:
        """Fault injection: drop or pass a link's traffic; False for an unknown link."""
        ...
