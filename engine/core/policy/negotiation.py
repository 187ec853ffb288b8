"""Where this node stands in Heartbeat's nice_failback negotiation (spec §7.5, §7.6).

``Negotiation`` is the only writer of ``resourcestate`` (INIT, STARTING, BOTHSTARTING,
RSCRCVD, STABLE, SHUTDOWN), of the RSCRCVD timer and of ``takeover_in_progress``;
``Acquisition`` of the "Initial resource acquisition complete" announcement.
"""

from __future__ import annotations

from engine.core.policy.outbox import log
from engine.core.policy_types import ResourceState


class Negotiation:
    """Heartbeat's ``resourcestate``, its RSCRCVD timer, and a running mach_down."""

    def __init__(self, rsc_delay: float) -> None:
        self._rsc_delay = rsc_delay
        self._state = ResourceState.INIT
        self._rscrcvd_at: float | None = None
        self._takeover = False

    @property
    def state(self) -> ResourceState:
        return self._state

    @property
    def rsc_delay(self) -> float:
        """Seconds in RSCRCVD before we take our own groups anyway (``RQSTDELAY``)."""
        return self._rsc_delay

    @property
    def rscrcvd_at(self) -> float | None:
        return self._rscrcvd_at

    @property
    def takeover_in_progress(self) -> bool:
        """A mach_down takeover runs until our own ``info=mach_down`` report returns."""
        return self._takeover

    def enter(self, state: ResourceState, now: float) -> None:
        """Move to ``state``; entering RSCRCVD starts its timer (once)."""
        self._state = state
        if state is ResourceState.RSCRCVD and self._rscrcvd_at is None:
            self._rscrcvd_at = now + self._rsc_delay

    def shut_down(self) -> None:
        """The shutdown releases everything: SHUTDOWN, and RSCRCVD no longer matters."""
        self._state = ResourceState.SHUTDOWN
        self._rscrcvd_at = None

    def rejoin(self) -> None:
        """Start the start-up exchange again (one-way loss healed, self-fence done):
        STARTING, and the RSCRCVD timer runs anew from the next report."""
        self._rscrcvd_at = None
        self._state = ResourceState.STARTING

    def rscrcvd_due(self, now: float) -> bool:
        """Whether the RSCRCVD timer fired (it is then stopped)."""
        if self._rscrcvd_at is None or now < self._rscrcvd_at:
            return False
        self._rscrcvd_at = None
        return True

    def takeover_begun(self) -> None:
        self._takeover = True

    def takeover_done(self) -> None:
        self._takeover = False


class Acquisition:
    """Whether our own (local) and the other side's (foreign) groups are settled since
    start-up; Heartbeat logs once when both are."""

    def __init__(self) -> None:
        self._local = False
        self._foreign = False
        self._announced = False

    def done(self, *, local: bool = False, foreign: bool = False, why: str = "") -> None:
        """Mark a side settled; with ``why``, announce if both are now."""
        self._local = self._local or local
        self._foreign = self._foreign or foreign
        if why and not self._announced and self._local and self._foreign:
            self._announced = True
            log("info", f"Initial resource acquisition complete ({why})")
