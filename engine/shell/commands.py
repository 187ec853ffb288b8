"""The control socket's handler: the status document and the mutating verbs.

Each verb validates its arguments, asks the core, and either returns a result or raises
``CommandRefused`` with a reason the operator can act on; nothing here runs I/O itself.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from engine.control.schema import CommandRefused, PeerInfo
from engine.shell.statusdoc import StatusBuilder
from engine.shell.view import ControlEffects, EngineView
from engine.stonith.base import S_OOPS, StonithResult

logger = logging.getLogger("heartbeat")


class EngineControl:
    """The control handler (``engine.control.server.ControlHandler``): the status
    document and the mutating verbs ``standby``, ``takeover``, ``stonith``,
    ``meatware_confirm``, ``debug_link``, and the read-only ``hbparameter``.

    It reads the engine through a read-only view and changes it only by asking the
    cores (the policy's requests, the fencer) and through ``ControlEffects``.
    """

    def __init__(self, engine: EngineView, effects: ControlEffects, status: StatusBuilder) -> None:
        self._engine = engine
        self._effects = effects
        self._status = status

    def status(self) -> dict[str, Any]:
        """The current ``status --json`` document."""
        return self._status.status()

    def command_names(self) -> frozenset[str]:
        """Mutating verbs of the control socket."""
        names = {"standby", "takeover", "stonith", "meatware_confirm"}
        if self._engine.allow_fault_injection:
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
            return {"name": name, "value": self._engine.config.parameter(name)}
        raise CommandRefused(f"unknown command {cmd}")

    def _standby_or_takeover(self, cmd: str, args: dict[str, Any]) -> dict[str, Any]:
        which = args.get("which", "all")
        if which not in ("all", "foreign", "local", "failback"):
            raise CommandRefused(
                f"{cmd}: unknown resource set {which!r}; use all, foreign, local or failback"
            )
        policy = self._engine.policy
        if policy is None:
            raise CommandRefused("resource management is disabled (crm/pacemaker on)")
        now = self._engine.now()
        if cmd == "standby":
            refusal = policy.request_standby(which, now)
        else:
            refusal = policy.request_takeover(which, now)
        if refusal:
            raise CommandRefused(refusal)
        self._effects.pump()
        return {"accepted": True, "which": which, "message": f"{cmd} {which} requested"}

    def _manual_stonith(self, args: dict[str, Any], peer: PeerInfo) -> dict[str, Any]:
        """``hactl stonith NODE``: start a reset now (the reply does not wait for it)."""
        node = args.get("node")
        if not isinstance(node, str) or not node.strip():
            raise CommandRefused('stonith needs {"node": NAME}')
        node = node.strip().lower()
        config, fencer = self._engine.config, self._engine.fencer
        if node == config.node_name:
            raise CommandRefused(f"refusing to fence {node}: it is this node")
        if node not in config.nodes:
            raise CommandRefused(f"unknown node {node!r}; nodes: {', '.join(config.nodes)}")
        if not fencer.configured:
            raise CommandRefused(fencer.error or "no STONITH device configured")
        who = _who(peer)
        task = asyncio.get_running_loop().create_task(fencer.fence(node, "operator request", who))
        task.add_done_callback(lambda done: self._manual_stonith_done(node, who, done))
        self._effects.timeline("fence", node, "", f"STONITH of {node} requested by {who}")
        return {"accepted": True, "node": node, "device": fencer.device_id}

    def _manual_stonith_done(self, node: str, who: str, task: asyncio.Task[StonithResult]) -> None:
        """The end of an operator's reset: on the timeline with ``outcome`` done/failed
        (the control reply only said "accepted"; this is what the console waits for),
        and told to the policy, so that the node's death that follows a reset is not
        answered with a second reset."""
        self._effects.status_changed()
        if task.cancelled():
            result = StonithResult.failure(S_OOPS, "the engine stopped before it finished")
        elif task.exception() is not None:
            result = StonithResult.failure(S_OOPS, f"internal error: {task.exception()}")
        else:
            result = task.result()
        if result.ok:
            reason = f"{node} now reset by {self._engine.fencer.device_id} (requested by {who})"
        else:
            reason = f"STONITH of {node} failed, {node} not reset: {result.reason}"
        self._effects.timeline("fence", node, "", reason, outcome="done" if result.ok else "failed")
        policy = self._engine.policy
        if policy is not None and not task.cancelled():
            policy.on_manual_fence_done(node, result.ok, result.reason, who, self._engine.now())
            self._effects.pump()

    def _meatware_confirm(self, args: dict[str, Any], peer: PeerInfo) -> dict[str, Any]:
        """``hactl meatware confirm NODE``: the operator power-cycled NODE."""
        node = args.get("node")
        if not isinstance(node, str) or not node.strip():
            raise CommandRefused('meatware_confirm needs {"node": NAME}')
        node = node.strip().lower()
        refusal = self._engine.fencer.confirm_meatware(node, _who(peer))
        policy = self._engine.policy
        if refusal and policy is not None and node in self._status.stop_unconfirmed():
            # no device could fence a node that failed to stop: the operator vouches
            refusal = policy.confirm_stopped(node, _who(peer), self._engine.now())
            self._effects.pump()
        if refusal:
            raise CommandRefused(refusal)
        self._effects.status_changed()
        return {"accepted": True, "node": node.strip().lower()}

    def _debug_link(self, args: dict[str, Any]) -> dict[str, Any]:
        name, up = args.get("link"), args.get("up")
        if not isinstance(name, str) or not isinstance(up, bool):
            raise CommandRefused('debug_link needs {"link": NAME, "up": true|false}')
        if self._effects.set_link_cut(name, not up):
            logger.warning("fault injection: link %s %s", name, "restored" if up else "cut")
            self._effects.status_changed()
            return {"link": name, "up": up}
        names = [link.name for link in self._engine.links]
        raise CommandRefused(f"no link named {name!r}; links: {names}")


def _who(peer: PeerInfo) -> str:
    """Audit text naming who asked: user, uid, pid and program."""
    return f"{peer.user or '?'} (uid {peer.uid}, pid {peer.pid}: {peer.cmdline or '?'})"
