"""``ResourcePolicy``: the concern mixins put together, plus its inputs and outputs.

Each concern lives in its own module (startup, takeover, fencing, standby, admin,
legacy, shutdown, ipfail, audit) over the shared helpers of ``jobs``, ``messages``,
``base`` and ``state``; this module dispatches messages and timers to them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from engine.config.model import ClusterConfig
from engine.core.policy.admin import AdminMixin
from engine.core.policy.audit import AuditMixin
from engine.core.policy.fencing import TakeOver
from engine.core.policy.holdings import Group
from engine.core.policy.ipfail import IpfailMixin
from engine.core.policy.legacy import LegacyMixin
from engine.core.policy.monitor import MonitorMixin
from engine.core.policy.startup import StartupMixin
from engine.core.policy.takeover import TakeoverMixin
from engine.core.policy_types import Action, PolicyEvent
from engine.protocol.message import Message

logger = logging.getLogger(__name__)


class ResourcePolicy(
    StartupMixin,
    TakeoverMixin,
    AdminMixin,
    LegacyMixin,
    IpfailMixin,
    MonitorMixin,
    AuditMixin,
):
    """Heartbeat v1 resource ownership: nice_failback, legacy, standby, shutdown, fencing.

    Args:
        config: the cluster configuration (groups, nodes, auto_failback, stonith).
        now: monotonic seconds at creation.
        rsc_delay: the RSCRCVD delay before taking our own groups when the peer never
            settles (Heartbeat's ``RQSTDELAY``, 10 s). Keep the default for interop.
        fence_delay: death-match guard of 2-node clusters: seconds the non-preferred
            node waits before fencing its peer (the node running groups, else the first
            ``node``, fences at once), as Pacemaker's ``pcmk_delay_base``.
        fence_retry: (first, maximum) seconds between attempts of a failing fence; the
            interval doubles after every failure.
    """

    # ------------------------------------------------------------------ test views

    @property
    def _config(self) -> ClusterConfig:
        """Read-only: the configuration (unit tests that look inside read it)."""
        return self._sides.config

    @property
    def _groups(self) -> Mapping[str, Group]:
        """Read-only: each group's state here, by key (the unit tests' harness reads it)."""
        return dict(self._holdings.items())

    @property
    def _fence_failures(self) -> dict[str, int]:
        """Read-only: failed fence attempts per node (a stonith unit test reads it)."""
        return self._fencing.failures

    def _death_match_delay(self, node: str) -> float:
        """The death-match delay before fencing ``node`` (a stonith unit test asks)."""
        return self._fencing.death_match_delay(node)

    @property
    def _pushes(self) -> list[tuple[float, str, str]]:
        """Read-only: the pushes after failed starts waiting for their time."""
        return self._push_schedule.pending()

    # ------------------------------------------------------------------ outputs

    def drain_outbound(self) -> list[Message]:
        """Cluster messages to send (no control fields), oldest first."""
        return self._out.drain_messages()

    def drain_actions(self) -> list[Action]:
        """Actions for the shell: Acquire/Release one at a time in order, Fence at once,
        Monitor beside them (CancelMonitor stops one)."""
        return self._out.drain_actions()

    def drain_events(self) -> list[PolicyEvent]:
        """Timeline entries produced since the last call."""
        return self._out.drain_events()

    def next_deadline(self) -> float | None:
        """The earliest time ``tick`` has something to do, or None."""
        times = [
            t
            for t in (
                self._negotiation.rscrcvd_at,
                self._standby.deadline,
                self._failback.retry_at,
            )
            if t is not None
        ]
        times.extend(self._fencing.deadlines())
        times.extend(self._push_schedule.deadlines())
        times.extend(self._monitor_deadlines())
        if self._ipfail is not None and self._ipfail.next_deadline() is not None:
            times.append(self._ipfail.next_deadline() or 0.0)
        return min(times) if times else None

    # ------------------------------------------------------------------ inputs

    def on_fence_done(self, node: str, ok: bool, reason: str, now: float) -> None:
        """Result of a Fence action (spec §8.2): take over on success, retry later else."""
        self._now = now
        if not self._fencing.expects(node):
            return
        self._take_over(self._fencing.fence_done(node, ok, reason, now))
        self._settle()

    def on_manual_fence_done(self, node: str, ok: bool, reason: str, who: str, now: float) -> None:
        """An operator's fence (``hactl stonith NODE``) finished."""
        self._now = now
        if not self._sides.is_other(node):
            return
        if not ok:
            self._fencing.manual_fence_failed(node, reason, who)
            return
        self._take_over(self._fencing.manual_fence_succeeded(node, who))
        self._settle()

    def confirm_stopped(self, node: str, who: str, now: float) -> str | None:
        """An operator confirms ``node``'s failed groups are stopped; None when accepted."""
        self._now = now
        decision = self._fencing.confirm_stopped(node, who)
        if isinstance(decision, str):
            return decision
        self._take_over(decision)
        self._settle()
        return None

    def on_local_stall(self, stalled_ms: int, now: float) -> None:
        """Our own loop was frozen for longer than deadtime: self-fence our resources
        (``Shutdown.self_fence``)."""
        self._now = now
        if self._shutdown.self_fence(stalled_ms):
            self._failback.cancel_retry()
            self._settle()

    def _take_over(self, decision: TakeOver | None) -> None:
        if decision is not None:
            self._takeover_from_node(decision.node, decision.why)

    @property
    def shutdown_complete(self) -> bool:
        """True once every group was released and ``shutdone`` was queued."""
        return self._shutdown.complete

    def request_shutdown(self, now: float) -> str | None:
        """Graceful stop (spec §7.9); the shell exits when ``shutdown_complete``."""
        self._now = now
        if self._shutdown.request():
            self._settle()
        return None

    def give_up(self, reason: str, now: float) -> None:
        """Leave the cluster now, without waiting to be stable (a ``failfast`` child
        died); the shell exits when ``shutdown_complete`` (``Shutdown.give_up``)."""
        self._now = now
        if self._shutdown.give_up(reason):
            self._failback.cancel_retry()
            self._settle()

    def on_message(self, msg: Message, now: float) -> None:
        """Process one accepted cluster message (ours included, via loopback)."""
        self._now = now
        src = msg.get("src")
        kind = msg.type
        if not src or not kind:
            logger.error("resource message without src/t field ignored: %s", msg.describe())
            return
        if src not in (self._sides.us, self._sides.other):
            # v1 resource management is two-node (spec §12); more nodes only heartbeat.
            logger.debug("ignoring %s message from %s: not a resource peer", kind, src)
            return
        if src == self._sides.other:
            self._peer.mark_heard()
        handler = self._handlers().get(kind)
        if handler is None:
            logger.debug("policy: no handler for message type %s", kind)
        elif kind != "shutdone" and not self._peer.comm_up:
            logger.debug("policy: %s from %s before communications are up ignored", kind, src)
        else:
            handler(msg, src)
        self._settle()

    def _handlers(self) -> dict[str, Callable[[Message, str], None]]:
        return {
            "starting": self._on_starting,
            "resource": self._on_resource,
            "ask_resources": lambda msg, src: self._standby.on_ask_resources(msg, src, self._now),
            "hb_takeover": self._standby.on_hb_takeover,
            "ip-request": self._on_ip_request,
            "ip-request-resp": self._on_ip_request_resp,
            "shutdone": self._on_shutdone,
            "stonith": self._on_stonith,
            "num_ping_nodes": self._on_ipfail_message,
            "you_are_dead": self._on_ipfail_message,
            "abort_giveup": self._on_ipfail_message,
        }

    def replace_groups(self, config: ClusterConfig) -> None:
        """Take a reloaded haresources: groups whose line is unchanged keep their state."""
        self._holdings.replace(config)
        self._sides.replace(config)

    def tick(self, now: float) -> None:
        """Run every timer that is due."""
        self._now = now
        if self._negotiation.rscrcvd_due(now):
            self._rscrcvd_expired()
        self._standby.timed_out(now)
        if self._failback.retry_due(now):
            self._failback.perform(now)
        self._fencing.retry_due(now)
        for which, key in self._push_schedule.take_due(now):
            self._push_failed_group(which, key)
        self._ipfail_tick(now)
        self._settle()
