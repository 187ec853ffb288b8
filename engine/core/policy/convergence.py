"""Convergence: settled, yet both sides run our groups, or neither does.

Heartbeat's AuditResources only logs these ("Both machines own our resources!", "No
one owns our local resources!") and nothing ever corrects them. They arise when a
partition heals in the middle of a hand-over: the home node's answer to a takeover is
lost with the partition and the next claim comes within the answer limit (both run the
groups for good), or both sides release at the same moment, the home node for
one-way loss and the other side because it learnt that the home node runs them
(nobody runs them for good). ``bench/compare.py`` found both at keepalive 100 ms.

The home node of the groups corrects both, and only while both sides are settled, so
no negotiation in progress is second-guessed:

* **both run them**: it answers the claim with its hold report again, at most once a
  ``CLAIM_ANSWER_INTERVAL`` at first and backing off to ``CLAIM_ANSWER_MAX``, until the
  other side (not their home) releases them (``Takeover.maybe_resolve_conflict``);
* **nobody runs them** for ``ORPHAN_GRACE``: it tells the planner to start them
  (``orphans_due``), unless one of them failed here (a failed start is the operator's
  to clear, never retried in a loop).
"""

from __future__ import annotations

from engine.core.policy.constants import CLAIM_ANSWER_INTERVAL, CLAIM_ANSWER_MAX, ORPHAN_GRACE
from engine.core.policy.holdings import Holdings
from engine.core.policy.negotiation import Negotiation
from engine.core.policy.peer import PeerView
from engine.core.policy.shutdown import Shutdown
from engine.core.policy.sides import Sides
from engine.core.policy.stability import Stability
from engine.core.policy_types import Hold, ResourceState


class Convergence:
    """Answers a lasting claim on our groups; notices our groups running nowhere."""

    def __init__(
        self,
        sides: Sides,
        holdings: Holdings,
        peer: PeerView,
        negotiation: Negotiation,
        *,
        stability: Stability,
        shutdown: Shutdown,
    ) -> None:
        self._sides = sides
        self._holdings = holdings
        self._peer = peer
        self._negotiation = negotiation
        self._stability = stability
        self._shutdown = shutdown
        self._answered_at: float | None = None
        self._answer_wait = CLAIM_ANSWER_INTERVAL
        self._answer_at: float | None = None
        self._prompted = False
        self._orphaned_since: float | None = None

    # ------------------------------------------------------------------ both run them

    def answer_claim(self, now: float, *, prompted: bool = True) -> None:
        """The other side claims our groups while we run them: tell it what we hold.

        After a one-way partition only the other side declared us dead; it took our
        groups over and forgot what we hold, while we saw nothing to report. Without
        this answer it never learns that both run the groups, and never hands them
        back. Only when we are settled and no stop failed here (a standby, a takeover
        or a failed stop has its own protocol). ``prompted``: a report of theirs just
        claimed them, answered at most once a ``CLAIM_ANSWER_INTERVAL`` (two nodes that
        both see their groups claimed must not answer each other without pause); while
        the claim lasts unanswered by a release, the answer is repeated unprompted,
        backing off to ``CLAIM_ANSWER_MAX`` (the earlier ones may have been lost).
        """
        if not self._claimed_while_we_run():
            self._answer_at, self._answer_wait, self._prompted = None, CLAIM_ANSWER_INTERVAL, False
            return
        self._prompted = self._prompted or prompted
        if not self._settled() or self._holdings.stop_failed_here():
            self._answer_at = now + CLAIM_ANSWER_INTERVAL  # look again once it may be
            return
        limit = CLAIM_ANSWER_INTERVAL if self._prompted else self._answer_wait
        last = self._answered_at
        if last is not None and now - last < limit:
            self._answer_at = last + limit
            return
        if last is not None and not self._prompted:
            self._answer_wait = min(self._answer_wait * 2, CLAIM_ANSWER_MAX)
        self._answered_at, self._prompted = now, False
        self._answer_at = now + self._answer_wait
        self._holdings.report(True)

    def _claimed_while_we_run(self) -> bool:
        return bool(
            self._sides.nice
            and self._holdings.other_holds & Hold.FOREIGN
            and self._holdings.i_hold & Hold.LOCAL
        )

    # ------------------------------------------------------------------ nobody runs them

    def orphans_due(self, now: float) -> bool:
        """True once nobody has run our groups for ``ORPHAN_GRACE`` while both sides
        were settled: the planner starts them (and this starts counting afresh)."""
        if not self._orphaned():
            self._orphaned_since = None
            return False
        if self._orphaned_since is None:
            self._orphaned_since = now
        if now - self._orphaned_since < ORPHAN_GRACE:
            return False
        self._orphaned_since = None
        return True

    def _orphaned(self) -> bool:
        holdings = self._holdings
        if not self._sides.nice or self._sides.other is None or not self._settled():
            return False
        ours = holdings.keys(Hold.LOCAL)
        if not ours or holdings.i_hold & Hold.LOCAL or holdings.other_holds & Hold.FOREIGN:
            return False
        if self._peer.status != "active" or holdings.handed & Hold.FOREIGN:
            return False  # the other side is not up, or may be starting what we handed it
        return all(holdings[key].state == "stopped" for key in ours)

    # ------------------------------------------------------------------ shared

    def _settled(self) -> bool:
        """Stable (no resource work, standby or takeover: ``Stability``), the start-up
        exchange done, no shutdown waiting."""
        return (
            self._negotiation.state is ResourceState.STABLE
            and self._stability.is_stable()
            and not self._shutdown.wanted
        )

    def deadlines(self) -> list[float]:
        """When to look again: the next answer, the end of the orphan grace."""
        times = [] if self._answer_at is None else [self._answer_at]
        if self._orphaned_since is not None:
            times.append(self._orphaned_since + ORPHAN_GRACE)
        return times

    def answer_due(self, now: float) -> bool:
        """The time to look at a lasting claim again has come."""
        return self._answer_at is not None and now >= self._answer_at
