"""Sans-I/O membership: heartbeats, link and node liveness, sequencing (spec §6).

Rules of this module:
1. No I/O, no clocks. Every entry point takes ``now`` (monotonic seconds) and ``wall``
   (epoch seconds, used only for the wire ``ts`` field).
2. Outputs are drained: ``drain_events()`` (typed events with Heartbeat's log wording)
   and ``drain_outbound()`` (encoded datagrams for every medium).
3. Our own messages go through the same receive pipeline before they are sent
   ("loopback"), exactly as Heartbeat does, so our own status keeps us alive and we ACK
   ourselves.
4. Nothing received from the network may raise out of ``receive``: it is counted and
   turned into a ``PacketRejected`` event.
5. After our start, and after a peer was declared dead, the peer counts only once its
   packets prove they are fresh (engine/core/freshrules.py, an object this class owns).
"""

from __future__ import annotations

import random
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Any

from engine.config.model import ClusterConfig
from engine.core import events as ev
from engine.core.freshness import ECHO_FIELD, format_echo, seq_base
from engine.core.freshrules import FreshnessRules, echo_seqs, first_of_a_run
from engine.core.linkplan import plan_links
from engine.core.peers import LinkState, NodeState
from engine.core.sequence import SeqResult, Verdict
from engine.errors import RemoteProtocolError
from engine.protocol.auth import Authenticator
from engine.protocol.codec import decode_datagram, encode_wire
from engine.protocol.message import Message

HISTORY_SLOTS = 500
"""Sent numbered messages kept for retransmission (spec §6.5)."""
MAX_REXMIT_PER_REQUEST = 50
STARTUP_DT_BUMP_MS = 2000
STARTUP_DT_BUMP_SECONDS = 5.0
REQNODES_RETRY = 1.0
RECENT_PACKETS = 16
"""Recently accepted datagrams remembered so the copy on the next medium is cheap."""
UNNUMBERED = -1
"""``seq`` recorded for a remembered ``NS_*`` message (they carry no sequence number)."""
NS_COPY_WINDOW = 1.0
"""How long a byte-identical copy of an ``NS_*`` message counts as the same message."""
SEND_JITTER = 0.05
"""Status heartbeats go out up to 5 % early (never late) so nodes do not stay in phase."""
HEARS_FIELD = "hears"
"""Our extra status field: the peers the sender hears. Real Heartbeat reads only
``st``/``dt``/``protocol`` from a status (spec §4.10, §6.7) and ignores other fields."""


def _hex(value: int) -> str:
    return format(value, "x")


def _seq_of(mtype: str, msg: Message) -> int:
    """``seq`` parsed once per message: ``UNNUMBERED`` for ``NS_*`` messages, 0 when it is
    missing or garbled (``_classify`` rejects those)."""
    if mtype.startswith("NS_"):
        return UNNUMBERED
    return _parse_hex(msg.get("seq")) or 0


def _parse_hex(text: str | None) -> int | None:
    if text is None or not text or len(text) > 16:
        return None
    try:
        return int(text, 16)
    except ValueError:
        return None


class Membership:
    """Heartbeat's protocol engine for one node, without any I/O."""

    def __init__(
        self,
        config: ClusterConfig,
        auth: Authenticator,
        *,
        uuid: bytes,
        generation: int,
        now: float,
        rng: random.Random | None = None,
        load_average: Callable[[], str] = lambda: "n/a",
        peer_generations: dict[str, int] | None = None,
    ) -> None:
        self.config = config
        self.me = config.node_name
        self._auth = auth
        self.uuid = uuid
        self.generation = generation
        self._rng = rng or random.Random()
        self._load_average = load_average
        self._events: list[ev.Event] = []
        self._outbound: list[bytes] = []
        self._seq = seq_base(generation)
        """Our last sequence number; unique across our runs (engine/core/freshness.py)."""
        self._history: OrderedDict[int, bytes] = OrderedDict()
        self._resent_at: dict[int, float] = {}
        self.status = "init"
        self.comm_up = False
        self.started_at = now
        self._last_tick = now
        self._grace_until = now
        self._next_status = now
        self._dt_bump_until = now + STARTUP_DT_BUMP_SECONDS
        self._reqnodes_at: float | None = None
        self._reqnodes_tried: list[str] = []
        self._flow_control = True
        self._recent: OrderedDict[bytes, tuple[NodeState, int, bool, float]] = OrderedDict()
        self.counters: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self._freshness = FreshnessRules(self.me, generation, self.counters)
        self.nodes = self._make_nodes(now)
        self._unheard_since: dict[str, float] = {}
        """Peer -> when its ``hears`` list first lacked us (one-way loss detection)."""
        self.one_way: dict[str, str] = {}
        """Peers that do not hear us although we hear them -> the reason."""
        self.hears_us: dict[str, bool] = {}
        """Peer -> whether its latest status lists us (absent: it sends no ``hears``)."""
        for name, generation in (peer_generations or {}).items():
            if name in self.nodes and name != self.me:
                self.nodes[name].track.generation = generation
        for node in self.peers():
            node.fresh.require(self._seq + 1, node.track.generation, now)

    # ----------------------------------------------------------------- setup

    def _link_names(self) -> list[str]:
        return [plan.name for plan in plan_links(self.config)]

    def _make_nodes(self, now: float) -> dict[str, NodeState]:
        nodes: dict[str, NodeState] = {}
        for name in self.config.nodes:
            node = NodeState(
                name=name,
                is_self=name == self.me,
                dead_ms=self.config.timing.deadtime_ms,
                local_lastupdate=now,
                ack_trigger=self._rng.randrange(10),
            )
            node.links = {link: LinkState(link) for link in self._link_names()}
            if node.is_self:
                node.uuid = self.uuid
            nodes[name] = node
        for name in self.config.ping_nodes:
            # spec §6.1/§11.1: deadtime = deadping, one link named after the ping node
            node = NodeState(
                name=name,
                is_self=False,
                dead_ms=self.config.timing.deadping_ms,
                local_lastupdate=now,
                kind="ping",
            )
            node.links = {name: LinkState(name)}
            nodes[name] = node
        return nodes

    @property
    def self_node(self) -> NodeState:
        """Our own entry in the node table."""
        return self.nodes[self.me]

    def peers(self) -> list[NodeState]:
        """Other normal nodes, in configuration order."""
        return [n for n in self.nodes.values() if not n.is_self and n.kind == "normal"]

    def ping_nodes(self) -> list[NodeState]:
        """Ping pseudo-nodes (``ping`` addresses, ``ping_group`` names)."""
        return [n for n in self.nodes.values() if n.kind == "ping"]

    def _watched(self) -> list[NodeState]:
        """Every node whose silence we time out: normal peers and ping nodes."""
        return [n for n in self.nodes.values() if not n.is_self]

    def apply_config(self, config: ClusterConfig, auth: Authenticator, now: float) -> list[str]:
        """Adopt a reloaded configuration that ``engine.shell.reload`` already vetted.

        Timing and keys take effect at once; a node added to ``config.nodes`` gets
        initdead semantics (dead if not heard within initdead). Returns the added nodes.
        """
        self.config = config
        self._auth = auth
        added: list[str] = []
        for name in config.nodes:
            if name in self.nodes:
                continue
            node = NodeState(
                name=name,
                is_self=False,
                dead_ms=config.timing.initdead_ms,
                local_lastupdate=now,
                ack_trigger=self._rng.randrange(10),
            )
            node.links = {link: LinkState(link) for link in self._link_names()}
            node.fresh.require(self._seq + 1, 0, now)
            self.nodes[name] = node
            added.append(name)
        return added

    def start(self, now: float, wall: float) -> None:
        """Announce ourselves: status init, then up, up (Heartbeat's startup sequence)."""
        self._send_status(now, wall)
        self._set_local_status("up")
        self._send_status(now, wall)
        self._send_status(now, wall)

    # --------------------------------------------------------------- outputs

    def drain_events(self) -> list[ev.Event]:
        """Events since the last call, in order."""
        out, self._events = self._events, []
        return out

    def has_work(self) -> bool:
        """True when there are datagrams to send or events other than rejections (the
        shell then pumps; otherwise it only logs the rejections)."""
        if self._outbound:
            return True
        return any(not isinstance(event, ev.PacketRejected) for event in self._events)

    def drain_outbound(self) -> list[bytes]:
        """Datagrams to write to every medium, in order."""
        out, self._outbound = self._outbound, []
        return out

    def next_deadline(self) -> float:
        """When ``tick`` must run next."""
        deadlines = [self._next_status]
        for node in self._watched():
            limit = self._death_limit_s(node)
            if node.status != "dead":
                deadlines.append(node.local_lastupdate + limit)
            for link in node.links.values():
                if link.status == "up" and link.last_heard is not None:
                    deadlines.append(link.last_heard + limit)
            deadlines.extend(node.track.missing.values())
        if self._reqnodes_at is not None:
            deadlines.append(self._reqnodes_at)
        if self._dt_bump_until:
            deadlines.append(self._dt_bump_until)
        return min(deadlines)

    # ----------------------------------------------------------------- clock

    def tick(self, now: float, wall: float) -> None:
        """Run every timer that is due at ``now``."""
        self._check_stall(now)
        self._last_tick = now
        if self._dt_bump_until and now >= self._dt_bump_until:
            self._dt_bump_until = 0.0
            self._send_status(now, wall)
        if now >= self._next_status:
            self._send_status(now, wall)
        if now >= self._grace_until:
            self._scan_deaths(now)
        self._check_comm_up(now, wall)
        self._send_rexmit_requests(now, wall)

    def _check_stall(self, now: float) -> None:
        stalled_ms = round((now - self._last_tick) * 1000)
        if stalled_ms > self.config.timing.deadtime_ms:
            self._events.append(ev.LocalStall(stalled_ms))
            self.counters["stalls"] += 1
            # Give the packets queued while we were frozen a chance to arrive before
            # declaring anyone dead: a late packet proves life.
            self._grace_until = now + 2 * self.config.timing.keepalive_ms / 1000

    def _death_limit_s(self, node: NodeState) -> float:
        if not self.comm_up:
            return self.config.timing.initdead_ms / 1000
        return node.dead_ms / 1000

    def _scan_deaths(self, now: float) -> None:
        died: set[str] = set()
        for node in self._watched():
            limit = self._death_limit_s(node)
            if node.status != "dead" and now - node.local_lastupdate >= limit:
                self._mark_dead(node, now)
                died.add(node.name)
        for node in self._watched():
            limit = self._death_limit_s(node)
            for link in node.links.values():
                heard = link.last_heard
                if link.status != "up" or heard is None:
                    continue
                if now - heard >= limit:
                    reason = f"no packets for {round((now - heard) * 1000)} ms"
                elif node.name in died:
                    # A late ACK can keep a link fresher than the node's last status; a
                    # dead node's links die with it, in the same scan (as Heartbeat logs).
                    silent_ms = round((now - heard) * 1000)
                    reason = f"{node.name} is dead (last packet {silent_ms} ms ago)"
                else:
                    continue
                link.status = "dead"
                self._events.append(ev.LinkStatusChanged(node.name, link.name, "dead", reason))

    def _mark_dead(self, node: NodeState, now: float) -> None:
        silent_ms = round((now - node.local_lastupdate) * 1000)
        links = tuple(link.name for link in node.links.values())
        if node.kind == "ping":
            reason = (
                f"ping node {node.name} unreachable: no echo reply for {silent_ms} ms "
                f"(deadping {node.dead_ms} ms); ping nodes never move resources by themselves"
            )
        elif node.heard_status:
            reason = (
                f"{node.name} declared dead after {silent_ms} ms without heartbeats "
                f"on {', '.join(links) or 'any link'} (deadtime {node.dead_ms} ms)"
            )
        elif node.fresh.held:
            reason = (
                f"{node.name} declared dead: none of its {node.fresh.held} packet(s) showed "
                f"within initdead {self.config.timing.initdead_ms} ms that it hears us "
                "(sent before our start, or replayed)"
            )
        else:
            reason = (
                f"{node.name} declared dead: never heard within initdead "
                f"{self.config.timing.initdead_ms} ms"
            )
        old = node.status
        node.status = "dead"
        node.rmt_ts = 0
        node.anypacketsyet = False
        node.track.last_seq = None
        node.track.missing.clear()
        self._unheard_since.pop(node.name, None)
        self.one_way.pop(node.name, None)
        if node.kind == "normal":
            # Its packets count again only once they show it heard us after this moment.
            node.fresh.require(self._seq + 1, node.track.generation, now)
        self._note_hears_us(node.name, None)
        self.counters["deaths"] += 1
        self._events.append(ev.NodeDead(node.name, reason, silent_ms, links))
        self._events.append(ev.NodeStatusChanged(node.name, old, "dead"))

    # --------------------------------------------------------------- sending

    def _set_local_status(self, status: str) -> None:
        if status != self.status:
            self.status = status
            self.self_node.status = status
            self._events.append(ev.LocalStatusChanged(status))

    def _advertised_dt(self, now: float) -> int:
        dt = self.config.timing.deadtime_ms
        if self._dt_bump_until and now < self._dt_bump_until:
            dt += STARTUP_DT_BUMP_MS
        return dt

    def _send_status(self, now: float, wall: float) -> None:
        early = self._rng.uniform(0.0, SEND_JITTER)
        self._next_status = now + self.config.timing.keepalive_ms * (1 - early) / 1000
        self.send(self._status_message(now), now, wall)

    def _status_message(self, now: float) -> Message:
        """Heartbeat's status fields, then ours (which real Heartbeat ignores)."""
        msg = Message.of(
            ("t", "status"),
            ("st", self.status),
            ("dt", _hex(self._advertised_dt(now))),
            ("protocol", "1"),
        )
        # " " when we hear nobody, as Heartbeat's own empty ``delnodelist``: absent means
        # an old peer that does not report what it hears.
        msg.set(HEARS_FIELD, " ".join(self._heard_peers(now)) or " ")
        msg.set(ECHO_FIELD, format_echo(echo_seqs(self.peers())))
        return msg

    def _heard_peers(self, now: float) -> list[str]:
        """Peers whose status heartbeats reach us within their deadtime."""
        return [
            n.name
            for n in self.peers()
            if n.heard_status and n.status != "dead" and now - n.local_lastupdate < n.dead_ms / 1000
        ]

    def send(self, msg: Message, now: float, wall: float) -> None:
        """Stamp control fields, process our own copy (loopback), queue for the wire."""
        mtype = msg.type or ""
        numbered = not mtype.startswith("NS_")
        self._stamp(msg, wall, numbered)
        self._process(msg, None, now, wall)
        data = encode_wire(msg, self._auth, embed_auth=self.config.msgfmt == "classic")
        if numbered:
            self._remember(self._seq, data)
        seq = self._seq if numbered else UNNUMBERED
        self._remember_recent(data, self.self_node, seq, mtype == "status", now)
        self._outbound.append(data)
        self.counters["sent"] += 1

    def _stamp(self, msg: Message, wall: float, numbered: bool) -> None:
        """Add control fields in Heartbeat's order (spec §4.4)."""
        ns = not numbered
        dest = msg.get("dest")
        if dest and dest in self.nodes and self.nodes[dest].uuid:
            msg.set("destuuid", self.nodes[dest].uuid or b"")
        stamps: list[tuple[str, str | bytes]] = [("src", self.me), ("srcuuid", self.uuid)]
        if not ns:
            self._seq += 1
            stamps.append(("seq", _hex(self._seq)))
        stamps += [("hg", _hex(self.generation)), ("ts", _hex(int(wall)))]
        if not ns:
            stamps.append(("ld", self._load_average()))
        stamps.append(("ttl", str(len(self.config.nodes) + self.config.hopfudge)))
        for name, value in stamps:
            if ns and name in msg:
                continue
            msg.set(name, value)

    def own_links_sent(self, links: set[str], now: float) -> None:
        """Our datagrams went out on ``links``: our own entries for them are up.

        Heartbeat learns this from the kernel looping our packets back; the shell does
        not take that echo (it proves only that the local stack works), so it reports
        successful sends instead. Our own links are never timed out, as in Heartbeat.
        """
        node = self.self_node
        for name in links:
            state = node.links.get(name)
            if state is not None and state.heard(now):
                self._events.append(ev.LinkStatusChanged(node.name, name, "up", "sending"))

    def _remember(self, seq: int, data: bytes) -> None:
        self._history[seq] = data
        while len(self._history) > HISTORY_SLOTS:
            old, _ = self._history.popitem(last=False)
            self._resent_at.pop(old, None)

    # ------------------------------------------------------------- receiving

    def receive(self, data: bytes, link: str, now: float, wall: float) -> bool:
        """Handle one datagram that arrived on medium ``link``.

        Returns False when it was rejected before it could change anything (bad format,
        bad signature): the shell then has no timers to re-arm.
        """
        self.counters["received"] += 1
        if self._known_copy(data, link, now):
            return True
        try:
            msg = decode_datagram(data, self._auth)
        except RemoteProtocolError as exc:
            self._reject(exc.reason, exc.detail, link)
            return False
        self._process(msg, link, now, wall, data)
        return True

    def _known_copy(self, data: bytes, link: str, now: float) -> bool:
        """Handle a byte-identical copy of a packet accepted a moment ago (other medium).

        Heartbeat sends the same bytes on every medium; the copies are authentic (they
        equal an authenticated packet) and, while they are still the sender's latest
        packet, exactly what the full pipeline would call DUPLICATE: refresh the link.
        """
        hit = self._recent.get(data)
        if hit is None:
            return False
        node, seq, is_status, accepted_at = hit
        if node.status == "dead":
            return False
        if seq == UNNUMBERED:
            # NS_* messages (ACKs, retransmit requests) are idempotent: a copy on the
            # next medium a moment later is the same message, not a new one.
            if now - accepted_at > NS_COPY_WINDOW:
                return False
        elif node.track.last_seq != seq:
            return False
        self.counters["duplicates"] += 1
        if node.fresh.confirmed:
            self._refresh_link(node, link, is_status, now)
        return True

    def _remember_recent(
        self, data: bytes, node: NodeState, seq: int, is_status: bool, now: float
    ) -> None:
        self._recent[data] = (node, seq, is_status, now)
        while len(self._recent) > RECENT_PACKETS:
            self._recent.popitem(last=False)

    def _reject(self, reason: str, detail: str, link: str = "", node: str = "") -> None:
        self.rejected[reason] += 1
        self._events.append(ev.PacketRejected(reason, detail, link, node))

    def _process(
        self, msg: Message, link: str | None, now: float, wall: float, data: bytes = b""
    ) -> None:
        mtype, src, ts_text = msg.type, msg.get("src"), msg.get("ts")
        where = link or ""
        if not mtype or not src or not ts_text:
            self._reject("missing_field", "process_clustermsg: missing from/ts/type", where)
            return
        ts = _parse_hex(ts_text)
        if not ts:
            self._reject("bad_ts", f"bad timestamp [{ts_text[:20]}]", where)
            return
        node = self.nodes.get(src.lower())
        if node is None:
            self._reject("unknown_node", f"bad node [{src[:40]}] in message", where)
            return
        if link is not None and node.is_self and msg.get_bytes("srcuuid") != self.uuid:
            self._reject("forged_self", "packet claims to be from us with another uuid", where)
            return
        if node.kind == "ping" and (mtype != "NS_st" or link != node.name):
            # only the ping medium itself may speak for a ping node (an echo reply)
            self._reject("bad_ping", f"{mtype} for ping node {node.name} on link {where}", where)
            return
        seq = _seq_of(mtype, msg)
        known_run = (node.track.generation, node.track.last_seq)
        result = self._classify(msg, mtype, seq, node, where, now)
        if result is None:
            return
        if node.uuid is None:
            node.uuid = msg.get_bytes("srcuuid")
        if first_of_a_run(node, seq != UNNUMBERED, result, known_run):
            # It needs our echo to count us alive (after its start): give it at once
            # instead of at our next keepalive.
            self._send_status(now, wall)
        if result.verdict is Verdict.DROP:
            # Authentic but stale (an old packet replayed, or a heartbeat from before a
            # partition): no effect, counted so that replays show in status --json.
            self.counters["stale"] += 1
            return
        proven_now = not node.fresh.confirmed
        if proven_now and not self._proves_fresh(node, msg, mtype, now):
            if result.verdict is Verdict.KEEP:
                self._hold(node, msg, mtype, seq, ts, now, wall)
            return
        node.anypacketsyet = True
        if link is not None:
            self._refresh_link(node, link, mtype in ("status", "NS_st"), now)
        if result.verdict is Verdict.DUPLICATE:
            return
        if data and node.kind != "ping":
            # Not ping replies: they come on their own medium only, and every ping of
            # the same second carries the same bytes (same ts); each one is news.
            self._remember_recent(data, node, seq, mtype == "status", now)
        if not proven_now:  # on confirmation, _confirm said what changed meanwhile
            self._after_keep(node, result, msg, now)
        if self._for_us(msg):
            self._dispatch(node, msg, mtype, seq, ts, now, wall)
            self._maybe_ack(node, seq, result, now, wall)

    def _classify(
        self, msg: Message, mtype: str, seq: int, node: NodeState, where: str, now: float
    ) -> SeqResult | None:
        if seq == UNNUMBERED:
            return SeqResult(Verdict.KEEP)
        if not seq:
            self._reject("bad_seq", "should_drop_message: bad sequence number", where)
            return None
        hg_text = msg.get("hg")
        hg = 0 if hg_text is None else _parse_hex(hg_text)
        if hg is None:
            self._reject("bad_generation", "should_drop_message: bad generation number", where)
            return None
        result = node.track.accept(
            seq,
            hg,
            node=node.name,
            is_status=mtype == "status",
            node_dead=node.status == "dead",
            status_seqno=node.status_seqno,
            first_request_at=lambda: now + self._rexmit_delay(),
        )
        for level, text in result.notes:
            self._events.append(ev.LogEvent(level, text))
        if result.replay:
            self._reject("replay", result.notes[0][1] if result.notes else "replay", where)
            return None
        return result

    def _rexmit_delay(self) -> float:
        top = self.config.max_rexmit_delay_ms
        low = 50 if top >= 100 else 0
        return self._rng.uniform(low, top) / 1000

    def _refresh_link(self, node: NodeState, link: str, is_status: bool, now: float) -> None:
        state = node.links.get(link)
        if state is None:
            return
        if is_status:
            state.heartbeat(now, self.config.timing.warntime_ms)
        if state.heard(now):
            self._events.append(ev.LinkStatusChanged(node.name, link, "up", "packets again"))

    def _after_keep(self, node: NodeState, result: SeqResult, msg: Message, now: float) -> None:
        if result.restarted:
            old = result.previous_generation
            self._events.append(ev.NodeRestarted(node.name, old, node.track.generation))
            node.rmt_ts = 0
            node.status_seqno = 0
            node.heard_status = False
        if result.healed:
            self._events.append(ev.PartitionHealed(node.name))
            self.counters["partitions_healed"] += 1

    def _proves_fresh(self, node: NodeState, msg: Message, mtype: str, now: float) -> bool:
        """Ask the freshness rules; on a proof, say what they say and handle the status
        the peer claimed while it was held back."""
        confirmed = self._freshness.proves_fresh(
            node,
            msg,
            mtype,
            now,
            our_seq=self._seq,
            for_us=self._for_us(msg),
            flow_control=self._flow_control,
        )
        if confirmed is None:
            return False
        self._events.extend(confirmed.events)
        if confirmed.pending is not None:
            self._on_status(node, *confirmed.pending, now)
        return True

    def _hold(
        self, node: NodeState, msg: Message, mtype: str, seq: int, ts: int, now: float, wall: float
    ) -> None:
        """A packet from a peer that has not proven freshness (freshrules.py): only the
        probes it calls for are sent, and a ``reqnodes`` or NAK for us is answered."""
        held = self._freshness.hold(node, msg, mtype, seq, ts)
        self._events.extend(held.events)
        for _ in range(held.probes):
            self._send_status(now, wall)
        if mtype == "reqnodes" and self._for_us(msg):
            self._on_reqnodes(node, now, wall)
        elif mtype == "NS_nak_rexmit" and self._for_us(msg):
            self._on_nak(node, msg)

    def _for_us(self, msg: Message) -> bool:
        destuuid = msg.get_bytes("destuuid")
        if destuuid is not None:
            return destuuid == self.uuid
        dest = msg.get("dest")
        return dest is None or dest.lower() == self.me

    # -------------------------------------------------------------- dispatch

    def _dispatch(
        self, node: NodeState, msg: Message, mtype: str, seq: int, ts: int, now: float, wall: float
    ) -> None:
        if mtype == "status":
            self._on_status(node, msg, seq, ts, now)
        elif mtype == "NS_st" and node.kind == "ping":
            self._on_ping_reply(node, msg, ts, now, wall)
        elif mtype == "NS_rexmit":
            self._on_rexmit_request(node, msg, now, wall)
        elif mtype == "NS_nak_rexmit":
            self._on_nak(node, msg)
        elif mtype == "NS_ackmsg":
            node.ackseq = _parse_hex(msg.get("ackseq")) or node.ackseq
        elif mtype == "reqnodes":
            self._on_reqnodes(node, now, wall)
        elif mtype == "repnodes":
            self._on_repnodes(node, msg, now, wall)
        else:
            self._events.append(ev.MessageReceived(msg, from_self=node.is_self))

    def _on_status(self, node: NodeState, msg: Message, seq: int, ts: int, now: float) -> None:
        if node.heard_status and seq < node.status_seqno and ts <= node.rmt_ts:
            return
        if not node.is_self:
            self._adopt_peer_status(node, msg, now)
        node.rmt_ts = ts
        node.local_lastupdate = now
        node.status_seqno = seq
        node.heard_status = True

    def _adopt_peer_status(self, node: NodeState, msg: Message, now: float) -> None:
        """What a peer's status says: its state, deadtime, protocol and whom it hears.

        Runs before the node's arrival time is updated (``_check_late`` measures the gap);
        our own status (loopback) says nothing we do not know, so it skips all this.
        """
        if node.heard_status:
            self._check_late(node, now)
        st = msg.get("st") or ""
        if st and st != node.status:
            old = node.status
            node.status = st
            self._events.append(ev.NodeStatusChanged(node.name, old, st))
        dt = _parse_hex(msg.get("dt"))
        if dt is not None:
            node.dead_ms = self._clamp_deadtime(dt)
        if "protocol" not in msg and self._flow_control:
            self._flow_control = False
            text = "flow control disabled due to different version heartbeat"
            self._events.append(ev.LogEvent("info", text))
        self._check_hears_us(node, msg.get(HEARS_FIELD), now)

    def _check_hears_us(self, node: NodeState, hears: str | None, now: float) -> None:
        """One-way loss: the peer's status says it does not hear us (field absent = old peer)."""
        self._note_hears_us(node.name, None if hears is None else self.me in hears.split())
        if hears is None or self.me in hears.split():
            self._unheard_since.pop(node.name, None)
            if self.one_way.pop(node.name, None) is not None:
                text = f"Link to {node.name} is two-way again: it hears us"
                self._events.append(ev.LogEvent("info", text))
            return
        since = self._unheard_since.setdefault(node.name, now)
        silent_ms = round((now - since) * 1000)
        if node.name not in self.one_way and silent_ms > node.dead_ms:
            reason = (
                f"one-way communication: we hear {node.name} but it has not heard us "
                f"for {silent_ms} ms (its status lists only: {hears.strip() or 'nobody'})"
            )
            self.one_way[node.name] = reason
            self.counters["one_way"] += 1
            self._events.append(ev.LogEvent("WARN", reason))

    def _note_hears_us(self, name: str, heard: bool | None) -> None:
        """Tell the policy (``PeerHearsUs``) when what the peer says about us changes."""
        if self.hears_us.get(name) is heard:
            return
        if heard is None:
            self.hears_us.pop(name, None)
        else:
            self.hears_us[name] = heard
        self._events.append(ev.PeerHearsUs(name, heard))

    def _on_ping_reply(
        self, node: NodeState, msg: Message, ts: int, now: float, wall: float
    ) -> None:
        """An echo reply carried our signed ``NS_st`` back: the ping node is reachable.

        ``ts`` is the time of the status we pinged with; a reply to a ping older than
        deadping (a captured reply played back) proves nothing about now.
        """
        stale = ts < wall - node.dead_ms / 1000 - 1
        if msg.get("info") != "ping" or ts < node.rmt_ts or stale:
            return
        if node.status != "ping":
            old = node.status
            node.status = "ping"
            self._events.append(ev.NodeStatusChanged(node.name, old, "ping"))
        node.rmt_ts = ts
        node.local_lastupdate = now
        node.heard_status = True

    def _check_late(self, node: NodeState, now: float) -> None:
        interval = round((now - node.local_lastupdate) * 1000)
        timing = self.config.timing
        if interval > timing.deadtime_ms:
            self.counters["late_heartbeats"] += 1
            self._events.append(ev.LateHeartbeat(node.name, interval, critical=True))
        elif interval > timing.warntime_ms:
            self.counters["late_heartbeats"] += 1
            self._events.append(ev.LateHeartbeat(node.name, interval, critical=False))

    def _clamp_deadtime(self, dt: int) -> int:
        """Bound a peer's advertised deadtime (real Heartbeat trusts it blindly)."""
        timing = self.config.timing
        low = max(2 * timing.keepalive_ms, 100)
        high = max(10 * timing.deadtime_ms, timing.initdead_ms, 60_000)
        return min(max(dt, low), high)

    # --------------------------------------------------------- comm up

    def _check_comm_up(self, now: float, wall: float) -> None:
        if self.comm_up:
            return
        if self._reqnodes_at is not None:
            if now >= self._reqnodes_at:
                self._send_reqnodes(now, wall)
            return
        if all(n.anypacketsyet or n.status == "dead" for n in self.nodes.values()):
            self._send_reqnodes(now, wall)

    def _send_reqnodes(self, now: float, wall: float) -> None:
        candidates = [
            n.name
            for n in self.peers()
            if n.status != "dead" and n.fresh.confirmed and n.name not in self._reqnodes_tried
        ]
        if not candidates:
            if self._reqnodes_tried and any(n.status != "dead" for n in self.peers()):
                self._reqnodes_tried.clear()
                candidates = [n.name for n in self.peers() if n.status != "dead"]
            else:
                self._set_comm_up(now, wall)
                return
        target = candidates[0]
        self._reqnodes_tried.append(target)
        self._reqnodes_at = now + REQNODES_RETRY
        self.send(Message.of(("t", "reqnodes"), ("dest", target)), now, wall)

    def _on_reqnodes(self, node: NodeState, now: float, wall: float) -> None:
        if node.is_self:
            return
        nodelist = "".join(f"{name} " for name in self.config.nodes)
        reply = Message.of(
            ("t", "repnodes"),
            ("dest", node.name),
            ("nodelist", nodelist),
            ("delnodelist", " "),
        )
        self.send(reply, now, wall)

    def _on_repnodes(self, node: NodeState, msg: Message, now: float, wall: float) -> None:
        if node.is_self or self.comm_up:
            return
        theirs = set((msg.get("nodelist") or "").split())
        if theirs and theirs != set(self.config.nodes):
            text = (
                f"node list of {node.name} differs from ours: "
                f"theirs {sorted(theirs)}, ours {sorted(self.config.nodes)}"
            )
            self._events.append(ev.LogEvent("WARN", text))
        self._set_comm_up(now, wall)

    def _set_comm_up(self, now: float, wall: float) -> None:
        self.comm_up = True
        self._reqnodes_at = None
        self._events.append(ev.CommUp())
        self._set_local_status("active")
        self._send_status(now, wall)

    # ------------------------------------------------- retransmit and ACKs

    def _send_rexmit_requests(self, now: float, wall: float) -> None:
        period = self.config.max_rexmit_delay_ms / 1000
        for node in self.peers():
            if node.status not in ("up", "active", "init"):
                continue
            for seq, due in sorted(node.track.missing.items()):
                if now >= due:
                    node.track.missing[seq] = now + period
                    req = Message.of(
                        ("t", "NS_rexmit"),
                        ("dest", node.name),
                        ("firstseq", str(seq)),
                        ("lastseq", str(seq)),
                    )
                    self.send(req, now, wall)

    def _on_rexmit_request(self, node: NodeState, msg: Message, now: float, wall: float) -> None:
        if node.is_self:
            return
        try:
            first = int(msg.get("firstseq") or "")
            last = int(msg.get("lastseq") or "")
        except ValueError:
            self._events.append(ev.LogEvent("ERROR", "Invalid rexmit seqnos"))
            return
        if first <= 0 or last < first:
            self._events.append(ev.LogEvent("ERROR", "Invalid rexmit seqnos"))
            return
        # Clamp to what can be served: real Heartbeat walks any range (amplification).
        last = min(last, first + MAX_REXMIT_PER_REQUEST - 1, self._seq)
        min_gap = max(self.config.max_rexmit_delay_ms - 10, 0) / 1000
        for seq in range(first, last + 1):
            if seq <= node.ackseq:
                continue
            data = self._history.get(seq)
            if data is None:
                self._nak(node, seq, "seqno not found" if seq > 0 else "seqno too low", now, wall)
                continue
            if now - self._resent_at.get(seq, -1e9) < min_gap:
                continue
            self._resent_at[seq] = now
            self._outbound.append(data)
            self.counters["retransmitted"] += 1

    def _nak(self, node: NodeState, seq: int, reason: str, now: float, wall: float) -> None:
        lowest = next(iter(self._history), self._seq + 1)
        if seq < lowest:
            reason = "seqno too low"
        self._events.append(
            ev.LogEvent("ERROR", f"Cannot rexmit pkt {seq} for {node.name}: {reason}")
        )
        nak = Message.of(
            ("t", "NS_nak_rexmit"),
            ("firstseq", _hex(seq)),
            ("dest", node.name),
            ("info", reason),
        )
        self.send(nak, now, wall)

    def _on_nak(self, node: NodeState, msg: Message) -> None:
        seq = _parse_hex(msg.get("firstseq"))
        if seq is None:
            return
        text = f"Irretrievably lost packet: node {node.name} seq {seq}"
        self._events.append(ev.LogEvent("ERROR", text))
        node.track.missing.pop(seq, None)

    def _maybe_ack(
        self, node: NodeState, seq: int, result: SeqResult, now: float, wall: float
    ) -> None:
        if not self._flow_control or seq == UNNUMBERED:
            return
        if node.track.missing:
            return
        last = node.track.last_seq or 0
        if result.filled_gap:
            target = last - ((last - node.ack_trigger) % 10)
        else:
            target = seq if seq % 10 == node.ack_trigger else 0
        if target <= 0:
            return
        ack = Message.of(("t", "NS_ackmsg"), ("dest", node.name), ("ackseq", _hex(target)))
        self.send(ack, now, wall)

    # -------------------------------------------------------------- snapshot

    def snapshot(self, now: float) -> dict[str, Any]:
        """The membership part of ``status --json``."""
        return {
            "node": self.me,
            "status": self.status,
            "generation": self.generation,
            "uuid": self.uuid.hex(),
            "comm_up": self.comm_up,
            "nodes": [self._node_snapshot(node, now) for node in self.nodes.values()],
        }

    def _node_snapshot(self, node: NodeState, now: float) -> dict[str, Any]:
        doc = node.snapshot(now)
        if not node.is_self and node.kind == "normal":
            doc["one_way"] = self.one_way.get(node.name)
        return doc
