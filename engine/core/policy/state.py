"""The policy's bookkeeping: constants, group/job values and every attribute it keeps.

``PolicyState`` declares each attribute once, with its meaning, so that the concern
mixins of ``ResourcePolicy`` (docs: ``engine/core/policy/__init__.py``) can share them
the way ``engine/shell/daemon.py`` shares the Engine's attributes with its mixins.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.config.model import ClusterConfig, MonitorConfig
from engine.core.ipfail import IpFail, make_ipfail
from engine.core.policy.holdings import Holdings
from engine.core.policy.outbox import Outbox
from engine.core.policy.peer import PeerView
from engine.core.policy.sides import Sides
from engine.core.policy_types import (
    Hold,
    MonitorCheck,
    ResourceState,
    StandbyState,
)

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
MONITOR_RETRY_MIN = 30.0
"""Seconds a group whose monitor restarts are used up (and that no peer can take) stays
stopped before it is tried here again; doubles on every further failure, up to the
monitor window."""
MONITOR_HANDOVER_RETRY = 1.0
"""Seconds between attempts to hand a failed group over while the cluster is in flux."""
CLAIM_ANSWER_INTERVAL = 1.0
"""Seconds between two answers to peer reports that claim our groups (``_answer_claim``)."""

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
    "monitor stop failed": "while recovering from a monitor failure",
}
"""``info`` of a peer's hold report that, with holdings left, means a stop failed there."""


@dataclass(slots=True)
class _Monitor:
    """Monitoring of one group on this node: schedule, failures, recovery (hatui only)."""

    due: float | None = None
    """When the next check is due (None: the group is not running here)."""
    failures: list[tuple[float, str]] = field(default_factory=list)
    """(time, resource) of each failure within the monitor window, oldest first."""
    restarts: int = 0
    """Restarts in place since the engine started."""
    recovery: str = ""
    """"" or restarting, stopping, handover, handing over, moved, waiting, retrying,
    restarted, stop failed."""
    cause: str = ""
    """The failure being recovered (``monitor: hbweb timeout (...)``)."""
    reason: str = ""
    """``cause; what we do about it``."""
    retry_at: float | None = None
    """When a handover is tried again (handover) or the group is started again (waiting)."""
    backoff: int = 0
    """How many times the group was kept stopped since the failures last expired."""
    handed_away_at: float | None = None
    """When we last handed the group to the peer because of monitor failures."""
    last: dict[str, tuple[MonitorCheck, float]] = field(default_factory=dict)
    """Resource → its last check and when it ended."""
    checks: int = 0


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


class PolicyState:
    """Every attribute of ``ResourcePolicy``, set up from the configuration."""

    # configuration and outputs
    _sides: Sides
    _out: Outbox
    _holdings: Holdings
    _peer: PeerView
    _rsc_delay: float
    _now: float
    # Heartbeat bookkeeping (spec §7.5)
    _rstate: ResourceState
    _takeover_in_progress: bool
    _standby: StandbyState
    _standby_deadline: float | None
    _standby_set: Hold
    _needs_failback: bool
    _failback_retry_at: float | None
    _rscrcvd_at: float | None
    _local_done: bool
    _foreign_done: bool
    _announced: bool
    # peer knowledge
    _claim_answered_at: float | None
    # fencing
    _fence_delay: float
    _fence_retry_min: float
    _fence_retry_max: float
    _fence_failures: dict[str, int]
    _fence_last_error: dict[str, str]
    _fence_inflight: dict[int, str]
    _fence_retry: dict[str, float]
    _fence_why: dict[str, str]
    _stop_fence: dict[str, list[str]]
    """Peer → groups it failed to stop; it is fenced although it is alive."""
    _stop_unconfirmed: dict[str, list[str]]
    """Same without a STONITH device: waiting for an operator's confirmation."""
    _peer_fenced: bool
    """The peer was reset since it last started: no second fence is needed."""
    _peer_fence_note: str
    """Who reset the peer by hand and how (``hactl stonith``); "" when nobody did."""
    _shutdown_blocked: str
    # jobs
    _queue: deque[_Job]
    _job: _Job | None
    _inflight: tuple[int, _Step] | None
    _soon: deque[Callable[[], None]]
    _acquire_why: dict[str, str]
    _pushes: list[tuple[float, str, str]]
    # shutdown
    _shutdown_wanted: bool
    _shutdown_delay_logged: bool
    _shutdown_in_progress: bool
    _shutdown_complete: bool
    # ipfail, built in (spec §11.3; engine/core/ipfail.py)
    _ipfail: IpFail | None
    # resource monitoring (hatui only; engine/core/policy/monitor.py)
    _monitor_cfg: MonitorConfig
    _monitors: dict[str, _Monitor]
    _monitor_inflight: tuple[int, str] | None
    """(Monitor action id, group key) of the check running now."""

    def __init__(
        self,
        config: ClusterConfig,
        now: float,
        rsc_delay: float = 10.0,
        *,
        fence_delay: float = 0.0,
        fence_retry: tuple[float, float] = (STONITH_RETRY, STONITH_RETRY_MAX),
    ) -> None:
        self._sides = Sides(config)
        self._out = Outbox()
        self._holdings = Holdings(self._sides, self._out)
        self._peer = PeerView()
        self._fence_delay = fence_delay
        self._fence_retry_min, self._fence_retry_max = fence_retry
        self._fence_failures = {}
        self._fence_last_error = {}
        self._rsc_delay = rsc_delay
        self._now = now
        self._init_bookkeeping()
        self._init_peer_knowledge()
        self._init_fencing()
        self._init_jobs()
        self._init_shutdown()
        self._ipfail = make_ipfail(config)
        self._monitor_cfg = config.monitor
        self._monitors = {}
        self._monitor_inflight = None

    def _init_bookkeeping(self) -> None:
        """Heartbeat's resource bookkeeping at start-up (spec §7.5)."""
        self._rstate = ResourceState.INIT
        self._takeover_in_progress = False
        self._standby = StandbyState.NOT
        self._standby_deadline = None
        self._standby_set = Hold.ALL
        self._needs_failback = False
        self._failback_retry_at = None
        self._rscrcvd_at = None
        self._local_done = False
        self._foreign_done = False
        self._announced = False

    def _init_peer_knowledge(self) -> None:
        self._claim_answered_at = None

    def _init_fencing(self) -> None:
        self._fence_inflight = {}
        self._fence_retry = {}
        self._fence_why = {}
        self._stop_fence = {}
        self._stop_unconfirmed = {}
        self._peer_fenced = False
        self._peer_fence_note = ""
        self._shutdown_blocked = ""

    def _init_jobs(self) -> None:
        self._queue = deque()
        self._job = None
        self._inflight = None
        self._soon = deque()
        self._acquire_why = {}
        self._pushes = []

    def _init_shutdown(self) -> None:
        self._shutdown_wanted = False
        self._shutdown_delay_logged = False
        self._shutdown_in_progress = False
        self._shutdown_complete = False
