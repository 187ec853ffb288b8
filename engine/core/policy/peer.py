"""What we know about the other side: communications, its status, whether it is settled.

``PeerView`` is the only writer of this knowledge; the membership layer's inputs
(``on_node_status``, ``on_node_dead``, ``on_node_restarted``, ``on_comm_up``) and the
resource messages change it through the planner and the takeover.
"""

from __future__ import annotations


class PeerView:
    """Communications and the other side's status, reports and intentions."""

    def __init__(self) -> None:
        self._comm_up = False
        self._status = "init"
        self._heard = False
        self._restarted = False
        self._leaving = False
        self._stable = False
        self._deferred: list[tuple[str, str, str]] = []
        self._hears_us: bool | None = None

    @property
    def comm_up(self) -> bool:
        """Communications are up (spec §6.8): the resource logic runs."""
        return self._comm_up

    @property
    def status(self) -> str:
        """The other side's status: init, up, active or dead."""
        return self._status

    @property
    def heard(self) -> bool:
        """We heard from the other side since start-up (or learnt what it holds)."""
        return self._heard

    @property
    def restarted(self) -> bool:
        """The other side started again since it was last declared dead."""
        return self._restarted

    @property
    def leaving(self) -> bool:
        """The other side sent ``shutdone``: it is leaving, no failback target until it
        starts again."""
        return self._leaving

    @property
    def stable(self) -> bool:
        """The other side reported stable (``other_is_stable``)."""
        return self._stable

    @property
    def hears_us(self) -> bool | None:
        """Whether the other side's latest status lists us (None: it sends no ``hears``,
        as real Heartbeat, or it died); the one-way loss guard's input."""
        return self._hears_us

    def heard_by_other(self, hears_us: bool | None) -> None:
        self._hears_us = hears_us

    def communications_up(self) -> bool:
        """Note that communications are up; False when they already were."""
        if self._comm_up:
            return False
        self._comm_up = True
        return True

    def mark_heard(self) -> None:
        self._heard = True

    def mark_stable(self, stable: bool) -> None:
        self._stable = stable

    def status_changed(self, status: str) -> str:
        """A new status of the other side; returns the old one."""
        old, self._status = self._status, status
        if status != "dead":
            self._heard = True
        if status in ("init", "up"):
            self._restarted = True
            self._leaving = False
            # it starts again: a shutdone it sent before our comm-up is history
            self._deferred = [d for d in self._deferred if d[0] != "shutdone"]
        return old

    def declared_dead(self) -> None:
        self._status = "dead"
        self._restarted = False

    def came_back(self) -> None:
        """It restarted (a higher generation): it announces itself again."""
        self._restarted = True
        self._stable = False

    def shut_down(self) -> None:
        """It sent ``shutdone``: leaving, and stable (it holds nothing and is in no
        transition, spec §7.9), so nothing of ours waits for it to settle."""
        self._stable = True
        self._leaving = True

    def defer(self, what: str, node: str, reason: str) -> None:
        """A death (``dead``) or a ``shutdone`` before communications are up, handled at
        comm-up: the takeover needs our own loopback messages, taken only from then on."""
        self._deferred.append((what, node, reason))

    def take_deferred(self) -> list[tuple[str, str, str]]:
        """(what, node, reason) deferred until comm-up, in the order they came."""
        deferred, self._deferred = self._deferred, []
        return deferred
