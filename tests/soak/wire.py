"""Heartbeat traffic on the wire, for the bandwidth (s15) and flood (s47) scenarios.

What a node sends is taken from a raw capture in its namespace (``UdpCapture``), not from
interface counters: the counters include ARP and the VIP's traffic, and say nothing
about the size of each packet or the spacing of status heartbeats.
"""

from __future__ import annotations

import itertools
import math
import time
from collections import Counter
from dataclasses import dataclass, field

from engine.protocol.codec import decode_datagram, encode_netstring_body
from engine.protocol.message import Message
from lab.capture import UdpCapture, UdpDatagram
from lab.cluster import Timers
from lab.engine import REPO_ROOT
from lab.mixed import MixedCluster
from lab.netns import Lab

FIXTURES = REPO_ROOT / "tests" / "protocol" / "fixtures"
STATUS_FIXTURE = FIXTURES / "killmaster-slow-0001-status.bin"
"""A status heartbeat of real Heartbeat 3.0.6 (alpha → bravo, keepalive 1 s)."""
ACK_FIXTURE = FIXTURES / "killmaster-slow-0000-NS_ackmsg.bin"
"""Its flow-control ACK, sent for every 10th sequence number of each peer (spec §6.6)."""
ACK_EVERY = 10
NETSTRING_FRAME = len(b"###\n") + len(b"%%%\n")


@dataclass
class Traffic:
    """Heartbeat datagrams one node sent on one interface over ``seconds``."""

    seconds: float
    datagrams: list[UdpDatagram] = field(default_factory=list)

    @property
    def bytes_per_s(self) -> float:
        """UDP payload bytes per second."""
        return sum(len(d.payload) for d in self.datagrams) / self.seconds

    @property
    def bits_per_s(self) -> float:
        """UDP payload bits per second."""
        return 8 * self.bytes_per_s

    @property
    def largest(self) -> int:
        """The largest IP packet, headers included (0: none)."""
        return max((d.ip_length for d in self.datagrams), default=0)

    def by_type(self) -> dict[str, tuple[int, int]]:
        """Message type -> (count, largest payload)."""
        counts: Counter[str] = Counter()
        sizes: dict[str, int] = {}
        for d in self.datagrams:
            kind = d.message_type or "?"
            counts[kind] += 1
            sizes[kind] = max(sizes.get(kind, 0), len(d.payload))
        return {kind: (counts[kind], sizes[kind]) for kind in sorted(counts)}

    def describe(self) -> str:
        """``N B/s (M bit/s), K packets, largest L B; status n x s B, ...``."""
        kinds = ", ".join(f"{k} {n} x {size} B" for k, (n, size) in self.by_type().items())
        return (
            f"{self.bytes_per_s:.0f} B/s ({self.bits_per_s:.0f} bit/s), "
            f"{len(self.datagrams)} packets, largest {self.largest} B IP; {kinds}"
        )

    def first_status(self) -> bytes | None:
        """The payload of the first status heartbeat captured (None: none)."""
        return next((d.payload for d in self.datagrams if d.message_type == "status"), None)


def capture_sent(lab: Lab, node: str, seconds: float, ifname: str = "eth0") -> Traffic:
    """Every heartbeat datagram ``node`` sends on ``ifname`` during ``seconds``."""
    address = lab.nodes[node].address(0)
    with UdpCapture(lab.nodes[node].namespace, ifname) as capture:
        started = time.monotonic()
        time.sleep(seconds)
        ended = time.monotonic()
    sent = [d for d in capture.sent(address, started) if d.outgoing and d.time <= ended]
    return Traffic(ended - started, sent)


def status_intervals(datagrams: list[UdpDatagram], source: str) -> list[float]:
    """Seconds between consecutive status heartbeats from ``source``."""
    times = [d.time for d in datagrams if d.source == source and d.message_type == "status"]
    return [b - a for a, b in itertools.pairwise(times)]


def send_lag(datagrams: list[UdpDatagram], source: str, keepalive_s: float, jitter: float) -> float:
    """How late ``source``'s status timer fired at worst, in seconds (inf: nothing seen).

    Each status heartbeat is scheduled ``keepalive x (1 - early)`` after the previous one
    was sent, ``early`` drawn from ``[0, jitter]``; whatever an interval has beyond the
    shortest schedule is time the sender's main loop was busy or asleep.
    """
    intervals = status_intervals(datagrams, source)
    if not intervals:
        return math.inf
    return max(0.0, max(intervals) - keepalive_s * (1 - jitter))


def wire_floor(keepalive_s: float) -> float:
    """Bytes/s one Heartbeat 3.0.6 node must send per peer and medium when idle.

    One status heartbeat per keepalive (the fixture's size) and one ACK per
    ``ACK_EVERY`` of the peer's heartbeats: the smallest idle traffic of the wire format.
    """
    status = len(STATUS_FIXTURE.read_bytes())
    ack = len(ACK_FIXTURE.read_bytes())
    return (status + ack / ACK_EVERY) / keepalive_s


def field_sizes(payload: bytes) -> dict[str, int]:
    """Field name -> bytes it takes in the netstring body (``L:(t)name=value,``)."""
    msg = decode_datagram(payload, None)
    return {f.name: len(encode_netstring_body(Message([f]))) - NETSTRING_FRAME for f in msg.fields}


def compare_fields(ours: bytes, theirs: bytes) -> str:
    """Where our status heartbeat is longer than Heartbeat's, field by field."""
    mine, real = field_sizes(ours), field_sizes(theirs)
    parts = []
    for name, size in mine.items():
        if name not in real:
            parts.append(f"{name} {size} B (ours only)")
        elif size != real[name]:
            parts.append(f"{name} {size} B vs {real[name]} B")
    missing = [name for name in real if name not in mine]
    if missing:
        parts.append(f"missing: {', '.join(missing)}")
    total = f"status {len(ours)} B vs {len(theirs)} B"
    return f"{total}: {'; '.join(parts) or 'same fields, same sizes'}"


def real_heartbeat_traffic(
    timers: Timers, haresources: str, seconds: float, settle: float
) -> Traffic:
    """What real Heartbeat 3.0.6's alpha sends on eth0 in the two-node ucast lab.

    Same lab shape and files as ``two_nodes`` (``write_config``); measured after both
    report each other active, resources are stable and ``settle`` seconds passed.
    """
    with Lab(["alpha", "bravo"], networks=1, client=False) as lab:
        cluster = MixedCluster(
            lab, dict.fromkeys(lab.nodes, "heartbeat"), timers=timers, haresources=haresources
        )
        try:
            cluster.configure()
            cluster.start()
            cluster.wait_mutual("active", 60)
            cluster.wait_stable(30)
            time.sleep(settle)
            traffic = capture_sent(lab, "alpha", seconds)
            if not all(cluster[n].running() for n in cluster.names):
                raise RuntimeError(f"a heartbeat daemon died\n{cluster.diagnostics()}")
        finally:
            cluster.close()
    return traffic
