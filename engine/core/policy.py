"""Sans-I/O resource ownership and failover policy (Heartbeat v1 ``hb_resource``).

Rules of this module:

* No I/O and no clock: every input carries ``now`` (monotonic seconds).
* Cluster messages go out through ``drain_outbound`` without control fields; the
  membership layer stamps them and loops them back into ``on_message`` exactly like
  Heartbeat processes its own messages (spec §7.4).
* Heartbeat's rc.d/mach_down/req_resource/hb_standby scripts are implemented here as
  internal *jobs*. Jobs run strictly one after another (Heartbeat's serialisation rule,
  spec §7.4) and each emits at most one Acquire/Release at a time.
* Wire messages have Heartbeat's field names, order and values (fixtures in
  ``spec/wire-fixtures``). Log lines use Heartbeat's wording; plain lines go to
  ``logger``, decisions become ``PolicyEvent``s that also carry their log line.

Deliberate differences from Heartbeat 3.0.6 (all on the safe side):

* A failed Release is never reported as released: the class stays in ``i_hold``, no
  ``done``/``shutdone``/``ok=OK`` is sent for it, the peer does not start the group.
* After a healed partition the node that is *not* a group's home releases it (Heartbeat
  restarts both daemons instead).
* Only groups that are not stopped are released (Heartbeat runs stop for all keys).
* A peer's ``shutdone`` does not start Heartbeat's redundant standby-acquire child.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.config.model import AutoFailback, ClusterConfig, GroupSpec
from engine.core.ipfail import make_ipfail
from engine.core.policy_types import (
    Acquire,
    Action,
    Fence,
    Hold,
    PolicyEvent,
    Release,
    ResourceState,
    StandbyState,
    hold_name,
    parse_hold,
    swap_view,
)
from engine.protocol.message import Message

logger = logging.getLogger(__name__)

STANDBY_INIT_TIMEOUT = 10.0
"""Seconds the standby requester waits for the ``other`` reply (STANDBY_INIT_TO_MS)."""
STANDBY_RSC_TIMEOUT = 3600.0
"""Seconds a standby resource hand-over may take (HB_STANDBY_RSC_TO_MS)."""
FAILBACK_RETRY = 1.0
STONITH_RETRY = 5.0
"""First retry after a failed fence (Heartbeat's fixed interval); later ones back off."""
STONITH_RETRY_MAX = 60.0
FAILED_START_PUSH_DELAY = 30.0
"""ResourceManager runs ``hb_standby`` 30 s after a failed start (spec §7.3)."""
RESOURCE_MANAGER = "/usr/share/heartbeat/ResourceManager"

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "WARN": logging.WARNING,
    "ERROR": logging.ERROR,
    "CRIT": logging.CRITICAL,
}
_STANDBY_WORDS = {
    "": "all",
    "all": "all",
    "foreign": "foreign",
    "local": "local",
    "failback": "foreign",
}
_STOP_FAILED_INFO = {
    "standby aborted": "while going standby",
    "shutdown": "while shutting down",
    "stop failed": "while handing groups back after a partition",
}
"""``info`` of a peer's hold report that, with holdings left, means a stop failed there."""


@dataclass(slots=True)
class _Group:
    """What we know about one haresources group on this node."""

    spec: GroupSpec
    state: str = "stopped"
    reason: str = "not started"
    failed_op: str = ""
    """``start`` or ``stop`` when state is failed."""
    pushed: bool = False
    """The one delayed standby push after a failed start has been scheduled."""


@dataclass(slots=True)
class _Step:
    """One step of a job: acquire/release a group, or run a callable."""

    kind: str
    key: str = ""
    reason: str = ""
    call: Callable[[_Job], None] | None = None


@dataclass(slots=True)
class _Job:
    """A resource-management "child" of Heartbeat: steps run in order, one at a time."""

    name: str
    steps: deque[_Step] = field(default_factory=deque)
    failures: list[str] = field(default_factory=list)


class ResourcePolicy:
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

    def __init__(
        self,
        config: ClusterConfig,
        now: float,
        rsc_delay: float = 10.0,
        *,
        fence_delay: float = 0.0,
        fence_retry: tuple[float, float] = (STONITH_RETRY, STONITH_RETRY_MAX),
    ) -> None:
        self._config = config
        self._fence_delay = fence_delay
        self._fence_retry_min, self._fence_retry_max = fence_retry
        self._fence_failures: dict[str, int] = {}
        self._fence_last_error: dict[str, str] = {}
        self._us = config.node_name
        self._peer: str | None = config.peers[0] if config.peers else None
        self._nice = config.auto_failback is not AutoFailback.LEGACY
        self._auto = config.auto_failback is AutoFailback.ON
        self._rsc_delay = rsc_delay
        self._now = now
        self._groups = {g.key: _Group(g) for g in config.groups}
        self._outbound: list[Message] = []
        self._actions: list[Action] = []
        self._events: list[PolicyEvent] = []
        self._next_id = 1
        # Heartbeat bookkeeping (spec §7.5)
        self._i_hold = Hold.NONE
        self._other_holds = Hold.NONE
        self._other_stable = False
        self._rstate = ResourceState.INIT
        self._takeover_in_progress = False
        self._standby = StandbyState.NOT
        self._standby_deadline: float | None = None
        self._standby_set = Hold.ALL
        self._needs_failback = False
        self._failback_retry_at: float | None = None
        self._rscrcvd_at: float | None = None
        self._local_done = False
        self._foreign_done = False
        self._announced = False
        # peer knowledge
        self._comm_up = False
        self._peer_status = "init"
        self._peer_heard = False
        self._peer_has_resources = True
        self._peer_restarted = False
        self._pending_dead: list[tuple[str, str]] = []
        self._legacy_peer_holds: set[str] = set()
        # fencing
        self._fence_inflight: dict[int, str] = {}
        self._fence_retry: dict[str, float] = {}
        self._fence_why: dict[str, str] = {}
        self._stop_fence: dict[str, list[str]] = {}
        """Peer → groups it failed to stop; it is fenced although it is alive."""
        self._stop_unconfirmed: dict[str, list[str]] = {}
        """Same without a STONITH device: waiting for an operator's confirmation."""
        self._peer_fenced = False
        """The peer was reset since it last started: no second fence is needed."""
        self._shutdown_blocked = ""
        # jobs
        self._queue: deque[_Job] = deque()
        self._job: _Job | None = None
        self._inflight: tuple[int, _Step] | None = None
        self._soon: deque[Callable[[], None]] = deque()
        self._acquire_why: dict[str, str] = {}
        self._pushes: list[tuple[float, str, str]] = []
        # shutdown
        self._shutdown_wanted = False
        self._shutdown_delay_logged = False
        self._shutdown_in_progress = False
        self._shutdown_complete = False
        # ipfail, built in (spec §11.3; engine/core/ipfail.py)
        self._ipfail = make_ipfail(config)

    # ------------------------------------------------------------------ outputs

    def drain_outbound(self) -> list[Message]:
        """Cluster messages to send (no control fields), oldest first."""
        out, self._outbound = self._outbound, []
        return out

    def drain_actions(self) -> list[Action]:
        """Acquire/Release/Fence actions for the shell to run one at a time, in order."""
        out, self._actions = self._actions, []
        return out

    def drain_events(self) -> list[PolicyEvent]:
        """Timeline entries produced since the last call."""
        out, self._events = self._events, []
        return out

    @property
    def shutdown_complete(self) -> bool:
        """True once every group was released and ``shutdone`` was queued."""
        return self._shutdown_complete

    def next_deadline(self) -> float | None:
        """The earliest time ``tick`` has something to do, or None."""
        times = [
            t
            for t in (self._rscrcvd_at, self._standby_deadline, self._failback_retry_at)
            if t is not None
        ]
        times.extend(self._fence_retry.values())
        times.extend(t for t, _, _ in self._pushes)
        if self._ipfail is not None and self._ipfail.next_deadline() is not None:
            times.append(self._ipfail.next_deadline() or 0.0)
        return min(times) if times else None

    def snapshot(self) -> dict[str, object]:
        """The resource part of ``status --json``."""
        return {
            "mode": "nice_failback" if self._nice else "legacy",
            "i_hold": hold_name(self._i_hold),
            "other_holds": hold_name(self._other_holds),
            "stable": self._is_stable(),
            "state": self._rstate.name.lower(),
            "standby": "none" if self._standby is StandbyState.NOT else self._standby.name.lower(),
            "groups": [self._group_view(g) for g in self._groups.values()],
            "stop_failed": {
                n: list(k) for n, k in {**self._stop_fence, **self._stop_unconfirmed}.items()
            },
            "shutdown_blocked": self._shutdown_blocked,
            **({"ipfail": self._ipfail.snapshot()} if self._ipfail is not None else {}),
        }

    def _group_view(self, g: _Group) -> dict[str, object]:
        return {
            "key": g.spec.key,
            "home": g.spec.node,
            "held_by": self._held_by(g),
            "state": g.state,
            "reason": g.reason,
        }

    def _held_by(self, g: _Group) -> str | None:
        if g.state in ("running", "starting", "stopping") or g.failed_op == "stop":
            return self._us
        if self._peer is None or self._peer_status == "dead":
            return None
        if not self._nice:
            theirs = g.spec.node == self._peer or g.spec.key in self._legacy_peer_holds
            return self._peer if theirs else None
        bit = Hold.LOCAL if g.spec.node == self._peer else Hold.FOREIGN
        return self._peer if self._other_holds & bit else None

    # ------------------------------------------------------------------ inputs

    def on_comm_up(self, now: float) -> None:
        """Communications are up (spec §6.8): start the resource logic (§7.6/§7.7)."""
        self._now = now
        if self._comm_up:
            return
        self._comm_up = True
        if self._peer is None or self._peer_status != "dead":
            self._foreign_done = True
        if self._nice:
            self._send(("t", "starting"))
            self._rstate = ResourceState.STARTING
        else:
            self._req_our_resources(False, "start-up: this node is the group's home")
        pending, self._pending_dead = self._pending_dead, []
        for node, reason in pending:
            self._recover_dead(node, reason)
        self._settle()

    def on_message(self, msg: Message, now: float) -> None:
        """Process one accepted cluster message (ours included, via loopback)."""
        self._now = now
        src = msg.get("src")
        kind = msg.type
        if not src or not kind:
            logger.error("resource message without src/t field ignored: %s", msg.describe())
            return
        if src not in (self._us, self._peer):
            # v1 resource management is two-node (spec §12); more nodes only heartbeat.
            logger.debug("ignoring %s message from %s: not a resource peer", kind, src)
            return
        if src == self._peer:
            self._peer_heard = True
        handler = self._handlers().get(kind)
        if handler is None:
            logger.debug("policy: no handler for message type %s", kind)
        elif kind != "shutdone" and not self._comm_up:
            logger.debug("policy: %s from %s before communications are up ignored", kind, src)
        else:
            handler(msg, src)
        self._settle()

    def _handlers(self) -> dict[str, Callable[[Message, str], None]]:
        return {
            "starting": self._on_starting,
            "resource": self._on_resource,
            "ask_resources": self._on_ask_resources,
            "hb_takeover": self._on_hb_takeover,
            "ip-request": self._on_ip_request,
            "ip-request-resp": self._on_ip_request_resp,
            "shutdone": self._on_shutdone,
            "stonith": self._on_stonith,
            "num_ping_nodes": self._on_ipfail_message,
            "you_are_dead": self._on_ipfail_message,
            "abort_giveup": self._on_ipfail_message,
        }

    def on_node_status(self, node: str, status: str, now: float) -> None:
        """A peer's status changed (init/up/active/dead)."""
        self._now = now
        if self._ipfail is not None and (self._ipfail.handles(node) or node == self._peer):
            if self._ipfail.handles(node):
                self._ipfail.on_ping_status(node, status, now)
            else:
                self._ipfail.on_peer_status(status, now)
            self._pull_ipfail()
        if node != self._peer:
            return
        old, self._peer_status = self._peer_status, status
        if status != "dead":
            self._peer_heard = True
        if status in ("init", "up"):
            self._peer_restarted = True
            self._peer_fenced = False
            self._stop_unconfirmed.pop(node, None)
        if old == "dead" and status == "active" and not self._peer_restarted:
            self._on_partition_healed(node)
        self._settle()

    def on_node_dead(self, node: str, reason: str, now: float) -> None:
        """A peer was declared dead: fence if needed, then take over (spec §7.6, §8.2)."""
        self._now = now
        if node != self._peer:
            return
        self._peer_status = "dead"
        self._peer_restarted = False
        self._legacy_peer_holds.clear()
        if not self._comm_up:
            self._pending_dead.append((node, reason))
        else:
            self._recover_dead(node, reason)
        self._settle()

    def on_node_restarted(self, node: str, now: float) -> None:
        """A peer came back with a higher generation: it will announce itself again."""
        self._now = now
        if node == self._peer:
            self._peer_restarted = True
            self._peer_fenced = False
            self._stop_unconfirmed.pop(node, None)
            self._other_stable = False
        self._settle()

    def on_action_done(self, action_id: int, ok: bool, reason: str, now: float) -> None:
        """An Acquire/Release finished; continue the job that asked for it."""
        self._now = now
        if self._inflight is None or self._inflight[0] != action_id:
            logger.error("policy: result for unknown action %d ignored", action_id)
            return
        step = self._inflight[1]
        self._inflight = None
        if step.kind == "acquire":
            self._acquire_done(step, ok, reason)
        else:
            self._release_done(step, ok, reason)
        self._settle()

    def on_fence_done(self, node: str, ok: bool, reason: str, now: float) -> None:
        """Result of a Fence action (spec §8.2): take over on success, retry in 5 s else."""
        self._now = now
        ids = [i for i, n in self._fence_inflight.items() if n == node]
        if not ids:
            logger.error("policy: fence result for %s without a pending fence ignored", node)
            return
        for i in ids:
            del self._fence_inflight[i]
        why = self._fence_why.get(node, f"{node} was declared dead")
        if ok:
            self._event("fence", f"{node} was fenced: {reason}", node=node)
            self._send(("t", "stonith"), ("node", node), ("result", "OK"))
            self._fence_why.pop(node, None)
            self._fence_failures.pop(node, None)
            self._fence_last_error.pop(node, None)
            self._stop_fence.pop(node, None)
            self._peer_fenced = True
            self._peer_has_resources = False
            self._takeover_from_node(node, f"{why}; fenced ({reason})")
        else:
            self._send(("t", "stonith"), ("node", node), ("result", "bad"))
            wait = self._fence_backoff(node)
            self._fence_last_error[node] = reason
            self._fence_retry[node] = now + wait
            text = f"STONITH of {node} failed.  Retrying..."
            self._event(
                "failed",
                f"fencing {node} failed: {reason}; retrying in {wait:g} s, "
                f"its resources stay down until it is fenced",
                node=node,
                level="ERROR",
                log=text,
            )
            self._mark_waiting_for_fence(node, f"waiting for STONITH of {node}: {reason}")
            if node in self._stop_fence:
                self._set_reasons(
                    self._stop_fence[node], f"{why}; waiting for STONITH of {node}: {reason}"
                )
        self._settle()

    def on_local_stall(self, stalled_ms: int, now: float) -> None:
        """Our own loop was frozen for longer than deadtime: self-fence our resources.

        The peer has most likely declared us dead and fenced us or taken our groups
        over; running them a moment longer risks a double start. So every queued job is
        dropped and every group is released at once, ahead of any other work, and we
        report holding nothing (reliability.md §3.2, scenario 5).
        """
        self._now = now
        if stalled_ms <= self._config.timing.deadtime_ms or self._peer is None:
            return
        if self._job is not None:
            self._job.steps.clear()
        self._queue.clear()
        self._pushes.clear()
        self._failback_retry_at = None
        reason = (
            f"our main loop stalled for {stalled_ms} ms (deadtime "
            f"{self._config.timing.deadtime_ms} ms): {self._peer} may have declared us dead "
            "and taken over, so we release everything at once"
        )
        self._event(
            "release",
            reason,
            node=self._us,
            level="CRIT",
            log=f"Local stall of {stalled_ms} ms exceeds deadtime: releasing all resources.",
        )
        job = _Job("self-fence", deque(self._release_steps(list(self._groups), reason)))

        def released(j: _Job) -> None:
            if j.failures:
                return
            self._i_hold = Hold.NONE
            self._legacy_peer_holds.clear()
            self._send_hold(False, "self-fence")

        job.steps.append(self._call(released))
        self._queue.appendleft(job)
        self._settle()

    def tick(self, now: float) -> None:
        """Run every timer that is due."""
        self._now = now
        if self._rscrcvd_at is not None and now >= self._rscrcvd_at:
            self._rscrcvd_at = None
            self._rscrcvd_expired()
        if self._standby_deadline is not None and now >= self._standby_deadline:
            self._standby_timed_out()
        if self._failback_retry_at is not None and now >= self._failback_retry_at:
            self._failback_retry_at = None
            self._perform_auto_failback()
        for node, when in list(self._fence_retry.items()):
            if now >= when:
                del self._fence_retry[node]
                self._start_fence(node)
        due = [p for p in self._pushes if now >= p[0]]
        self._pushes = [p for p in self._pushes if now < p[0]]
        for _, which, key in due:
            self._push_failed_group(which, key)
        self._ipfail_tick(now)
        self._settle()

    # ------------------------------------------------------------------ ipfail

    def _on_ipfail_message(self, msg: Message, src: str) -> None:
        if self._ipfail is not None and src != self._us:
            self._ipfail.on_message(msg, self._now)
            self._pull_ipfail()

    def _ipfail_tick(self, now: float) -> None:
        """A due ipfail give-up asks for standby ``all`` (ipfail's ``ask_resources``)."""
        ipfail = self._ipfail
        if ipfail is None or not ipfail.due_giveup(now):
            return
        if self._i_hold == Hold.NONE:
            self._log("info", "ipfail: nothing to give up: we hold no resources")
        elif self.request_standby("all", now) is not None:
            ipfail.retry_giveup(now)
        self._pull_ipfail()

    def _pull_ipfail(self) -> None:
        if self._ipfail is None:
            return
        self._outbound.extend(self._ipfail.drain_outbound())
        for level, text in self._ipfail.drain_logs():
            self._event("ipfail", text, node=self._peer or "", level=level, log=text)

    # ------------------------------------------------------------------ admin requests

    def request_standby(self, which: str, now: float) -> str | None:
        """``hb_standby [all|foreign|local|failback]``; None when accepted, else why not."""
        self._now = now
        word = _STANDBY_WORDS.get(which)
        if word is None:
            return f"unknown resource set '{which}': use all, foreign, local or failback"
        if not self._nice:
            return "auto_failback is set to legacy.  Cannot enter standby."
        refusal = self._transition_refusal()
        if refusal:
            self._event(
                "refused",
                f"standby [{word}] refused: {refusal}",
                level="WARN",
                log=f"standby [{word}] refused: {refusal}",
            )
            return refusal
        self._go_standby_request(word, f"operator asked for standby [{word}]")
        self._settle()
        return None

    def request_takeover(self, which: str, now: float) -> str | None:
        """``hb_takeover [all|foreign|local|failback]``: ask the peer to go standby."""
        self._now = now
        word = which or "all"
        if word not in ("all", "foreign", "local", "failback"):
            return f"unknown resource set '{which}': use all, foreign, local or failback"
        if not self._nice:
            return "auto_failback is set to legacy.  Cannot take over."
        refusal = self._transition_refusal()
        if refusal:
            self._event(
                "refused",
                f"takeover [{word}] refused: {refusal}",
                level="WARN",
                log=f"takeover [{word}] refused: {refusal}",
            )
            return refusal
        self._event(
            "takeover",
            f"operator asked {self._peer} to hand over [{word}]",
            node=self._peer or "",
            log=f"Requesting takeover [{word}].",
        )
        self._send(("t", "hb_takeover"), ("rsc_hold", word))
        self._settle()
        return None

    def request_shutdown(self, now: float) -> str | None:
        """Graceful stop (spec §7.9); the shell exits when ``shutdown_complete``."""
        self._now = now
        if self._shutdown_wanted:
            return None
        self._shutdown_wanted = True
        if not self._comm_up:
            self._event(
                "shutdown",
                "shutdown waits for communications to come up",
                level="WARN",
                log="Shutdown delayed until Communication is up.",
            )
        self._settle()
        return None

    def _transition_refusal(self) -> str | None:
        """Why a standby/takeover cannot start now, or None."""
        if self._shutdown_wanted or self._shutdown_in_progress:
            return "Heartbeat shutdown in progress."
        if not self._comm_up:
            return "communications are not up yet"
        if self._peer is None:
            return "there is no peer node to hand resources to"
        if self._peer_status != "active":
            return f"{self._peer} is {self._peer_status}: it cannot take resources now"
        if self._standby_deadline is not None and self._now < self._standby_deadline:
            left = int(self._standby_deadline - self._now + 0.999)
            return f"Standby in progress [{left} seconds left]"
        if not self._other_stable:
            return "Other side is in flux."
        if self._rstate is not ResourceState.STABLE or self._busy() or self._takeover_in_progress:
            return "local resources in flux."
        return None

    # ------------------------------------------------------------------ helpers

    def _send(self, *pairs: tuple[str, str]) -> None:
        self._outbound.append(Message.of(*pairs))

    def _send_hold(self, stable: bool, info: str | None = None) -> None:
        """Hold report ``t=resource rsc_hold rtype=full isstable [info]`` (nice only)."""
        if not self._nice:
            return
        pairs = [
            ("t", "resource"),
            ("rsc_hold", hold_name(self._i_hold)),
            ("rtype", "full"),
            ("isstable", "1" if stable else "0"),
        ]
        if info is not None:
            pairs.append(("info", info))
        self._send(*pairs)

    def _log(self, level: str, text: str) -> None:
        logger.log(_LEVELS.get(level, logging.INFO), "%s", text)

    def _event(
        self,
        kind: str,
        reason: str,
        node: str = "",
        group: str = "",
        level: str = "info",
        log: str = "",
    ) -> None:
        self._events.append(PolicyEvent(kind, node, group, reason, level, log or reason))

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def _keys(self, which: int) -> list[str]:
        """Group keys of a set seen from us (ourkeys/otherkeys/allkeys), file order."""
        out = []
        for key, g in self._groups.items():
            mine = g.spec.node == self._us
            if (mine and which & Hold.LOCAL) or (not mine and which & Hold.FOREIGN):
                out.append(key)
        return out

    def _class_of(self, key: str) -> Hold:
        return Hold.LOCAL if self._groups[key].spec.node == self._us else Hold.FOREIGN

    def _busy(self) -> bool:
        return self._job is not None or bool(self._queue) or self._inflight is not None

    def _is_stable(self) -> bool:
        """Heartbeat's ``hb_rsc_isstable`` (spec §7.5)."""
        if not self._nice:
            return not self._busy()
        if self._shutdown_wanted and self._rstate is ResourceState.INIT:
            return True
        return (
            self._other_stable
            and not self._takeover_in_progress
            and self._standby is StandbyState.NOT
            and self._standby_deadline is None
            and not self._busy()
            and self._rstate in (ResourceState.STABLE, ResourceState.SHUTDOWN, ResourceState.INIT)
        )

    def _announce(self, why: str) -> None:
        if self._announced or not (self._local_done and self._foreign_done):
            return
        self._announced = True
        self._log("info", f"Initial resource acquisition complete ({why})")

    def _settle(self) -> None:
        """Run deferred work and the job queue until nothing more can move."""
        for _ in range(1000):
            while self._soon:
                self._soon.popleft()()
            self._pump()
            if self._shutdown_wanted and not self._shutdown_in_progress:
                self._try_begin_shutdown()
            self._maybe_resolve_conflict()
            if not self._soon:
                return

    # ------------------------------------------------------------------ jobs

    def _enqueue(self, job: _Job) -> None:
        self._queue.append(job)

    def _pump(self) -> None:
        while self._inflight is None:
            if self._job is None:
                if not self._queue:
                    return
                self._job = self._queue.popleft()
            job = self._job
            if not job.steps:
                self._job = None
                self._job_finished(job)
                continue
            step = job.steps.popleft()
            if step.call is not None:
                step.call(job)
            else:
                self._start_group_action(step)

    def _job_finished(self, job: _Job) -> None:
        if job.name == "ip-request-resp":
            self._local_done = True
            self._announce("ip-request-resp")
        elif job.name == "status" and not self._nice:
            self._foreign_done = True
            self._announce("status")

    def _start_group_action(self, step: _Step) -> None:
        g = self._groups.get(step.key)
        if g is None:
            logger.error("policy: unknown resource group %s", step.key)
            return
        if step.kind == "acquire":
            if g.state in ("running", "starting"):
                return
            if g.failed_op == "stop":
                self._event(
                    "refused",
                    f"not starting {step.key}: its stop failed earlier ({g.reason})",
                    group=step.key,
                    level="ERROR",
                )
                return
            g.state, g.reason = "starting", step.reason
            self._inflight = (self._new_id(), step)
            self._actions.append(Acquire(self._inflight[0], step.key, step.reason))
            self._event(
                "acquire",
                step.reason,
                node=self._us,
                group=step.key,
                log=f"Acquiring resource group: {g.spec.canonical}",
            )
        else:
            if g.state == "stopped":
                return
            g.state, g.reason = "stopping", step.reason
            self._inflight = (self._new_id(), step)
            self._actions.append(Release(self._inflight[0], step.key, step.reason))
            self._event(
                "release",
                step.reason,
                node=self._us,
                group=step.key,
                log=f"Releasing resource group: {g.spec.canonical}",
            )

    def _acquire_done(self, step: _Step, ok: bool, reason: str) -> None:
        g = self._groups[step.key]
        if ok:
            g.state, g.failed_op, g.reason = "running", "", step.reason
            return
        g.state, g.failed_op = "failed", "start"
        g.reason = f"start failed: {reason} (while {step.reason})"
        if self._job is not None:
            self._job.failures.append(step.key)
        which = "local" if self._class_of(step.key) is Hold.LOCAL else "foreign"
        push = ""
        if not g.pushed and self._peer is not None:
            g.pushed = True
            self._pushes.append((self._now + FAILED_START_PUSH_DELAY, which, step.key))
            push = f"; asking {self._peer} to take the {which} groups in 30 s"
        self._event(
            "failed",
            g.reason + push,
            node=self._us,
            group=step.key,
            level="CRIT",
            log=f"Giving up resources due to failure of {step.key}",
        )

    def _release_done(self, step: _Step, ok: bool, reason: str) -> None:
        g = self._groups[step.key]
        if ok:
            g.state, g.failed_op, g.reason = "stopped", "", step.reason
            return
        g.state, g.failed_op = "failed", "stop"
        g.reason = (
            f"stop failed: {reason}; {self._us} must be fenced or the resource "
            f"confirmed stopped before anyone starts it"
        )
        if self._job is not None:
            self._job.failures.append(step.key)
        self._event(
            "failed",
            g.reason,
            node=self._us,
            group=step.key,
            level="CRIT",
            log=f"Resource STOP failure for {step.key}: {reason}. This node must be "
            f"fenced or the resource confirmed stopped!",
        )

    def _acquire_steps(self, keys: list[str], reason: str) -> list[_Step]:
        return [_Step("acquire", k, reason) for k in keys]

    def _release_steps(self, keys: list[str], reason: str) -> list[_Step]:
        return [_Step("release", k, reason) for k in keys]

    def _call(self, fn: Callable[[_Job], None]) -> _Step:
        return _Step("call", call=fn)

    def _log_step(self, level: str, text: str) -> _Step:
        return self._call(lambda _job: self._log(level, text))

    # ------------------------------------------------------------------ nice_failback

    def _on_starting(self, msg: Message, src: str) -> None:
        if not self._nice or src == self._us:
            return
        old = self._rstate
        new = old
        if old is ResourceState.STARTING:
            new = ResourceState.BOTHSTARTING
            self._foreign_done = True
            self._announce("HB_R_BOTHSTARTING")
        elif old not in (ResourceState.RSCRCVD, ResourceState.STABLE, ResourceState.SHUTDOWN):
            self._log("ERROR", f"Received 'starting' message in state {int(old)}")
            return
        self._other_stable = False
        if self._takeover_in_progress:
            self._log("WARN", "T_STARTING received during takeover.")
        self._send_hold(old is ResourceState.STABLE)
        self._set_rstate(new)
        self._audit()

    def _on_resource(self, msg: Message, src: str) -> None:
        if not self._nice:
            return
        hold = parse_hold(msg.get("rsc_hold"))
        if hold is None:
            self._log(
                "ERROR",
                f"resource message from {src} with bad rsc_hold [{msg.get('rsc_hold')}] ignored",
            )
            return
        full = msg.get("rtype") == "full"
        old = self._rstate
        new = old
        if old in (ResourceState.STARTING, ResourceState.BOTHSTARTING):
            new = ResourceState.RSCRCVD
            if not self._auto:
                self._foreign_done = True
                self._announce("T_RESOURCES")
        elif old is ResourceState.INIT:
            self._log("ERROR", "resource message received in state 0")
            return
        if src == self._us:
            new = self._own_resource(msg, hold, full, new)
        else:
            new = self._peer_resource(msg, hold, full, old, new)
        self._set_rstate(new)
        self._audit()

    def _peer_resource(
        self, msg: Message, hold: Hold, full: bool, old: ResourceState, new: ResourceState
    ) -> ResourceState:
        self._other_holds = hold if full or hold is Hold.NONE else Hold(hold | self._other_holds)
        stable = msg.get("isstable")
        info = msg.get("info")
        if self._standby is StandbyState.OTHER and info == "standby aborted":
            self._log(
                "WARN", f"Standby request cancelled: {self._peer} could not release its resources."
            )
            self._standby, self._standby_deadline = StandbyState.NOT, None
        if hold is not Hold.NONE and info in _STOP_FAILED_INFO:
            self._peer_failed_stop(self._keys(swap_view(hold)), _STOP_FAILED_INFO[info])
        if stable == "1":
            if not self._other_stable:
                self._log("info", "remote resource transition completed.")
                self._other_stable = True
                self._send_hold(old is ResourceState.STABLE)
                self._perform_auto_failback()
        elif stable is not None:
            self._other_stable = False
        settled = (ResourceState.STABLE, ResourceState.SHUTDOWN)
        if old not in settled and self._other_stable:
            self._log("info", "remote resource transition completed.")
            self._req_our_resources(False, f"{self._peer} is stable and does not hold it")
            new = ResourceState.STABLE
            self._send_hold(True)
            self._perform_auto_failback()
            self._foreign_done = True
            if not self._auto and self._other_holds & Hold.FOREIGN:
                self._local_done = True
            self._announce("T_RESOURCES(them)")
        return new

    def _own_resource(
        self, msg: Message, hold: Hold, full: bool, new: ResourceState
    ) -> ResourceState:
        self._i_hold = hold if full or hold is Hold.NONE else Hold(hold | self._i_hold)
        if self._i_hold & Hold.LOCAL:
            self._local_done = True
            self._announce("T_RESOURCES(us)")
        info = msg.get("info")
        if info == "mach_down":
            self._log("info", "mach_down takeover complete.")
            self._takeover_in_progress = False
            self._i_hold |= Hold.FOREIGN
            self._needs_failback = True
            self._other_stable = True
            self._foreign_done = True
            self._announce("mach_down")
        elif info == "shutdown":
            new = ResourceState.SHUTDOWN
        return new

    def _set_rstate(self, new: ResourceState) -> None:
        self._rstate = new
        if new is ResourceState.RSCRCVD and self._rscrcvd_at is None:
            self._rscrcvd_at = self._now + self._rsc_delay

    def _rscrcvd_expired(self) -> None:
        """10 s in RSCRCVD without a stable peer: take our own groups (spec §7.6)."""
        if self._rstate is not ResourceState.RSCRCVD:
            return
        self._rstate = ResourceState.STABLE
        self._req_our_resources(
            False,
            f"{self._peer or 'the peer'} did not settle within {self._rsc_delay:g} s of start-up",
        )
        self._log("info", "local resource transition completed.")
        self._send_hold(True)
        self._perform_auto_failback()

    def _audit(self) -> None:
        """Heartbeat's AuditResources (spec §7.5)."""
        if not self._nice:
            return
        if self._i_hold & Hold.LOCAL and self._other_holds & Hold.FOREIGN:
            self._event(
                "audit",
                f"both {self._us} and {self._peer} claim {self._us}'s groups",
                level="ERROR",
                log="Both machines own our resources!",
            )
        if self._other_holds & Hold.LOCAL and self._i_hold & Hold.FOREIGN:
            self._event(
                "audit",
                f"both {self._us} and {self._peer} claim {self._peer}'s groups",
                level="ERROR",
                log="Both machines own foreign resources!",
            )
        if (
            self._is_stable()
            and not self._shutdown_in_progress
            and self._rstate is not ResourceState.SHUTDOWN
        ):
            # Only a class that has groups can be unowned (a node with no groups of its
            # own is not an error).
            homes = {group.node for group in self._config.groups}
            has_local = self._us in homes
            has_foreign = bool(homes - {self._us})
            mine, theirs = self._i_hold, self._other_holds
            if has_local and not mine & Hold.LOCAL and not theirs & Hold.FOREIGN:
                self._log("ERROR", "No one owns our local resources!")
            if has_foreign and not theirs & Hold.LOCAL and not mine & Hold.FOREIGN:
                self._log("ERROR", "No one owns foreign resources!")

    # ------------------------------------------------------------------ acquisition

    def _req_our_resources(self, force: bool, why: str) -> None:
        """Acquire our own groups (``req_our_resources``, spec §7.6)."""
        if self._shutdown_in_progress:
            return
        if self._nice:
            theirs = self._other_holds & Hold.FOREIGN or self._i_hold & Hold.LOCAL
            if theirs and not force and self._standby is StandbyState.NOT:
                self._log("info", "Local Resource acquisition completed. (none)")
                return
            self._i_hold |= Hold.LOCAL
        ask = not self._nice and self._peer_status == "active" and not self._peer_fenced
        self._soon.append(lambda: self._req_our_child(ask, why))

    def _req_our_child(self, ask: bool, why: str) -> None:
        keys = self._keys(Hold.LOCAL)
        for key in keys:
            if self._groups[key].state in ("running", "starting"):
                continue
            if ask:
                self._acquire_why[key] = f"home node; {self._peer} released it on request"
                self._send(("t", "ip-request"), ("ipaddr", key))
            else:
                self._acquire_why[key] = f"home node; {why}"
                self._send(
                    ("t", "ip-request-resp"),
                    ("dest", self._us),
                    ("ipaddr", key),
                    ("weown", "yes"),
                    ("ok", "OK"),
                )
        if keys:
            self._log("info", "Local Resource acquisition completed.")
        else:
            self._log(
                "info", f"No local resources [{RESOURCE_MANAGER} listkeys {self._us}] to acquire."
            )
        self._send_hold(True, "req_our_resources()")
        if not ask:
            self._local_done = True
            self._announce("req_our_resources")

    def _on_ip_request_resp(self, msg: Message, src: str) -> None:
        """rc.d/ip-request-resp: take the group when the answer is addressed to us."""
        key = msg.get("ipaddr") or ""
        if msg.get("dest") != self._us or not key:
            return
        ok, weown = msg.get("ok", ""), msg.get("weown", "")
        logger.info("received ip-request-resp %s %s %s", key, ok, weown)
        if key not in self._groups:
            self._log("ERROR", f"ip-request-resp for unknown resource group {key} ignored")
            return
        if ok != "OK":
            self._event(
                "refused",
                f"{src} did not release {key} ({ok} {weown})",
                node=src,
                group=key,
                level="WARN",
            )
            if src == self._peer and weown == "yes":
                self._peer_failed_stop([key], "when asked for it back (ip-request)")
            return
        why = self._acquire_why.pop(key, f"{src} answered ip-request: group released to us")
        self._legacy_peer_holds.discard(key)
        self._enqueue(_Job("ip-request-resp", deque(self._acquire_steps([key], why))))

    def _on_ip_request(self, msg: Message, src: str) -> None:
        """rc.d/ip-request: give the group up if we run it and answer the requester."""
        key = msg.get("ipaddr") or ""
        if src == self._us or not key:
            return
        if key not in self._groups:
            self._log("ERROR", f"ip-request for unknown resource group {key} ignored")
            return
        job = _Job("ip-request")
        weown = self._groups[key].state != "stopped"
        if weown:
            job.steps.extend(
                self._release_steps(
                    [key], f"{src} is the group's home and asked for it back (ip-request)"
                )
            )

        def answer(j: _Job) -> None:
            if j.failures:
                self._send(
                    ("t", "ip-request-resp"),
                    ("dest", src),
                    ("ipaddr", key),
                    ("weown", "yes"),
                    ("ok", "FAILED"),
                )
                return
            self._legacy_peer_holds.add(key)
            self._send(
                ("t", "ip-request-resp"),
                ("dest", src),
                ("ipaddr", key),
                ("weown", "yes" if weown else "no"),
                ("ok", "OK"),
            )

        job.steps.append(self._call(answer))
        self._enqueue(job)

    # ------------------------------------------------------------------ peer death

    def _recover_dead(self, node: str, reason: str) -> None:
        """``hb_rsc_recover_dead_resources`` (spec §7.6, §8.2)."""
        if self._standby is not StandbyState.NOT or self._standby_deadline is not None:
            self._log("info", "Cancelling pending standby operation")
        self._standby, self._standby_deadline = StandbyState.NOT, None
        if self._shutdown_in_progress:
            return
        self._needs_failback = True
        if node in self._stop_fence:
            return  # already being fenced for its failed stop; that fence takes over
        need = True
        if self._peer_heard:
            need = self._other_holds is not Hold.NONE if self._nice else self._peer_has_resources
        if self._peer_fenced:
            need = False
        if not need:
            self._event(
                "takeover",
                f"{reason}; it had given up its resources, no fencing needed",
                node=node,
                log=f"Dead node {node} gave up resources.",
            )
            self._send(("t", "stonith"), ("node", node), ("result", "unneeded"))
            if self._nice:
                if not self._i_hold & Hold.LOCAL:
                    self._req_our_resources(True, f"{node} is dead")
                if not self._i_hold & Hold.FOREIGN:
                    self._takeover_from_node(node, reason)
            else:
                self._takeover_from_node(node, reason)
            return
        if self._config.stonith:
            self._fence_why[node] = reason
            delay = self._death_match_delay(node)
            if delay > 0:
                self._fence_retry[node] = self._now + delay
                self._event(
                    "fence",
                    f"delaying the fencing of {node} by {delay:g} s: death-match guard, "
                    f"{node} is the preferred node of this 2-node cluster",
                    node=node,
                    log=f"Delaying STONITH of {node} by {delay:g} s (death-match guard).",
                )
                self._mark_waiting_for_fence(node, f"waiting {delay:g} s before fencing {node}")
                return
            self._start_fence(node)
            return
        self._send(("t", "stonith"), ("node", node), ("result", "n_stnth"))
        self._event(
            "fence",
            f"{node} may still hold resources but no STONITH device is "
            "configured; taking over unfenced",
            node=node,
            level="WARN",
            log="No STONITH device configured.",
        )
        self._log("WARN", "Shared disks are not protected.")
        self._takeover_from_node(node, reason)

    def _peer_failed_stop(self, keys: list[str], when: str) -> None:
        """The peer could not stop groups it was giving up: fence it, then take them.

        Without a device nobody can make sure they are stopped, so they stay down with
        the reason until an operator confirms (``hactl meatware confirm NODE``).
        """
        node = self._peer
        if node is None or not keys or self._shutdown_in_progress:
            return
        if node in self._stop_fence or node in self._stop_unconfirmed:
            return
        failed = f"{node} failed to stop {', '.join(keys)}"
        if not self._config.stonith:
            self._stop_unconfirmed[node] = keys
            reason = (
                f"{failed}; no STONITH device to make sure it is stopped — confirm by hand "
                "(hactl meatware confirm NODE)"
            )
            self._set_reasons(keys, reason)
            self._event(
                "failed",
                reason,
                node=node,
                level="CRIT",
                log=f"{failed} {when}; no STONITH device: not taking them over.",
            )
            return
        self._stop_fence[node] = keys
        self._fence_why[node] = f"{failed} {when}"
        self._event(
            "fence",
            f"{failed} {when}; fencing {node} before {self._us} starts them",
            node=node,
            level="ERROR",
            log=f"{failed} {when}: STONITH of {node} before taking over.",
        )
        self._set_reasons(keys, f"{failed}; waiting for STONITH of {node}")
        self._start_fence(node)

    def _set_reasons(self, keys: list[str], reason: str) -> None:
        for key in keys:
            g = self._groups[key]
            if g.state in ("stopped", "failed"):
                g.reason = reason

    def confirm_stopped(self, node: str, who: str, now: float) -> str | None:
        """An operator confirms ``node``'s failed groups are stopped; None when accepted."""
        self._now = now
        keys = self._stop_unconfirmed.pop(node, None)
        if keys is None:
            waiting = ", ".join(sorted(self._stop_unconfirmed)) or "none"
            return f"no failed stop of {node} is waiting for confirmation (waiting: {waiting})"
        self._peer_fenced = True
        self._peer_has_resources = False
        self._event(
            "fence",
            f"{who} confirmed that {node} no longer runs {', '.join(keys)}",
            node=node,
            level="WARN",
            log=f"Stop of {', '.join(keys)} on {node} confirmed by {who}",
        )
        self._takeover_from_node(node, f"{node} failed to stop them; confirmed by {who}")
        self._settle()
        return None

    def _start_fence(self, node: str) -> None:
        alive_ok = node in self._stop_fence
        if (self._peer_status != "dead" and not alive_ok) or self._shutdown_in_progress:
            self._event(
                "fence",
                f"fencing of {node} abandoned: it is {self._peer_status} "
                "again or we are shutting down",
                node=node,
            )
            return
        why = self._fence_why.get(node, f"{node} was declared dead")
        action = Fence(self._new_id(), node, f"fencing {node} before taking over: {why}")
        self._fence_inflight[action.id] = node
        self._actions.append(action)
        # the fencer logs "Resetting node X with [<device id>]" when it really starts
        self._event("fence", action.reason, node=node)
        last = self._fence_last_error.get(node)
        attempt = self._fence_failures.get(node, 0) + 1
        detail = f" (attempt {attempt}; last failure: {last})" if last else ""
        self._mark_waiting_for_fence(node, f"waiting for STONITH of {node}{detail}")

    def _fence_backoff(self, node: str) -> float:
        """Seconds before the next attempt: first, 2x first, 4x ... up to the maximum."""
        failures = self._fence_failures.get(node, 0)
        self._fence_failures[node] = failures + 1
        return float(min(self._fence_retry_max, self._fence_retry_min * (2 ** min(failures, 30))))

    def _death_match_delay(self, node: str) -> float:
        """The configured delay when we are the non-preferred side of a 2-node split.

        Preferred is the node running groups (Pacemaker's priority-fencing-delay idea:
        the holder survives); when both or neither run groups, the first ``node``.
        """
        if self._fence_delay <= 0 or len(self._config.nodes) != 2:
            return 0.0
        we_run = any(g.state in ("running", "starting") for g in self._groups.values())
        peer_runs = self._other_holds is not Hold.NONE if self._nice else self._peer_has_resources
        if we_run != peer_runs:
            return 0.0 if we_run else self._fence_delay
        return 0.0 if self._config.nodes[0] == self._us else self._fence_delay

    def _mark_waiting_for_fence(self, node: str, reason: str) -> None:
        for g in self._groups.values():
            if g.spec.node == node and g.state == "stopped":
                g.reason = reason

    def _takeover_from_node(self, node: str, why: str) -> None:
        """``takeover_from_node``: mach_down takes the node's groups (spec §7.6)."""
        if self._shutdown_in_progress:
            self._log("info", "Resource takeover cancelled - shutdown in progress.")
            return
        self._event(
            "takeover",
            f"taking over {node}'s groups: {why}",
            node=node,
            log=f"Resources being acquired from {node}.",
        )
        self._enqueue(self._mach_down_job(node, why))
        if self._nice:
            self._i_hold |= Hold.FOREIGN
            self._other_holds = Hold.NONE
            self._other_stable = True
            self._takeover_in_progress = True
        self._req_our_resources(True, f"taking over from {node}")
        self._peer_heard = True

    def _mach_down_job(self, node: str, why: str) -> _Job:
        """The synthetic ``status dead`` event → rc.d/status → mach_down (spec §7.4)."""
        job = _Job("status")
        for key, g in self._groups.items():
            if g.spec.node != node:
                continue
            job.steps.append(self._log_step("info", f"Taking over resource group {key}"))
            job.steps.append(_Step("acquire", key, f"taking over {node}'s group: {why}"))

        def finish(_job: _Job) -> None:
            if self._nice:
                self._log(
                    "info",
                    "/usr/share/heartbeat/mach_down: nice_failback: foreign resources acquired",
                )
                self._send(("t", "resource"), ("rsc_hold", "foreign"), ("info", "mach_down"))
            self._log("info", f"mach_down takeover complete for node {node}.")

        job.steps.append(self._call(finish))
        return job

    def _on_shutdone(self, msg: Message, src: str) -> None:
        if src == self._us:
            self._rstate = ResourceState.SHUTDOWN
            self._i_hold = Hold.NONE
            return
        self._peer_has_resources = False
        self._other_holds = Hold.NONE
        self._other_stable = False
        self._event(
            "takeover",
            f"{src} shut down gracefully and released its groups",
            node=src,
            log=f"Received shutdown notice from '{src}'.",
        )
        self._takeover_from_node(src, f"{src} shut down (shutdone received)")

    def _on_stonith(self, msg: Message, src: str) -> None:
        logger.debug(
            "stonith report from %s: node=%s result=%s", src, msg.get("node"), msg.get("result")
        )

    def _on_partition_healed(self, node: str) -> None:
        """The peer speaks again without a restart: both may hold the same groups."""
        self._event(
            "audit",
            f"{node} is back after a partition; exchanging holdings so "
            "that each group ends with a single owner",
            node=node,
            level="WARN",
            log=f"Cluster node {node} returning after partition.",
        )
        if self._nice:
            self._send_hold(self._rstate is ResourceState.STABLE)
            return
        keys = [
            k
            for k, g in self._groups.items()
            if g.spec.node == node and g.state not in ("stopped",)
        ]
        if keys:
            why = f"{node} is back after a partition and is the group's home node"
            self._enqueue(_Job("resolve", deque(self._release_steps(keys, why))))

    def _maybe_resolve_conflict(self) -> None:
        """Both nodes hold the peer's groups: we are not their home, so we release them."""
        if not (self._nice and self._i_hold & Hold.FOREIGN and self._other_holds & Hold.LOCAL):
            return
        if self._peer_status == "dead" or self._busy() or self._shutdown_in_progress:
            return
        if not self._is_stable():
            return
        keys = [k for k in self._keys(Hold.FOREIGN) if self._groups[k].state != "stopped"]
        why = (
            f"both {self._us} and {self._peer} hold {self._peer}'s groups; "
            f"{self._peer} is their home node, so {self._us} releases them"
        )
        job = _Job("resolve", deque(self._release_steps(keys, why)))

        def finish(j: _Job) -> None:
            if j.failures:
                self._send_hold(True, "stop failed")  # the home node fences us, then starts
                return
            self._i_hold &= ~Hold.FOREIGN
            self._send_hold(True)

        job.steps.append(self._call(finish))
        self._enqueue(job)
        self._pump()

    # ------------------------------------------------------------------ auto failback

    def _perform_auto_failback(self) -> None:
        if not (self._i_hold & Hold.FOREIGN) or not self._needs_failback or not self._auto:
            self._needs_failback = False
            return
        if self._peer_status == "dead" or self._shutdown_in_progress:
            return
        if (
            self._standby is not StandbyState.NOT
            or not self._other_stable
            or self._rstate is not ResourceState.STABLE
        ):
            logger.debug("Auto failback delayed.")
            self._failback_retry_at = self._now + FAILBACK_RETRY
            return
        self._needs_failback = False
        self._event(
            "failback",
            f"{self._peer} is back and stable: returning its groups (auto_failback on)",
            node=self._peer or "",
            log="Auto failback triggered.",
        )
        self._standby_set = Hold.FOREIGN
        self._send(("t", "ask_resources"), ("rsc_hold", "foreign"), ("info", "me"))

    # ------------------------------------------------------------------ standby

    def _go_standby_request(self, word: str, why: str) -> None:
        """What ``hb_standby <word>`` does: log and send ``ask_resources info=me``."""
        self._event("standby", why, node=self._us, log=f"Going standby [{word}].")
        self._send(("t", "ask_resources"), ("rsc_hold", word), ("info", "me"))

    def _on_hb_takeover(self, msg: Message, src: str) -> None:
        """rc.d/hb_takeover: the peer wants our resources; run hb_standby (quirks kept)."""
        if src == self._us:
            return
        asked = msg.get("rsc_hold") or ""
        word = {"all": "all", "local": "foreign", "foreign": "local"}.get(asked, "all")
        why = f"{src} asked to take over [{asked}]"
        self._enqueue(
            _Job("hb_takeover", deque([self._call(lambda _j: self._go_standby_request(word, why))]))
        )

    def _on_ask_resources(self, msg: Message, src: str) -> None:
        """Three-phase standby protocol (spec §7.8, Heartbeat's ask_for_resources)."""
        if not self._nice:
            self._log("info", "Standby mode only implemented when nice_failback on")
            return
        if self._rstate is ResourceState.SHUTDOWN or self._shutdown_in_progress:
            return
        info = msg.get("info")
        rtype = parse_hold(msg.get("rsc_hold") or "all")
        if info is None or rtype is None:
            self._log("ERROR", f"Received bad standby message from {src}: {msg.describe()}")
            return
        if (
            self._standby_deadline is not None
            and self._now < self._standby_deadline
            and info == "me"
        ):
            left = int(self._standby_deadline - self._now + 0.999)
            self._event(
                "refused",
                f"standby request from {src} ignored: another is running",
                node=src,
                level="WARN",
                log=f"Standby in progress- new request from {src} ignored [{left} seconds left]",
            )
            return
        orig = self._standby
        handler = {
            StandbyState.NOT: self._standby_not,
            StandbyState.ME: self._standby_me,
            StandbyState.OTHER: self._standby_other,
            StandbyState.DONE: self._standby_done,
        }[orig]
        if not handler(info, src, rtype):
            self._log("ERROR", f"Ignored standby message '{info}' from {src} in state {int(orig)}")

    def _standby_not(self, info: str, src: str, rtype: Hold) -> bool:
        if not self._other_stable:
            self._standby_flux(info, src, "Other side is in flux.")
            return True
        if self._rstate is not ResourceState.STABLE:
            self._standby_flux(info, src, "local resources in flux.")
            return True
        self._standby_set = rtype
        if info != "me":
            return False
        self._other_stable = False
        self._event(
            "standby",
            f"{src} asked to hand over its [{hold_name(rtype)}] groups",
            node=src,
            log=f"{src} wants to go standby [{hold_name(rtype)}]",
        )
        if src == self._us:
            self._standby = StandbyState.ME
            self._standby_deadline = self._now + STANDBY_INIT_TIMEOUT
        else:
            self._standby = StandbyState.OTHER
            self._send(("t", "ask_resources"), ("rsc_hold", hold_name(rtype)), ("info", "other"))
            self._standby_deadline = self._now + STANDBY_RSC_TIMEOUT
        return True

    def _standby_flux(self, info: str, src: str, why: str) -> None:
        self._event(
            "refused",
            f"standby message [{info}] from {src} ignored: {why}",
            node=src,
            level="WARN",
            log=f"standby message [{info}] from {src} ignored.  {why}",
        )

    def _standby_me(self, info: str, src: str, rtype: Hold) -> bool:
        if src != self._us:
            self._standby_set = rtype
            self._standby_deadline = self._now + STANDBY_RSC_TIMEOUT
            if info != "other":
                return False
            self._log("info", f"standby: {src} can take our {hold_name(rtype)} resources")
            self._give_up_for_standby(rtype)
            return True
        if info == "done":
            self._log("info", f"Local standby process completed [{hold_name(rtype)}].")
            self._standby = StandbyState.DONE
            self._i_hold &= ~self._standby_set
            self._standby_deadline = self._now + STANDBY_RSC_TIMEOUT
            return True
        return info == "me"

    def _standby_other(self, info: str, src: str, rtype: Hold) -> bool:
        self._standby_set = rtype
        if info == "done":
            self._standby_deadline = self._now + STANDBY_RSC_TIMEOUT
            if src == self._us:
                return False
            self._log("info", f"standby: acquire [{hold_name(rtype)}] resources from {src}")
            self._acquire_for_standby(rtype, src)
            self._standby = StandbyState.DONE
            return True
        return src == self._us and info == "other"

    def _standby_done(self, info: str, src: str, rtype: Hold) -> bool:
        self._standby_set = rtype
        if info != "done":
            return False
        self._standby, self._standby_deadline = StandbyState.NOT, None
        if src == self._us:
            self._log("info", f"Standby resource acquisition done [{hold_name(rtype)}].")
            if self._auto:
                self._local_done = True
                self._announce("auto_failback")
            self._i_hold |= swap_view(rtype)
        else:
            self._event(
                "standby",
                f"{src} now runs the [{hold_name(rtype)}] groups we handed over",
                node=src,
                log=f"Other node completed standby takeover of {hold_name(rtype)} resources.",
            )
        self._send_hold(True)
        return True

    def _give_up_for_standby(self, rtype: Hold) -> None:
        """go_standby(ME): release the set, then send ``done`` (or abort on failure)."""
        self._other_stable = False
        had = Hold(self._i_hold & rtype)
        self._i_hold &= ~rtype
        self._send_hold(False, "standby")
        word = hold_name(rtype)
        why = f"standby: {self._peer} takes our [{word}] groups"
        keys = [k for k in self._keys(rtype) if self._groups[k].state != "stopped"]
        job = _Job("go_standby")
        job.steps.append(self._log_step("info", f"give up {word} HA resources (standby)."))
        job.steps.extend(self._release_steps(keys, why))

        def finish(j: _Job) -> None:
            if j.failures:
                self._abort_standby(had, j.failures)
                return
            self._log("info", f"{word} HA resource release completed (standby).")
            self._send(("t", "ask_resources"), ("rsc_hold", word), ("info", "done"))

        job.steps.append(self._call(finish))
        self._enqueue(job)

    def _abort_standby(self, had: Hold, failed: list[str]) -> None:
        """A release failed: keep claiming what we held so the peer never starts it."""
        self._i_hold |= had
        self._standby, self._standby_deadline = StandbyState.NOT, None
        self._other_stable = True
        self._event(
            "failed",
            f"standby aborted: could not stop {', '.join(failed)}; "
            f"{self._peer} must not start them until {self._us} is fenced or they "
            "are confirmed stopped",
            node=self._us,
            level="CRIT",
            log=f"Standby aborted: stop failed for {', '.join(failed)}.",
        )
        self._send_hold(True, "standby aborted")

    def _acquire_for_standby(self, rtype: Hold, src: str) -> None:
        """go_standby(OTHER): take the complementary view of the set, then send ``done``."""
        act = Hold.ALL if rtype is Hold.ALL else swap_view(rtype)
        word = hold_name(act)
        why = f"standby: {src} handed over its [{hold_name(rtype)}] groups"
        job = _Job("go_standby")
        job.steps.append(self._log_step("info", f"acquire {word} HA resources (standby)."))
        job.steps.extend(self._acquire_steps(self._keys(act), why))

        def finish(_j: _Job) -> None:
            self._log("info", f"{word} HA resource acquisition completed (standby).")
            self._send(("t", "ask_resources"), ("rsc_hold", hold_name(rtype)), ("info", "done"))

        job.steps.append(self._call(finish))
        self._enqueue(job)

    def _standby_timed_out(self) -> None:
        self._event(
            "refused",
            "no reply to the standby request; cancelled",
            level="WARN",
            log="No reply to standby request.  Standby request cancelled.",
        )
        self._standby, self._standby_deadline = StandbyState.NOT, None
        self._other_stable = True

    def _push_failed_group(self, which: str, key: str) -> None:
        """30 s after a failed start: ``hb_standby <class>`` once (spec §7.3)."""
        g = self._groups[key]
        if g.state != "failed" or g.failed_op != "start":
            return
        refusal = self._transition_refusal()
        if refusal:
            self._event(
                "refused",
                f"not pushing failed group {key} to {self._peer}: {refusal}",
                group=key,
                level="WARN",
            )
            return
        self._go_standby_request(
            which, f"{key} failed to start here; asking {self._peer} to run the {which} groups"
        )

    # ------------------------------------------------------------------ shutdown

    def _try_begin_shutdown(self) -> None:
        if not self._comm_up:
            return
        if not self._is_stable():
            if not self._shutdown_delay_logged:
                self._shutdown_delay_logged = True
                self._event(
                    "shutdown",
                    "shutdown waits for the current resource activity",
                    level="WARN",
                    log="Shutdown delayed until current resource activity finishes.",
                )
            return
        self._shutdown_in_progress = True
        self._i_hold = Hold.NONE
        self._rstate = ResourceState.SHUTDOWN
        self._rscrcvd_at = self._failback_retry_at = None
        self._pushes.clear()
        self._send_hold(False, "shutdown")
        self._event(
            "shutdown",
            "graceful shutdown: releasing every group we hold",
            node=self._us,
            log=f"Heartbeat shutdown in progress. ({os.getpid()})",
        )
        keys = [k for k, g in self._groups.items() if g.state != "stopped"]
        job = _Job("shutdown")
        job.steps.append(self._log_step("info", "Giving up all HA resources."))
        job.steps.extend(self._release_steps(keys, "graceful shutdown of this node"))
        job.steps.append(self._call(self._finish_shutdown))
        self._enqueue(job)

    def _finish_shutdown(self, job: _Job) -> None:
        if job.failures:
            held = Hold.NONE
            for key in job.failures:
                held |= self._class_of(key)
            self._i_hold = held
            self._shutdown_blocked = (
                f"shutdown blocked: could not stop {', '.join(job.failures)}; "
                + (
                    f"{self._peer} fences this node before it starts them"
                    if self._config.stonith and self._peer
                    else "no STONITH device: stop them by hand, then stop the engine again"
                )
            )
            self._event(
                "failed",
                f"shutdown blocked: could not stop {', '.join(job.failures)};"
                " not sending shutdone so the peer does not start them",
                node=self._us,
                level="CRIT",
                log="Resource STOP failure during shutdown. Not sending shutdone!",
            )
            self._log("CRIT", self._shutdown_blocked)
            self._send_hold(False, "shutdown")
            return
        self._log("info", "All HA resources relinquished.")
        self._send(("t", "shutdone"), ("st", "dead"))
        self._shutdown_complete = True
