"""The membership core's freshness rules (an object ``Membership`` owns; issue 15).

After our start, and after we declared a peer dead, the peer's packets count only once
one of them names a sequence number of ours from then on (engine/core/freshness.py says
why that is a proof). Until then they are held back: no liveness, link, ACK or handler.
Rules of this module: as membership.py (sans-I/O). ``FreshnessRules`` is given what it
reads (our name, our generation, the counters it counts in) and answers what
``Membership`` must do next: the events to emit, the statuses to send, the held status
to handle; it never calls back into its owner.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from engine.core import events as ev
from engine.core.freshness import (
    ECHO_FIELD,
    PROBE_STATUSES,
    PROOF_WORDS,
    named_seq,
    seq_base,
)
from engine.core.peers import NodeState
from engine.core.sequence import SeqResult, Verdict
from engine.protocol.message import Message


@dataclass(frozen=True, slots=True)
class Confirmed:
    """A peer proved that it hears us: what to say, then its status held meanwhile."""

    events: list[ev.Event]
    pending: tuple[Message, int, int] | None
    """The status (message, seq, ts) it claimed while unconfirmed, to handle now; None
    when there is none or the proof was a status itself (handled as usual)."""


@dataclass(frozen=True, slots=True)
class Held:
    """A packet held back: what to say, and how many statuses to send at once."""

    events: list[ev.Event]
    probes: int


def echo_seqs(peers: Iterable[NodeState]) -> dict[str, int]:
    """Each peer's highest sequence number that reached us (its freshness proof)."""
    return {n.name: n.track.last_seq for n in peers if n.track.last_seq is not None}


def first_of_a_run(
    node: NodeState, numbered: bool, result: SeqResult, known_run: tuple[int, int | None]
) -> bool:
    """The first numbered message of a peer's run (its start, or its first since we
    started or declared it dead)."""
    if not numbered or node.is_self or node.kind != "normal":
        return False
    if result.verdict is not Verdict.KEEP:
        return False
    generation, last_seq = known_run
    return last_seq is None or node.track.generation != generation


class FreshnessRules:
    """Proving, holding back and confirming peers (owned by ``Membership``)."""

    def __init__(self, me: str, generation: int, counters: Counter[str]) -> None:
        self.me = me
        self._first_seq = seq_base(generation) + 1
        """Our first sequence number in this run: a floor at it means "since our start"."""
        self._counters = counters

    def proves_fresh(
        self,
        node: NodeState,
        msg: Message,
        mtype: str,
        now: float,
        *,
        our_seq: int,
        for_us: bool,
        flow_control: bool,
    ) -> Confirmed | None:
        """Whether ``msg`` shows that ``node`` heard us since it had to (then it is
        confirmed); None when it does not.

        A peer whose heartbeats can neither echo (no ``hearseq``) nor ACK (no flow
        control: no ``protocol`` field, or flow control is off in the cluster) cannot
        prove anything: it is trusted as Heartbeat trusts every peer, and we say so.
        ``our_seq`` is our last sequence number, ``for_us`` whether ``msg`` is addressed
        to us.
        """
        named = named_seq(msg, mtype, self.me)
        if named is not None and named[0] != "echo" and not for_us:
            named = None  # an ACK or rexmit for another node names *its* numbers
        if named is not None and node.fresh.proves(named, our_seq):
            return self._confirm(node, named[0], named[1], mtype, now)
        cannot_ack = "protocol" not in msg or not flow_control
        if mtype == "status" and ECHO_FIELD not in msg and cannot_ack:
            return self._confirm(node, "unverifiable", 0, mtype, now)
        return None

    def hold(self, node: NodeState, msg: Message, mtype: str, seq: int, ts: int) -> Held:
        """A packet from a peer that has not proven freshness: it changes no liveness and
        reaches no handler. Its status is kept (what it claims), and a peer that does
        not echo gets ten heartbeats at once (``Held.probes``) so that its next ACK names
        one of them. (``Membership`` answers a ``reqnodes`` or a NAK itself: that
        changes nothing here.)"""
        events: list[ev.Event] = []
        fresh = node.fresh
        fresh.held += 1
        self._counters["unconfirmed"] += 1
        if fresh.held == 1:
            text = (
                f"node {node.name}: its packets do not show yet that it hears us "
                f"(sent before our start or replayed?); it counts as up (unconfirmed) "
                "until one names a sequence number of ours"
            )
            events.append(ev.LogEvent("info", text))
        probes = 0
        if mtype == "status":
            fresh.hold_status(msg, seq, ts)
            fresh.echoes = ECHO_FIELD in msg
            if not fresh.echoes and not fresh.probed:
                fresh.probed = True
                probes = PROBE_STATUSES
        return Held(events, probes)

    def _confirm(self, node: NodeState, how: str, seq: int, mtype: str, now: float) -> Confirmed:
        """``node`` proved freshness: say so, then what changed while we waited (a restart,
        a healed partition); its status claimed meanwhile goes back to the caller."""
        events: list[ev.Event] = []
        fresh = node.fresh
        pending = fresh.pending
        since = "our start" if fresh.floor == self._first_seq else "its death"
        fresh.confirm(how, seq)
        if how == "unverifiable":
            reason = (
                f"{node.name} neither echoes our sequence numbers nor ACKs them: its "
                "packets are trusted without proof, as Heartbeat does (a replay after our "
                "restart is not detected for it)"
            )
            self._counters["unverifiable"] += 1
            events.append(ev.LogEvent("WARN", reason))
        else:
            reason = f"{PROOF_WORDS[how]} our seq {seq:x}, sent since {since}"
        events.append(ev.NodeConfirmed(node.name, how, seq, reason))
        generation, known = node.track.generation, fresh.known_generation
        fresh.known_generation = generation
        if known and generation > known:
            events.append(ev.NodeRestarted(node.name, known, generation))
            node.rmt_ts = 0
            node.status_seqno = 0
            node.heard_status = False
        elif known and generation == known and node.status == "dead":
            events.append(ev.PartitionHealed(node.name))
            self._counters["partitions_healed"] += 1
        return Confirmed(events, pending if mtype != "status" else None)
