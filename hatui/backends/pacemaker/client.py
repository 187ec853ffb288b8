"""The Pacemaker back end as an engine connection (``hatui.bridge.ClientLike``).

``attach`` (and the ``subscribe`` verb) answer like the engine's control socket (snapshot, recent
timeline, recent log); ``events`` then polls the node once per interval and yields
``status``, ``log`` and ``timeline`` events; ``call`` answers ``hello``, ``status`` and
the operator verbs of :mod:`hatui.backends.pacemaker.actions`. A poll that cannot reach
the cluster (corosync or Pacemaker down on the node) raises ``ControlError``
``disconnected`` with the tool's own message, so the console shows "DISCONNECTED" and
reconnects with backoff, as it does for an engine.
"""

from __future__ import annotations

import asyncio
import collections
import grp
import logging
import os
import pwd
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.control.client import Subscription
from engine.control.schema import DISCONNECTED, PROTOCOL_VERSION, REFUSED, ControlError
from hatui.backends.pacemaker import actions
from hatui.backends.pacemaker.cib import CibError, Location, parse_locations
from hatui.backends.pacemaker.cmap import corosync_config, knet_links, parse_cmap
from hatui.backends.pacemaker.crmmon import CrmMon, CrmMonError, parse_crm_mon
from hatui.backends.pacemaker.document import Inputs, status_document
from hatui.backends.pacemaker.logs import (
    COROSYNC_LOG,
    PACEMAKER_LOG,
    LogLine,
    LogTail,
    history_entries,
    loud_enough,
)
from hatui.backends.pacemaker.timeline import TimelineTracker
from hatui.backends.pacemaker.tools import ToolError, Tools, describe_failure

logger = logging.getLogger(__name__)

FAILED = "failed"
"""Error code of a verb whose tool ran and failed (the console says "failed", not
"refused")."""
RECENT_TIMELINE = 50
RECENT_LOG = 500
LATENCY_SAMPLES = 20
REREAD_S = 30.0
"""What rarely changes (corosync's nodelist, the constraints) is read at least this often."""
CHANGE_WINDOW_S = 2.5
"""The constraints are read on every poll this long after the CIB last changed."""
ADMIN_GROUP = "haclient"


@dataclass(frozen=True, slots=True)
class Options:
    """How to reach the node: the tools' prefix, the log files, the poll interval."""

    tools: Tools = field(default_factory=Tools)
    logs: tuple[Path, ...] | None = None
    """None: Pacemaker's default file and the file corosync's cmap names."""
    interval_s: float = 1.0
    pacemaker_level: str = "NOTICE"
    """Pacemaker logs a lot at info; the tail shows notice and louder."""
    corosync_level: str = "INFO"
    """corosync logs knet link changes at info."""


@dataclass(slots=True)
class Poll:
    """One poll: the document, and what is new since the previous poll."""

    doc: dict[str, Any]
    timeline: list[dict[str, Any]]
    logs: list[dict[str, Any]]


def who_may_act(tools: Tools) -> dict[str, Any]:
    """The ``peer`` of ``hello``: this user, and whether Pacemaker's tools will obey."""
    uid, gid = os.getuid(), os.getgid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    if tools.prefix:
        can, why = True, f"acting through {' '.join(tools.prefix)}: the node decides"
    elif uid == 0:
        can, why = True, "root may act"
    else:
        try:
            admins = grp.getgrnam(ADMIN_GROUP).gr_gid
        except KeyError:
            admins = -1
        can = admins in os.getgroups() or admins == gid
        why = (
            f"member of {ADMIN_GROUP} (Pacemaker's ACLs apply)"
            if can
            else f"needs root or group {ADMIN_GROUP} (Pacemaker's tools refuse others)"
        )
    return {"uid": uid, "gid": gid, "pid": os.getpid(), "user": user, "can_act": can, "reason": why}


class Poller:
    """Reads the node once per call; keeps what a diff needs between calls."""

    def __init__(
        self,
        options: Options,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``clock`` stamps timeline entries; ``monotonic`` times what is read again."""
        self.options = options
        self._clock = clock
        self._monotonic = monotonic
        self._tracker = TimelineTracker()
        self._latency: dict[tuple[int, int], collections.deque[float]] = {}
        self._tails: list[LogTail] | None = None
        self.history_logs: list[dict[str, Any]] = []
        self.history_timeline: list[dict[str, Any]] = []
        self._icmap_cache: tuple[float, str] | None = None
        self._constraints_cache: tuple[float, list[Location] | None] | None = None
        self._cib_change: tuple[float | None, str] | None = None
        self._cib_changed_at = 0.0

    async def document(self) -> dict[str, Any]:
        """The status document now (no timeline, no logs): for checks before a verb."""
        return await self._read()

    async def _read(self) -> dict[str, Any]:
        tools = self.options.tools
        try:
            # all three run at once; every failure is collected (none is left unread),
            # the first in this order is the one reported
            answers = await asyncio.gather(
                tools.crm_mon(), self._icmap(), tools.knet_stats(), return_exceptions=True
            )
            for answer in answers:
                if isinstance(answer, BaseException):
                    raise answer
            mon_xml, icmap, stats = (str(answer) for answer in answers)
            mon = parse_crm_mon(mon_xml)
        except (ToolError, CrmMonError) as exc:
            self._icmap_cache = None  # the node may have changed: read everything again
            raise ControlError(DISCONNECTED, str(exc)) from None
        constraints = await self._constraints(mon)
        corosync = corosync_config(parse_cmap(icmap))
        links = knet_links(parse_cmap(stats))
        for link in links:
            if link.latency_us is not None:
                history = self._latency.setdefault(
                    (link.nodeid, link.link), collections.deque(maxlen=LATENCY_SAMPLES)
                )
                history.append(link.latency_us / 1000.0)
        if self._tails is None:
            self._tails = [LogTail(path) for path in self._log_paths(corosync.logfile)]
        inputs = Inputs(
            mon,
            corosync,
            links,
            constraints,
            {key: list(values) for key, values in self._latency.items()},
            int(self.options.interval_s * 1000),
        )
        return status_document(inputs)

    async def _icmap(self) -> str:
        """The icmap keys (nodelist, runtime token, log file): they change only when
        corosync's configuration is reloaded, so they are read every ``REREAD_S``."""
        now = self._monotonic()
        if self._icmap_cache is None or now - self._icmap_cache[0] > REREAD_S:
            self._icmap_cache = (now, await self.options.tools.icmap())
        return self._icmap_cache[1]

    async def _constraints(self, mon: CrmMon) -> list[Location] | None:
        """The CIB's location constraints, read again while the CIB changes.

        crm_mon's "last change" (whole seconds) tells when the CIB changed; the
        constraints are read again for ``CHANGE_WINDOW_S`` after it changed (a second
        change within the same second has the same stamp), and every ``REREAD_S``.
        None (crm_mon's bans are used) when cibadmin cannot answer: a console without
        them still shows the cluster.
        """
        now = self._monotonic()
        change = (mon.summary.last_change, mon.summary.last_change_by)
        if change != self._cib_change:
            self._cib_change, self._cib_changed_at = change, now
        cached = self._constraints_cache
        fresh = cached is not None and now - cached[0] <= REREAD_S
        if fresh and now - self._cib_changed_at > CHANGE_WINDOW_S and cached is not None:
            return cached[1]
        try:
            locations: list[Location] | None = parse_locations(
                await self.options.tools.constraints()
            )
        except (ToolError, CibError) as exc:
            logger.info("constraints not read: %s", exc)
            locations = None
        self._constraints_cache = (now, locations)
        return locations

    def _log_paths(self, corosync_logfile: str) -> tuple[Path, ...]:
        if self.options.logs is not None:
            return self.options.logs
        return (PACEMAKER_LOG, Path(corosync_logfile) if corosync_logfile else COROSYNC_LOG)

    def _loud(self, line: LogLine) -> bool:
        corosync = line.daemon.startswith("corosync")
        level = self.options.corosync_level if corosync else self.options.pacemaker_level
        return loud_enough(line, level)

    def _new_log_lines(self) -> list[LogLine]:
        lines = [line for tail in self._tails or () for line in tail.read()]
        lines.sort(key=lambda line: line.time or 0.0)
        return lines

    async def poll(self) -> Poll:
        """Read the node; the document and the timeline entries and log records that
        are new (the first poll fills ``history_*`` from the logs and crm_mon)."""
        doc = await self._read()
        now = self._clock()
        first = not self._tracker.started
        lines = self._new_log_lines()
        records = [line.record() for line in lines if self._loud(line)]
        timeline = self._tracker.update(doc, now)
        if first:
            history = [*history_entries(lines, now), *timeline]
            history.sort(key=lambda item: float(item.get("time") or 0.0))
            self.history_timeline = history[-RECENT_TIMELINE:]
            self.history_logs = records[-RECENT_LOG:]
            return Poll(doc, [], [])
        return Poll(doc, timeline, records)

    def close(self) -> None:
        """Release the log files."""
        for tail in self._tails or ():
            tail.close()


class PacemakerClient:
    """One "connection" to a Pacemaker node, as the console's bridge expects."""

    def __init__(
        self, options: Options, clock: Callable[[], float] = time.time, poller: Poller | None = None
    ) -> None:
        self.options = options
        self._poller = poller or Poller(options, clock)
        self._seq = 0
        self._closed = False

    async def call(self, cmd: str, **args: Any) -> Any:
        """``hello``, ``ping``, ``status``, ``subscribe`` or an operator verb."""
        if cmd == "ping":
            return "pong"
        if cmd == "hello":
            return await self._hello()
        if cmd == "status":
            return await self._poller.document()
        if cmd == "subscribe":
            attached = await self.attach()
            return {
                "snapshot": attached.snapshot,
                "seq": attached.seq,
                "timeline": attached.timeline,
                "log": attached.log,
            }
        return await self._act(cmd, args)

    async def _hello(self) -> dict[str, Any]:
        try:
            icmap = corosync_config(parse_cmap(await self.options.tools.icmap()))
        except ToolError as exc:
            raise ControlError(DISCONNECTED, exc.message) from None
        return {
            "protocol": PROTOCOL_VERSION,
            "server": "pacemaker",
            "node": icmap.local_name,
            "cluster": icmap.cluster_name,
            "peer": who_may_act(self.options.tools),
        }

    async def _act(self, verb: str, args: dict[str, Any]) -> dict[str, Any]:
        doc = await self._poller.document()
        try:
            plan = actions.plan(verb, args, doc)
        except actions.Refused as exc:
            raise ControlError(REFUSED, exc.reason) from None
        peer = who_may_act(self.options.tools)
        if not peer["can_act"]:
            raise ControlError("forbidden", f"{peer['user']} may not act: {peer['reason']}")
        logger.info("operator %s: %s", peer["user"], " ".join(plan.argv))
        result = await self.options.tools.act(plan.argv, plan.timeout)
        if not result.ok:
            raise ControlError(FAILED, describe_failure(result, plan.argv[0]))
        return {"effect": plan.effect, "command": " ".join(plan.argv)}

    async def attach(self) -> Subscription:
        """Subscribe: the document now, the recent timeline and log, and the seq."""
        poll = await self._poller.poll()
        return Subscription(
            poll.doc, self._seq, self._poller.history_timeline, self._poller.history_logs
        )

    def _event(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        self._seq += 1
        return {"event": kind, "seq": self._seq, "data": data}

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """Poll every interval; ends only by ``close`` or by raising ``ControlError``."""
        last = time.monotonic()
        while not self._closed:
            await asyncio.sleep(max(0.0, self.options.interval_s - (time.monotonic() - last)))
            last = time.monotonic()
            poll = await self._poller.poll()
            yield self._event("status", poll.doc)
            for record in poll.logs:
                yield self._event("log", record)
            for entry in poll.timeline:
                yield self._event("timeline", entry)

    def close(self) -> None:
        """Stop polling and release the log files."""
        self._closed = True
        self._poller.close()


async def open_pacemaker(options: Options) -> PacemakerClient:
    """A client for the bridge (nothing runs until ``hello``/``subscribe``)."""
    return PacemakerClient(options)
