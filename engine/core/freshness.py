"""Proof that a peer's packets are fresh: it heard something we sent in this run.

Sequence numbers stop replays only while the receiver remembers them. After our restart
(and after we declared a peer dead) we remember nothing, so a peer's packets captured
earlier, of its current generation, would look new. A peer therefore counts as alive only
once one of its signed packets names one of *our* sequence numbers from this run.

That works with every peer because our sequence numbers are unique across our runs: a
run numbers its messages from ``seq_base(generation)``, the generation in the high 32
bits (Heartbeat starts at 1 in every run, so its ACKs could not tell runs apart). What
names our numbers:

* ``NS_ackmsg`` (``ackseq``): Heartbeat and hatui both ACK every tenth in-order message;
* ``NS_rexmit`` (``firstseq``): a peer asks again for one of our messages it missed;
* our status field ``hearseq`` (hatui peers): the highest sequence number it accepted
  from each node. Real Heartbeat ignores unknown status fields (spec §4.10, §6.7).

Rules of this module: pure functions and one small state record; every value comes from
the network and is bounded before it is parsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.protocol.message import Message

ECHO_FIELD = "hearseq"
"""Our status field: ``name:seqhex`` for every node whose numbered messages reach us."""
MAX_ECHO_LEN = 4096
"""Longest ``hearseq`` value parsed (100 nodes of 40 characters)."""
SEQ_BITS_PER_RUN = 32
"""A run may send 2^32 numbered messages (27 years at five a second) before it would
reach the numbers of the next generation."""
PROBE_STATUSES = 10
"""Status heartbeats sent at once to a peer that does not echo: one of any ten
consecutive sequence numbers is the one it ACKs (spec §6.6)."""


def seq_base(generation: int) -> int:
    """The sequence number before our first one in the run of ``generation``."""
    return (generation & 0xFFFFFFFF) << SEQ_BITS_PER_RUN


def format_echo(seqs: dict[str, int]) -> str:
    """``"alpha:6b15c9b200000011 charlie:1f"``; a single space when empty (as Heartbeat
    writes an empty node list: absent would mean a peer that does not echo)."""
    return " ".join(f"{name}:{seq:x}" for name, seq in seqs.items()) or " "


def echoed_seq(text: str | None, me: str) -> int | None:
    """Our sequence number in a peer's ``hearseq`` value, if it names one."""
    if not text or len(text) > MAX_ECHO_LEN:
        return None
    prefix = me + ":"
    for entry in text.split():
        if entry.startswith(prefix):
            return _hex(entry[len(prefix) :])
    return None


def named_seq(msg: Message, mtype: str, me: str) -> tuple[str, int] | None:
    """(how, our sequence number) that ``msg`` names, when it names one of ours."""
    if mtype == "status":
        seq = echoed_seq(msg.get(ECHO_FIELD), me)
        return None if seq is None else ("echo", seq)
    if mtype == "NS_ackmsg":
        seq = _hex(msg.get("ackseq"))
        return None if seq is None else ("ack", seq)
    if mtype == "NS_rexmit":
        text = msg.get("firstseq") or ""
        if text.isascii() and text.isdigit() and len(text) <= 20:
            return "rexmit", int(text)
    return None


def _hex(text: str | None) -> int | None:
    if not text or len(text) > 16:
        return None
    try:
        return int(text, 16)
    except ValueError:
        return None


PROOF_WORDS = {
    "echo": "its heartbeat echoed",
    "ack": "it acknowledged",
    "rexmit": "it asked us to retransmit",
}


@dataclass(slots=True)
class Freshness:
    """What we know about the freshness of one peer's packets."""

    confirmed: bool = True
    floor: int = 0
    """Lowest of our sequence numbers whose mention proves a packet fresh."""
    known_generation: int = 0
    """The peer's generation when it was last confirmed (or died): a higher one on
    confirmation is a restart, the same one after a death is a healed partition."""
    how: str = ""
    proof_seq: int = 0
    held: int = 0
    """Packets held back (no effect) since confirmation was last required."""
    pending: tuple[Message, int, int] | None = None
    """The newest status (message, seq, ts) held back; applied on confirmation."""
    echoes: bool = False
    """Its status carries ``hearseq`` (a hatui peer): no need to probe for an ACK."""
    probed: bool = False
    since: float = 0.0

    def require(self, floor: int, generation: int, now: float) -> None:
        """From now on, only a packet naming one of our numbers >= ``floor`` counts."""
        self.confirmed = False
        self.floor = floor
        self.known_generation = generation
        self.how = ""
        self.proof_seq = 0
        self.held = 0
        self.pending = None
        self.probed = False
        self.since = now

    def proves(self, named: tuple[str, int] | None, our_seq: int) -> bool:
        """True when ``named`` is one of our numbers sent since confirmation was required."""
        return named is not None and self.floor <= named[1] <= our_seq

    def confirm(self, how: str, seq: int) -> None:
        """Record the proof."""
        self.confirmed = True
        self.how = how
        self.proof_seq = seq
        self.pending = None

    def hold_status(self, msg: Message, seq: int, ts: int) -> None:
        """Keep the newest unproven status; its ``st`` is what the peer claims."""
        if self.pending is None or seq >= self.pending[1]:
            self.pending = (msg, seq, ts)

    @property
    def claims(self) -> str | None:
        """The status its newest unproven heartbeat claims."""
        return None if self.pending is None else self.pending[0].get("st")

    def describe(self) -> str:
        """One line for ``status --json`` and the console."""
        if self.confirmed:
            if self.how == "unverifiable":
                return "trusted without proof: it neither echoes nor ACKs our messages"
            if self.how:
                return f"fresh: {PROOF_WORDS.get(self.how, self.how)} our seq {self.proof_seq:x}"
            return "fresh"
        if not self.held:
            return "not heard since our start (or since it was declared dead)"
        return (
            f"unconfirmed: {self.held} packet(s) did not show that it heard us since "
            f"our seq {self.floor:x} (sent before, or replayed)"
        )
