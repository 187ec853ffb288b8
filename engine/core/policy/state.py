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
from engine.core.policy.fencing import FencingBook
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
    _fencing: FencingBook
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
        self._fencing = FencingBook(
            self._sides,
            self._out,
            self._holdings,
            self._peer,
            self._shutdown,
            fence_delay,
            fence_retry,
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
        self._now = now
        self._claim_answered_at = None
        self._acquire_why = {}
        self._ipfail = make_ipfail(config)
        self._monitor_inflight = None
