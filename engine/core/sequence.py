"""Per-sender sequence and generation tracking (spec §6.4, Heartbeat's should_drop_message).

Rules of this module: pure bookkeeping. It decides KEEP / DUPLICATE / DROP for one
numbered message and records which sequence numbers are missing; timers for retransmit
requests are plain deadlines that the membership core turns into ``NS_rexmit`` messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

MAX_MISSING = 500
"""Heartbeat keeps at most this many missing sequence numbers per sender."""
RESET_GAP = 250
"""A gap larger than this resets tracking ("lost a lot of packets!")."""


class Verdict(Enum):
    """What to do with a numbered message."""

    KEEP = "keep"
    """Deliver to handlers and refresh the link."""
    DUPLICATE = "duplicate"
    """Seen before (normal for the 2nd..nth medium): refresh the link only."""
    DROP = "drop"
    """Stale or replayed: no effect at all."""


@dataclass(slots=True)
class SeqResult:
    """Outcome of ``SenderTrack.accept``; ``notes`` are log lines for the caller."""

    verdict: Verdict
    restarted: bool = False
    healed: bool = False
    replay: bool = False
    filled_gap: bool = False
    previous_generation: int = 0
    notes: list[tuple[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class SenderTrack:
    """What we know of one sender's numbering."""

    generation: int = 0
    last_seq: int | None = None
    missing: dict[int, float] = field(default_factory=dict)
    """Missing seq -> time the next retransmit request is due."""

    def reset(self) -> None:
        """Forget the numbering (restart, big gap)."""
        self.last_seq = None
        self.missing.clear()

    def check_generation(self, hg: int, node: str) -> SeqResult | None:
        """Reject replays from an older generation (spec §6.4 "attempted replay attack")."""
        if hg < self.generation:
            note = (
                "ERROR",
                f"should_drop_message: attempted replay attack [{node}]? "
                f"[gen = {hg}, curgen = {self.generation}]",
            )
            return SeqResult(Verdict.DROP, replay=True, notes=[note])
        return None

    def accept(
        self,
        seq: int,
        hg: int,
        *,
        node: str,
        is_status: bool,
        node_dead: bool,
        status_seqno: int,
        first_request_at: Callable[[], float],
    ) -> SeqResult:
        """Classify one numbered message from this sender.

        ``first_request_at()`` is when retransmit requests for newly found holes become
        due; it is called only when there are new holes (it draws a random delay).
        """
        replay = self.check_generation(hg, node)
        if replay is not None:
            return replay
        result = SeqResult(Verdict.KEEP, previous_generation=self.generation)
        if is_status:
            if hg > self.generation:
                if self.generation > 0:
                    result.restarted = True
                self.reset()
            elif hg == self.generation and hg > 0 and node_dead:
                if seq <= status_seqno:
                    return SeqResult(Verdict.DROP)
                result.healed = True
            self.generation = hg
        elif hg > self.generation and self.generation > 0:
            # Only a status message may announce a new generation.
            return SeqResult(Verdict.DROP)
        return self._order(seq, result, node, first_request_at)

    def _order(
        self, seq: int, result: SeqResult, node: str, first_request_at: Callable[[], float]
    ) -> SeqResult:
        last = self.last_seq
        if last is None or seq == last + 1:
            self.last_seq = seq
            return result
        if seq == last:
            result.verdict = Verdict.DUPLICATE
            return result
        if seq > last + 1:
            return self._gap(seq, last, result, node, first_request_at)
        if seq in self.missing:
            del self.missing[seq]
            result.filled_gap = True
            if not self.missing:
                result.notes.append(("info", f"No pkts missing from {node}!"))
            return result
        if result.restarted or result.healed:
            self.reset()
            self.last_seq = seq
            return result
        # An old packet that was not missing is a replay: no effect, not even on the
        # link (spec §6.4 "old duplicate, drop").
        result.verdict = Verdict.DROP
        return result

    def _gap(
        self,
        seq: int,
        last: int,
        result: SeqResult,
        node: str,
        first_request_at: Callable[[], float],
    ) -> SeqResult:
        lost = seq - last - 1
        result.notes.append(("WARN", f"{lost} lost packet(s) for [{node}] [{last}:{seq}]"))
        if lost > RESET_GAP:
            self.reset()
            result.notes.append(("ERROR", "lost a lot of packets!"))
        else:
            due = first_request_at()
            for missing in range(last + 1, seq):
                if len(self.missing) >= MAX_MISSING:
                    break
                self.missing.setdefault(missing, due)
        self.last_seq = seq
        return result
