"""The membership core's freshness rules (a mixin of ``Membership``; issue 15).

After our start, and after we declared a peer dead, the peer's packets count only once
one of them names a sequence number of ours from then on (engine/core/freshness.py says
why that is a proof). Until then they are held back: no liveness, link, ACK or handler.
Rules of this module: as membership.py (sans-I/O, events and datagrams are drained by
the shell); the attributes below are Membership's.
"""

from __future__ import annotations

from collections import Counter

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


class FreshnessRules:
    """Proving, holding back and confirming peers (mixed into ``Membership``)."""

    me: str
    generation: int
    counters: Counter[str]
    _seq: int
    _events: list[ev.Event]
    _flow_control: bool

    def peers(self) -> list[NodeState]:
        """Other normal nodes (Membership)."""
        raise NotImplementedError

    def _send_status(self, now: float, wall: float) -> None:
        raise NotImplementedError

    def _for_us(self, msg: Message) -> bool:
        raise NotImplementedError

    def _on_reqnodes(self, node: NodeState, now: float, wall: float) -> None:
        raise NotImplementedError

    def _on_nak(self, node: NodeState, msg: Message) -> None:
        raise NotImplementedError

    def _on_status(self, node: NodeState, msg: Message, seq: int, ts: int, now: float) -> None:
        raise NotImplementedError

    def _echo_seqs(self) -> dict[str, int]:
        """Each peer's highest sequence number that reached us (its freshness proof)."""
        return {n.name: n.track.last_seq for n in self.peers() if n.track.last_seq is not None}

    @staticmethod
    def _first_of_a_run(
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

    def _proves_fresh(self, node: NodeState, msg: Message, mtype: str, now: float) -> bool:
        """Whether ``msg`` shows that ``node`` heard us since it had to (then confirm it).

        A peer whose heartbeats can neither echo (no ``hearseq``) nor ACK (no flow
        control: no ``protocol`` field, or flow control is off in the cluster) cannot
        prove anything: it is trusted as Heartbeat trusts every peer, and we say so.
        """
        named = named_seq(msg, mtype, self.me)
        if named is not None and named[0] != "echo" and not self._for_us(msg):
            named = None  # an ACK or rexmit for another node names *its* numbers
        if named is not None and node.fresh.proves(named, self._seq):
            self._confirm(node, named[0], named[1], mtype, now)
            return True
        cannot_ack = "protocol" not in msg or not self._flow_control
        if mtype == "status" and ECHO_FIELD not in msg and cannot_ack:
            self._confirm(node, "unverifiable", 0, mtype, now)
            return True
        return False

    def _hold(
        self, node: NodeState, msg: Message, mtype: str, seq: int, ts: int, now: float, wall: float
    ) -> None:
        """A packet from a peer that has not proven freshness: it changes no liveness and
        reaches no handler. Its status is kept (what it claims), a ``reqnodes`` is answered
        (that changes nothing here), and a peer that does not echo gets ten heartbeats
        at once so that its next ACK names one of them."""
        fresh = node.fresh
        fresh.held += 1
        self.counters["unconfirmed"] += 1
        if fresh.held == 1:
            text = (
                f"node {node.name}: its packets do not show yet that it hears us "
                f"(sent before our start or replayed?); it counts as up (unconfirmed) "
                "until one names a sequence number of ours"
            )
            self._events.append(ev.LogEvent("info", text))
        if mtype == "status":
            fresh.hold_status(msg, seq, ts)
            fresh.echoes = ECHO_FIELD in msg
            if not fresh.echoes and not fresh.probed:
                fresh.probed = True
                for _ in range(PROBE_STATUSES):
                    self._send_status(now, wall)
        elif mtype == "reqnodes" and self._for_us(msg):
            self._on_reqnodes(node, now, wall)
        elif mtype == "NS_nak_rexmit" and self._for_us(msg):
            self._on_nak(node, msg)

    def _confirm(self, node: NodeState, how: str, seq: int, mtype: str, now: float) -> None:
        """``node`` proved freshness: say so, then what changed while we waited (a restart,
        a healed partition) and the status it claimed meanwhile."""
        fresh = node.fresh
        pending = fresh.pending
        since = "our start" if fresh.floor == seq_base(self.generation) + 1 else "its death"
        fresh.confirm(how, seq)
        if how == "unverifiable":
            reason = (
                f"{node.name} neither echoes our sequence numbers nor ACKs them: its "
                "packets are trusted without proof, as Heartbeat does (a replay after our "
                "restart is not detected for it)"
            )
            self.counters["unverifiable"] += 1
            self._events.append(ev.LogEvent("WARN", reason))
        else:
            reason = f"{PROOF_WORDS[how]} our seq {seq:x}, sent since {since}"
        self._events.append(ev.NodeConfirmed(node.name, how, seq, reason))
        generation, known = node.track.generation, fresh.known_generation
        fresh.known_generation = generation
        if known and generation > known:
            self._events.append(ev.NodeRestarted(node.name, known, generation))
            node.rmt_ts = 0
            node.status_seqno = 0
            node.heard_status = False
        elif known and generation == known and node.status == "dead":
            self._events.append(ev.PartitionHealed(node.name))
            self.counters["partitions_healed"] += 1
        if pending is not None and mtype != "status":
            self._on_status(node, *pending, now)
