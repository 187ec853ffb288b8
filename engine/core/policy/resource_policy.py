"""``ResourcePolicy``: the planner. It builds the owners and routes every input to them.

Each input (a message, a status change, an action's result, an operator's request, a
tick) goes to the owner of that concern; decisions that cross owners come back as
values (``TakeOver``, True/False "it happened") and the planner hands them on. After
each input it settles: deferred work, the job queue, a waiting shutdown, a double
claim to resolve, monitor recovery, then the next monitor check. The map of owners
and routes is in docs/architecture.md ("policy").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from engine.config.model import ClusterConfig, MonitorConfig
from engine.core.policy.constants import STONITH_RETRY, STONITH_RETRY_MAX
from engine.core.policy.fencing import TakeOver
from engine.core.policy.holdings import Group
from engine.core.policy.wiring import build_owners
from engine.core.policy_types import Action, MonitorCheck, PolicyEvent
from engine.protocol.message import Message


class ResourcePolicy:
    """Heartbeat v1 resource ownership: nice_failback, legacy, standby, shutdown, fencing.

    Args:
        config: the cluster configuration (groups, nodes, auto_failback, stonith).
        now: monotonic seconds at creation (nothing is timed before the first input,
            which brings its own ``now``).
        rsc_delay: the RSCRCVD delay before taking our own groups when the peer never
            settles (Heartbeat's ``RQSTDELAY``, 10 s). Keep the default for interop.
        fence_delay: death-match guard of 2-node clusters: seconds the non-preferred
            node waits before fencing its peer (the node running groups, else the first
            ``node``, fences at once), as Pacemaker's ``pcmk_delay_base``.
        fence_retry: (first, maximum) seconds between attempts of a failing fence; the
            interval doubles after every failure.
    """

    def __init__(
        self,
        config: ClusterConfig,
        now: float,
        rsc_delay: float = 10.0,
        *,
        fence_delay: float = 0.0,
        fence_retry: tuple[float, float] = (STONITH_RETRY, STONITH_RETRY_MAX),
    ) -> None:
        owners = build_owners(config, rsc_delay, fence_delay, fence_retry)
        self._sides, self._out, self._peer = owners.sides, owners.out, owners.peer
        self._holdings, self._negotiation = owners.holdings, owners.negotiation
        self._pushes_due, self._jobs = owners.pushes, owners.jobs
        self._shutdown, self._standby = owners.shutdown, owners.standby
        self._stability, self._failback = owners.stability, owners.failback
        self._oneway, self._convergence = owners.oneway, owners.convergence
        self._fencing, self._startup = owners.fencing, owners.startup
        self._takeover, self._admin = owners.takeover, owners.admin
        self._selffence = owners.selffence
        self._recovery, self._checks = owners.recovery, owners.checks
        self._ipfail, self._router = owners.ipfail, owners.router
        self._status = owners.status

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
        timers = (self._negotiation.rscrcvd_at, self._standby.deadline, self._failback.retry_at)
        times = [t for t in timers if t is not None]
        times += self._fencing.deadlines() + self._pushes_due.deadlines()
        times += self._checks.deadlines() + self._oneway.deadlines()
        times += self._convergence.deadlines()
        ipfail = self._ipfail.next_deadline()
        if ipfail is not None:
            times.append(ipfail)
        return min(times) if times else None

    @property
    def shutdown_complete(self) -> bool:
        """True once every group was released and ``shutdone`` was queued."""
        return self._shutdown.complete

    def snapshot(self) -> dict[str, object]:
        """The resource part of ``status --json``."""
        return self._status.snapshot()

    def monitor_status(self, now: float, wall: float) -> dict[str, dict[str, object]]:
        """Per group key: ``{"group": {...}, "resources": {token: {...}}}`` for status."""
        return self._checks.status(now, wall)

    # ------------------------------------------------------------------ membership

    def on_comm_up(self, now: float) -> None:
        """Communications are up (spec §6.8): start the resource logic (§7.6/§7.7)."""
        if not self._startup.comm_up(now):
            return
        self._takeover.after_comm_up(now)
        self._router.after_comm_up(now)
        self._settle(now)

    def on_message(self, msg: Message, now: float) -> None:
        """Process one accepted cluster message (ours included, via loopback)."""
        if self._router.route(msg, now):
            self._settle(now)

    def on_node_status(self, node: str, status: str, now: float) -> None:
        """A node's status changed (init/up/active/dead): ping nodes feed ipfail."""
        self._ipfail.on_node_status(node, status, now)
        if self._sides.is_other(node):
            self._takeover.status_changed(node, status, now)
            self._settle(now)

    def on_node_dead(self, node: str, reason: str, now: float) -> None:
        """A peer was declared dead: fence if needed, then take over (spec §7.6, §8.2)."""
        if self._sides.is_other(node):
            self._takeover.declared_dead(node, reason, now)
            self._settle(now)

    def on_node_restarted(self, node: str, now: float) -> None:
        """A peer came back with a higher generation: it will announce itself again."""
        if self._sides.is_other(node):
            self._takeover.came_back(node)
        self._settle(now)

    def on_peer_hears(self, node: str, hears_us: bool | None, now: float) -> None:
        """The other side's status lists us (True), does not (False), or says nothing
        (None): the one-way loss guard's input."""
        if self._sides.is_other(node):
            self._peer.heard_by_other(hears_us)
            self._settle(now)

    def on_local_stall(self, stalled_ms: int, now: float) -> None:
        """Our own loop was frozen for longer than deadtime: self-fence our resources,
        then rejoin once they are released (``selffence.py``)."""
        if self._selffence.begin(stalled_ms):
            self._failback.cancel_retry()
            self._settle(now)

    # ------------------------------------------------------------------ results

    def on_action_done(self, action_id: int, ok: bool, reason: str, now: float) -> None:
        """An Acquire/Release finished; continue the job that asked for it."""
        if self._jobs.on_action_done(action_id, ok, reason, now):
            self._settle(now)

    def on_fence_done(self, node: str, ok: bool, reason: str, now: float) -> None:
        """Result of a Fence action (spec §8.2): take over on success, retry later else."""
        if self._fencing.expects(node):
            self._take_over(self._fencing.fence_done(node, ok, reason, now))
            self._settle(now)

    def on_manual_fence_done(self, node: str, ok: bool, reason: str, who: str, now: float) -> None:
        """An operator's fence (``hactl stonith NODE``) of the other side finished."""
        if not self._sides.is_other(node):
            return
        if not ok:
            self._fencing.manual_fence_failed(node, reason, who)
            return
        self._take_over(self._fencing.manual_fence_succeeded(node, who))
        self._settle(now)

    def on_monitor_done(self, action_id: int, checks: Sequence[MonitorCheck], now: float) -> None:
        """A Monitor finished (``checks`` in group order, up to the first failure)."""
        if self._checks.on_monitor_done(action_id, checks, now):
            self._settle(now)

    def _take_over(self, decision: TakeOver | None) -> None:
        if decision is not None:
            self._takeover.take_over_from(decision.node, decision.why)

    # ------------------------------------------------------------------ operator

    def request_standby(self, which: str, now: float) -> str | None:
        """``hb_standby [all|foreign|local|failback]``; None when accepted, else why not."""
        refusal = self._admin.request_standby(which, now)
        if refusal is None:
            self._settle(now)
        return refusal

    def request_takeover(self, which: str, now: float) -> str | None:
        """``hb_takeover [all|foreign|local|failback]``: ask the peer to go standby."""
        refusal = self._admin.request_takeover(which, now)
        if refusal is None:
            self._settle(now)
        return refusal

    def confirm_stopped(self, node: str, who: str, now: float) -> str | None:
        """An operator confirms ``node``'s failed groups are stopped; None when accepted."""
        decision = self._fencing.confirm_stopped(node, who)
        if isinstance(decision, str):
            return decision
        self._take_over(decision)
        self._settle(now)
        return None

    def request_shutdown(self, now: float) -> str | None:
        """Graceful stop (spec §7.9); the shell exits when ``shutdown_complete``."""
        if self._shutdown.request():
            self._settle(now)
        return None

    def give_up(self, reason: str, now: float) -> None:
        """Leave the cluster now, without waiting to be stable (a ``failfast`` child
        died); the shell exits when ``shutdown_complete`` (``Shutdown.give_up``)."""
        if self._shutdown.give_up(reason):
            self._failback.cancel_retry()
            self._settle(now)

    def set_monitor(self, monitor: MonitorConfig, now: float) -> None:
        """New monitoring settings (reload): checks follow the new interval from now."""
        if self._checks.set_settings(monitor, now):
            self._settle(now)

    def replace_groups(self, config: ClusterConfig) -> None:
        """Take a reloaded haresources: groups whose line is unchanged keep their state."""
        self._holdings.replace(config)
        self._sides.replace(config)

    # ------------------------------------------------------------------ time

    def tick(self, now: float) -> None:
        """Run every timer that is due."""
        if self._negotiation.rscrcvd_due(now):
            self._startup.rscrcvd_expired(now)
        self._standby.timed_out(now)
        if self._failback.retry_due(now):
            self._failback.perform(now)
        self._fencing.retry_due(now)
        for which, key in self._pushes_due.take_due(now):
            self._admin.push_failed_group(which, key, now)
        self._ipfail.tick(now)
        if self._convergence.answer_due(now):
            self._convergence.answer_claim(now, prompted=False)
        self._settle(now)

    def _settle(self, now: float) -> None:
        """Run deferred work and the job queue until nothing more can move; then start
        or cancel a resource monitor check (only a settled node checks)."""
        shutdown = self._shutdown
        for _ in range(1000):
            self._jobs.run_deferred()
            self._jobs.pump(now)
            waiting = shutdown.wanted and not shutdown.in_progress
            if waiting and shutdown.try_begin(self._stability):
                self._failback.cancel_retry()
            self._takeover.maybe_resolve_conflict(now)
            if self._convergence.orphans_due(now):
                self._startup.start_orphans()
            self._oneway.check(now)
            self._selffence.rejoin(now)
            self._recovery.progress(now)
            if not self._jobs.has_deferred():
                break
        self._checks.dispatch(now)

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
    def _pushes(self) -> list[tuple[float, str, str]]:
        """Read-only: the pushes after failed starts waiting for their time."""
        return self._pushes_due.pending()

    @property
    def _fence_failures(self) -> dict[str, int]:
        """Read-only: failed fence attempts per node (a stonith unit test reads it)."""
        return self._fencing.failures

    def _death_match_delay(self, node: str) -> float:
        """The death-match delay before fencing ``node`` (a stonith unit test asks)."""
        return self._fencing.death_match_delay(node)
