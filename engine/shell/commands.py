"""The control socket's mutating verbs, as a mixin of the Engine.

Each verb validates its arguments, asks the core, and either returns a result or raises
``CommandRefused`` with a reason the operator can act on; nothing here runs I/O itself.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from engine.control.schema import CommandRefused, PeerInfo
from engine.stonith.base import S_OOPS, StonithResult

if TYPE_CHECKING:
    from engine.config.model import ClusterConfig
    from engine.core.policy import ResourcePolicy
    from engine.stonith.base import StonithResult
    from engine.stonith.fencer import Fencer
    from engine.transport.base import Link

logger = logging.getLogger("heartbeat")


class EngineCommands:
    """``standby``, ``takeover``, ``stonith``, ``meatware_confirm``, ``debug_link``..."""

    config: ClusterConfig
    policy: ResourcePolicy | None
    fencer: Fencer
    links: list[Link]
    loop: asyncio.AbstractEventLoop
    allow_fault_injection: bool

    # Provided by the Engine (and EngineStatus); declared so the mixin type-checks.
    def _pump(self) -> None:
        raise NotImplementedError

    def _mark_status_dirty(self) -> None:
        raise NotImplementedError

    def _timeline(self, kind: str, node: str, group: str, reason: str, outcome: str = "") -> None:
        raise NotImplementedError

    def _stop_unconfirmed(self) -> list[str]:
        raise NotImplementedError

    def command_names(self) -> frozenset[str]:
        """Mutating verbs of the control socket."""
        names = {"standby", "takeover", "stonith", "meatware_confirm"}
        if self.allow_fault_injection:
            names.add("debug_link")
        return frozenset(names)

    async def act(self, cmd: str, args: dict[str, Any], peer: PeerInfo) -> dict[str, Any]:
        """Run one mutating control request; raise CommandRefused with the reason."""
        if cmd in ("standby", "takeover"):
            return self._standby_or_takeover(cmd, args)
        if cmd == "debug_link":
            return self._debug_link(args)
        if cmd == "stonith":
            return self._manual_stonith(args, peer)
        if cmd == "meatware_confirm":
            return self._meatware_confirm(args, peer)
        if cmd == "hbparameter":
            name = args.get("name")
            if not isinstance(name, str):
                raise CommandRefused('hbparameter needs {"name": PARAMETER}')
            return {"name": name, "value": self.config.parameter(name)}
        raise CommandRefused(f"unknown command {cmd}")

    def _standby_or_takeover(self, cmd: str, args: dict[str, Any]) -> dict[str, Any]:
        which = args.get("which", "all")
        if which not in ("all", "foreign", "local", "failback"):
            raise CommandRefused(
                f"{cmd}: unknown resource set {which!r}; use all, foreign, local or failback"
            )
        if self.policy is None:
            raise CommandRefused("resource management is disabled (crm/pacemaker on)")
        now = self.loop.time()
        if cmd == "standby":
            refusal = self.policy.request_standby(which, now)
        else:
            refusal = self.policy.request_takeover(which, now)
        if refusal:
            raise CommandRefused(refusal)
        self._pump()
        return {"accepted": True, "which": which, "message": f"{cmd} {which} requested"}

    def _manual_stonith(self, args: dict[str, Any], peer: PeerInfo) -> dict[str, Any]:
        """``hactl stonith NODE``: start a reset now (the reply does not wait for it)."""
        node = args.get("node")
        if not isinstance(node, str) or not node.strip():
            raise CommandRefused('stonith needs {"node": NAME}')
        node = node.strip().lower()
        if node == self.config.node_name:
            raise CommandRefused(f"refusing to fence {node}: it is this node")
        if node not in self.config.nodes:
            raise CommandRefused(f"unknown node {node!r}; nodes: {', '.join(self.config.nodes)}")
        if not self.fencer.configured:
            raise CommandRefused(self.fencer.error or "no STONITH device configured")
        who = _who(peer)
        task = self.loop.create_task(self.fencer.fence(node, "operator request", who))
        task.add_done_callback(lambda done: self._manual_stonith_done(node, who, done))
        self._timeline("fence", node, "", f"STONITH of {node} requested by {who}")
        return {"accepted": True, "node": node, "device": self.fencer.device_id}

    def _manual_stonith_done(self, node: str, who: str, task: asyncio.Task[StonithResult]) -> None:
        """The end of an operator's reset: on the timeline with ``outcome`` done/failed
        (the control reply only said "accepted"; this is what the console waits for),
        and told to the policy, so that the node's death that follows a reset is not
        answered with a second reset."""
        self._mark_status_dirty()
        if task.cancelled():
            result = StonithResult.failure(S_OOPS, "the engine stopped before it finished")
        elif task.exception() is not None:
            result = StonithResult.failure(S_OOPS, f"internal error: {task.exception()}")
        else:
            result = task.result()
        if result.ok:
            reason = f"{node} now reset by {self.fencer.device_id} (requested by {who})"
        else:
            reason = f"STONITH of {node} failed, {node} not reset: {result.reason}"
        self._timeline("fence", node, "", reason, outcome="done" if result.ok else "failed")
        if self.policy is not None and not task.cancelled():
            self.policy.on_manual_fence_done(node, result.ok, result.reason, who, self.loop.time())
            self._pump()

    def _meatware_confirm(self, args: dict[str, Any], peer: PeerInfo) -> dict[str, Any]:
        """``hactl meatware confirm NODE``: the operator power-cycled NODE."""
        node = args.get("node")
        if not isinstance(node, str) or not node.strip():
            raise CommandRefused('meatware_confirm needs {"node": NAME}')
        node = node.strip().lower()
        refusal = self.fencer.confirm_meatware(node, _who(peer))
        if refusal and self.policy is not None and node in self._stop_unconfirmed():
            # no device could fence a node that failed to stop: the operator vouches
            refusal = self.policy.confirm_stopped(node, _who(peer), self.loop.time())
            self._pump()
        if refusal:
            raise CommandRefused(refusal)
        self._mark_status_dirty()
        return {"accepted": True, "node": node.strip().lower()}

    def _debug_link(self, args: dict[str, Any]) -> dict[str, Any]:
        name, up = args.get("link"), args.get("up")
        if not isinstance(name, str) or not isinstance(up, bool):
            raise CommandRefused('debug_link needs {"link": NAME, "up": true|false}')
        for link in self.links:
            if link.name == name:
                link.cut = not up
                logger.warning("fault injection: link %s %s", name, "restored" if up else "cut")
                self._mark_status_dirty()
                return {"link": name, "up": up}
        raise CommandRefused(f"no link named {name!r}; links: {[lk.name for lk in self.links]}")


def _who(peer: PeerInfo) -> str:
    """Audit text naming who asked: user, uid, pid and program."""
    return f"{peer.user or '?'} (uid {peer.uid}, pid {peer.pid}: {peer.cmdline or '?'})"
