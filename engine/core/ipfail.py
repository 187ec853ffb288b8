"""Sans-I/O ipfail: hand the resources to the peer that still sees more ping nodes (§11.3).

Heartbeat runs ipfail as a separate API client (``respawn hacluster .../ipfail``). We run
the same logic inside the engine, enabled by that same ``respawn`` line, and speak the
same node messages to the peer, so a peer running the real ipfail understands us:

* whenever one of our ping nodes dies or comes back, we send the peer
  ``t=num_ping_nodes num_ping=<n>`` ("Asking other side for ping node count.");
* on ``num_ping_nodes`` from the peer we compare: more visible here → ``you_are_dead``;
  fewer → we give up ourselves; equal → ``abort_giveup`` (and cancel our own give-up);
* ``you_are_dead`` schedules a give-up, ``abort_giveup`` cancels it;
* a give-up fires after a delay and asks the policy for standby ``all`` (Heartbeat's
  ``ask_resources rsc_hold=all info=me``), retried while the cluster is not stable.

The delay is 2 x keepalive as in ipfail, but at least ``MIN_GIVEUP_DELAY``: when both
nodes lose the router at once their ping deaths can be up to a keepalive apart, and the
``abort_giveup`` of the second one must arrive before the first one gives up.
"""

from __future__ import annotations

import logging

from engine.config.model import AutoFailback, ClusterConfig, runs_builtin_ipfail
from engine.protocol.message import Message

logger = logging.getLogger(__name__)

MIN_GIVEUP_DELAY = 1.0


class IpFail:
    """ipfail's decisions for one node of a two-node cluster, with time passed in."""

    def __init__(self, me: str, peer: str, ping_nodes: tuple[str, ...], keepalive_ms: int) -> None:
        self.me = me
        self.peer = peer
        self._status = {name: "init" for name in ping_nodes}
        self._delay = max(2 * keepalive_ms / 1000, MIN_GIVEUP_DELAY)
        self._retry = keepalive_ms / 1000
        self._giveup_at: float | None = None
        self._why = ""
        self._retrying = False
        self._outbound: list[Message] = []
        self._logs: list[tuple[str, str]] = []
        self.giveups = 0

    @property
    def visible(self) -> int:
        """How many ping nodes answer us now."""
        return sum(1 for status in self._status.values() if status == "ping")

    @property
    def giveup_reason(self) -> str:
        """Why the last give-up was scheduled ("" before any)."""
        return self._why

    @property
    def retrying(self) -> bool:
        """The current give-up was refused (cluster in flux) and is being retried (until
        a new one is scheduled)."""
        return self._retrying

    @property
    def giveup_pending(self) -> bool:
        """True while a give-up is scheduled."""
        return self._giveup_at is not None

    def handles(self, node: str) -> bool:
        """True for our ping nodes."""
        return node in self._status

    # ---------------------------------------------------------------- inputs

    def on_ping_status(self, node: str, status: str, now: float) -> None:
        """A ping node became reachable (``ping``) or ``dead``: tell the peer our count."""
        old = self._status.get(node)
        if old is None or old == status:
            return
        self._status[node] = status
        self._log("info", f"Status update: Node {node} now has status {status}")
        self._ask_peer()

    def on_peer_status(self, status: str, now: float) -> None:
        """Peer up again: compare counts; peer dead: nothing to hand over to."""
        if status == "dead":
            self._giveup_at = None
        elif status == "active":
            self._ask_peer()

    def on_message(self, msg: Message, now: float) -> None:
        """``num_ping_nodes``/``you_are_dead``/``abort_giveup`` from the peer."""
        if msg.get("src") != self.peer:
            return
        kind = msg.type
        if kind == "num_ping_nodes":
            self._compare(msg.get("num_ping"), now)
        elif kind == "you_are_dead":
            why = f"{self.peer} sees more ping nodes than we do ({self.visible} visible here)"
            self._schedule_giveup(now, why)
        elif kind == "abort_giveup":
            if self._giveup_at is not None:
                self._log("info", "Giveup aborted by the other node.")
            self._giveup_at = None

    def _compare(self, text: str | None, now: float) -> None:
        try:
            theirs = int(text or "")
        except ValueError:
            self._log("WARN", f"num_ping_nodes from {self.peer} without a valid num_ping")
            return
        mine = self.visible
        if mine > theirs:
            self._log("info", "Telling other node that we have more visible ping nodes.")
            self._send(("t", "you_are_dead"))
        elif mine < theirs:
            self._log("info", "Giving up because we have less visible ping nodes.")
            self._schedule_giveup(now, f"{self.peer} sees {theirs} ping nodes, we see {mine}")
        else:
            self._log("info", "Ping node count is balanced.")
            self._giveup_at = None
            self._send(("t", "abort_giveup"))

    def _schedule_giveup(self, now: float, why: str) -> None:
        if self._giveup_at is None:
            self._giveup_at = now + self._delay
            self._why = why
            self._retrying = False
            self._log("info", f"Delayed giveup in {self._delay:g} seconds.")

    def _ask_peer(self) -> None:
        self._log("info", "Asking other side for ping node count.")
        self._send(("t", "num_ping_nodes"), ("num_ping", str(self.visible)))

    def _send(self, *fields: tuple[str, str]) -> None:
        self._outbound.append(Message.of(*fields, ("dest", self.peer)))

    def _log(self, level: str, text: str) -> None:
        self._logs.append((level, text))

    # ----------------------------------------------------------------- clock

    def next_deadline(self) -> float | None:
        """When ``due_giveup`` should be asked next."""
        return self._giveup_at

    def due_giveup(self, now: float) -> bool:
        """True once the scheduled give-up is due (the caller then asks for standby)."""
        if self._giveup_at is None or now < self._giveup_at:
            return False
        self._giveup_at = None
        if not self._retrying:  # a retry is the same give-up, logged and counted once
            self._log("info", "giveup() called (timeout worked)")
            self.giveups += 1
        return True

    def retry_giveup(self, now: float) -> None:
        """The policy refused (cluster not stable): try again a keepalive later."""
        self._giveup_at = now + self._retry
        self._retrying = True

    # --------------------------------------------------------------- outputs

    def drain_outbound(self) -> list[Message]:
        """Node messages for the peer."""
        out, self._outbound = self._outbound, []
        return out

    def drain_logs(self) -> list[tuple[str, str]]:
        """(level, text) lines in ipfail's wording."""
        out, self._logs = self._logs, []
        return out

    def snapshot(self) -> dict[str, object]:
        """For ``status --json``."""
        return {
            "visible": self.visible,
            "ping_nodes": dict(self._status),
            "giveup_pending": self.giveup_pending,
            "giveups": self.giveups,
        }


def ipfail_enabled(
    children: tuple[str, ...], ping_nodes: tuple[str, ...], peers: tuple[str, ...]
) -> bool:
    """ipfail runs when a ``respawn`` line names it, with ping nodes and exactly one peer."""
    named = any(runs_builtin_ipfail(command, failfast=False) for command in children)
    return named and bool(ping_nodes) and len(peers) == 1


def make_ipfail(config: ClusterConfig) -> IpFail | None:
    """The built-in ipfail for this configuration, or None when Heartbeat would not run it.

    Like ipfail itself it refuses ``auto_failback legacy`` (it exits 100 there) and
    clusters without resources.
    """
    commands = tuple(child.command for child in config.children if not child.failfast)
    if not ipfail_enabled(commands, config.ping_nodes, config.peers):
        return None
    if config.auto_failback is AutoFailback.LEGACY:
        logger.warning("ipfail: auto_failback set to incompatible legacy option.")
        return None
    if not config.groups:
        logger.warning("ipfail: No managed resources")
        return None
    return IpFail(config.node_name, config.peers[0], config.ping_nodes, config.timing.keepalive_ms)
