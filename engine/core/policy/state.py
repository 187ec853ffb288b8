"""The attributes the concern mixins of ``ResourcePolicy`` still share (shrinking).

The owners built so far (``Sides``, ``Outbox``, ``Holdings``, ``PeerView``,
``Negotiation``, ``Acquisition``, ``PushSchedule``, ``MonitorBook``, ``JobQueue``)
are made here too.
"""

from __future__ import annotations

from engine.config.model import ClusterConfig
from engine.core.ipfail import IpFail, make_ipfail
from engine.core.policy.constants import STONITH_RETRY, STONITH_RETRY_MAX
from engine.core.policy.failback import Failback
from engine.core.policy.holdings import Holdings
from engine.core.policy.jobs import JobQueue
from engine.core.policy.monitor_book import MonitorBook
from engine.core.policy.negotiation import Acquisition, Negotiation
from engine.core.policy.outbox import Outbox
from engine.core.policy.peer import PeerView
from engine.core.policy.pushes import PushSchedule
from engine.core.policy.shutdown import Shutdown
from engine.core.policy.sides import Sides
from engine.core.policy.stability import Stability
from engine.core.policy.standby import Standby


class PolicyState:
    """Every attribute of ``ResourcePolicy``, set up from the configuration."""

    _sides: Sides
    _out: Outbox
    _holdings: Holdings
    _peer: PeerView
    _negotiation: Negotiation
    _acquisition: Acquisition
    _push_schedule: PushSchedule
    _monitor_book: MonitorBook
    _jobs: JobQueue
    _shutdown: Shutdown
    _standby: Standby
    _stability: Stability
    _failback: Failback
    _now: float
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
    _acquire_why: dict[str, str]
    # ipfail, built in (spec §11.3; engine/core/ipfail.py)
    _ipfail: IpFail | None
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
        self._negotiation = Negotiation(rsc_delay)
        self._acquisition = Acquisition()
        self._push_schedule = PushSchedule()
        self._monitor_book = MonitorBook(config.monitor)
        self._jobs = JobQueue(
            self._sides,
            self._holdings,
            self._out,
            self._push_schedule,
            self._acquisition,
            self._monitor_book,
        )
        self._shutdown = Shutdown(
            self._sides,
            self._out,
            self._holdings,
            self._peer,
            self._negotiation,
            self._push_schedule,
            self._jobs,
        )
        self._standby = Standby(
            self._sides,
            self._out,
            self._holdings,
            self._peer,
            self._negotiation,
            self._jobs,
            self._acquisition,
            self._shutdown,
        )
        self._stability = Stability(
            self._sides, self._negotiation, self._peer, self._standby, self._jobs, self._shutdown
        )
        self._failback = Failback(
            self._sides,
            self._out,
            self._holdings,
            self._peer,
            self._negotiation,
            self._standby,
            self._shutdown,
        )
        self._fence_delay = fence_delay
        self._fence_retry_min, self._fence_retry_max = fence_retry
        self._fence_failures = {}
        self._fence_last_error = {}
        self._now = now
        self._claim_answered_at = None
        self._fence_inflight = {}
        self._fence_retry = {}
        self._fence_why = {}
        self._stop_fence = {}
        self._stop_unconfirmed = {}
        self._peer_fenced = False
        self._peer_fence_note = ""
        self._acquire_why = {}
        self._ipfail = make_ipfail(config)
        self._monitor_inflight = None
