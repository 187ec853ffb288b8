"""The asyncio shell around the sans-I/O core: one timer, sockets, actions, control socket.

Rules of this module:
1. Every input (datagram, timer, control request, finished action) goes
   feed core -> ``pump`` (drain events, route them, act, send) -> re-arm the single timer.
   Datagrams are read in batches (every link, whenever one is readable) and pumped
   once per batch, and only when the core has something to do: a steady heartbeat
   only moves deadlines later, and the timer is left alone when it fires earlier.
2. Nothing here waits on resource work while heartbeating: resource actions run in
   their own task, one at a time (Heartbeat's serialisation rule), and report back.
3. Signal handlers only schedule a method on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.config.model import ChildSpec, ClusterConfig, MediumKind
from engine.control.server import ControlServer
from engine.core import events as ev
from engine.core.linkplan import plan_links
from engine.core.membership import Membership
from engine.core.policy import ResourcePolicy
from engine.core.policy_types import MonitorCheck, PolicyEvent
from engine.hblog import hb_log
from engine.process.children import ChildManager
from engine.protocol.auth import Authenticator
from engine.resources.actions import ActionWorker
from engine.shell import sdnotify
from engine.shell.badpackets import BadPacketLog
from engine.shell.commands import EngineControl
from engine.shell.configload import CheckedConfig
from engine.shell.logsetup import RingHandler, logging_follows_realtime
from engine.shell.looplag import LoopLag
from engine.shell.metrics import EngineStats, MetricsServer, render
from engine.shell.realtime import make_realtime, quiet_garbage_collector
from engine.shell.reload import ConfigReloader, ReloadPipeline, apply_groups, plan_reload
from engine.shell.routing import ShellHooks, event_routes, route
from engine.shell.state import (
    load_peer_generations,
    next_generation,
    node_uuid,
    save_peer_generations,
)
from engine.shell.statusdoc import StatusBuilder
from engine.stonith.config import DeviceProbe
from engine.stonith.fencer import Fencer
from engine.transport.base import Link
from engine.transport.ping import make_ping_links
from engine.transport.serial import make_serial_link
from engine.transport.udp import make_udp_link

logger = logging.getLogger("heartbeat")

READ_ROUNDS = 3
"""Reads of every link per wake-up: the batch that woke us, then what came meanwhile."""
STATUS_PUBLISH_PERIOD = 0.05
"""Coalesce pushed status documents to at most twenty per second (only with subscribers)."""
_RUNNER_LOGS = ("Acquiring resource group", "Releasing resource group")
"""Lines the group runner writes itself when it starts the work."""
EXIT_FAILFAST = 1
"""Exit status after a ``failfast`` child died (a failure: ``Restart=on-failure`` applies)."""


class _LoadAverage:
    """The first line of /proc/loadavg (the wire ``ld`` field), read through one open fd."""

    def __init__(self) -> None:
        try:
            self._fd: int | None = os.open("/proc/loadavg", os.O_RDONLY)
        except OSError:
            self._fd = None

    def __call__(self) -> str:
        if self._fd is None:
            return "n/a"
        try:
            return os.pread(self._fd, 128, 0).decode("ascii", "replace").strip() or "n/a"
        except OSError:
            return "n/a"


class Engine:
    """One running node: the cores, the links, the workers, the control socket.

    Membership events go through one table (``routing.event_routes``); the control
    socket's handler (``commands.EngineControl``) and the status document
    (``statusdoc.StatusBuilder``) see the engine through ``view.EngineView`` (read-only)
    and change it only through ``pump``, ``status_changed``, ``timeline`` and
    ``set_link_cut`` (``view.ControlEffects``).
    """

    def __init__(
        self,
        config: ClusterConfig,
        state_dir: Path,
        ring: RingHandler,
        *,
        bind_address: str = "",
        allow_fault_injection: bool = False,
        control_socket: Path | None = None,
        metrics_address: tuple[str, int] | None = None,
        probe: DeviceProbe | None = None,
    ) -> None:
        self.config = config
        self.state_dir = state_dir
        self.ring = ring
        self.bind_address = bind_address
        self.allow_fault_injection = allow_fault_injection
        self.loop = asyncio.get_running_loop()
        self.links: list[Link] = []
        self.generation = next_generation(state_dir, config.hbgenmethod)
        logger.info("Heartbeat generation: %d", self.generation)
        self.uuid = node_uuid(state_dir, config.uuidfrom, config.node_name)
        self.auth = Authenticator(config.auth)
        now = self.loop.time()
        self.membership = Membership(
            config,
            self.auth,
            uuid=self.uuid,
            generation=self.generation,
            now=now,
            load_average=_LoadAverage(),
            peer_generations=load_peer_generations(state_dir),
        )
        self.fencer = Fencer(config, probe=probe)  # probed at start-up (load_checked)
        fence = self.fencer.settings
        self.policy: ResourcePolicy | None = (
            None
            if config.crm
            else ResourcePolicy(
                config,
                now,
                fence_delay=fence.delay,
                fence_retry=(fence.retry_min, fence.retry_max),
            )
        )
        self.actions = ActionWorker(
            config,
            state_dir,
            self._action_finished,
            fencer=self.fencer,
            monitored=self._monitor_finished,
        )
        self.status_doc = StatusBuilder(self, self.loop.call_soon)
        self.control = ControlServer(
            control_socket or state_dir / "control.sock",
            EngineControl(self, self, self.status_doc),
            log_history=ring.lines,
        )
        self.children = ChildManager(config.children, on_failfast=self._on_failfast)
        self.stats = EngineStats()
        self.lag = LoopLag(config.timing.warntime_ms / 4)
        self.metrics: MetricsServer | None = None
        if metrics_address is not None:
            self.metrics = MetricsServer(*metrics_address, self.scrape_metrics)
        self._timer: asyncio.TimerHandle | None = None
        self._stopping = False
        self._stopped = asyncio.Event()
        self._exit_code = 0
        self._status_handle: asyncio.TimerHandle | None = None
        self._last_status_push = 0.0
        self.last_change: dict[str, Any] = {"time": time.time(), "what": "started", "reason": ""}
        self._pumping = False
        self._polling = False
        self._bad_log = BadPacketLog()
        self._saved_generations = load_peer_generations(state_dir)
        self.reloads = ReloadPipeline(lambda: self.config, self.apply_reload)
        self.reloader = ConfigReloader(Path(config.config_dir), self.reloads.request)
        self.routes = event_routes(
            ShellHooks(
                log_rejected=self._log_rejected,
                timeline=self.timeline,
                remember_generations=self._remember_generations,
                comm_up=self._on_comm_up,
            ),
            self.policy,
        )

    def now(self) -> float:
        """The loop's monotonic time (what the cores are given)."""
        return self.loop.time()

    # ------------------------------------------------------------- lifecycle

    async def run(self) -> int:
        """Open everything, heartbeat until told to stop, then leave gracefully."""
        quiet_garbage_collector()
        self.lag.install()
        if self.config.realtime:
            make_realtime(self.config.rtprio)
            logging_follows_realtime()
        if self.policy is not None and await self.actions.release_leftovers():
            logger.critical(
                "resources left running from before could not be stopped; not joining the "
                "cluster (the peer could start them too). Stop them by hand, then start again."
            )
            return 1
        await self._open_links()
        await self.control.start()
        if self.metrics is not None:
            await self.metrics.start()
        self.ring.listener = self._publish_log
        self._install_signals()
        self.reloader.start()
        self.membership.start(self.loop.time(), time.time())
        self.pump()
        sdnotify.notify("READY=1", f"STATUS=heartbeating on {len(self.links)} link(s)")
        self._schedule_watchdog(sdnotify.watchdog_interval())
        await self._stopped.wait()
        await self._close()
        return self._exit_code

    async def _open_links(self) -> None:
        for plan in plan_links(self.config):
            link: Link
            if plan.kind is MediumKind.SERIAL:
                # serial delivers classic texts; decode_datagram accepts them as they are
                link = make_serial_link(plan, plan.media[0].baud, self.auth)
            else:
                link = make_udp_link(
                    plan, self.config.udpport, self.bind_address, self._on_readable
                )
            await link.open(self._on_datagram)
            self.links.append(link)
        for ping_link in make_ping_links(self.config, self.auth):
            await ping_link.open(self._on_datagram)
            self.links.append(ping_link)

    def _schedule_watchdog(self, interval: float | None) -> None:
        """``WatchdogSec=``: ping systemd from the loop, so a stalled loop gets restarted."""
        if interval is None or self._stopped.is_set():
            return
        sdnotify.notify("WATCHDOG=1")
        self.loop.call_later(interval, self._schedule_watchdog, interval)

    def _install_signals(self) -> None:
        self.loop.add_signal_handler(signal.SIGTERM, self.request_stop)
        self.loop.add_signal_handler(signal.SIGINT, self.request_stop)
        self.loop.add_signal_handler(signal.SIGHUP, self.reloader.on_sighup)
        for sig in (signal.SIGPIPE, signal.SIGTTOU, signal.SIGTTIN):
            with contextlib.suppress(ValueError, OSError):
                signal.signal(sig, signal.SIG_IGN)

    def request_stop(self) -> None:
        """SIGTERM: graceful leave; a second one forces the exit."""
        if self._stopping:
            logger.warning("second stop request: exiting now without releasing resources")
            self._stopped.set()
            return
        self._stopping = True
        sdnotify.notify("STOPPING=1", "STATUS=releasing resources and leaving the cluster")
        logger.info("Heartbeat shutdown in progress. (%d)", os.getpid())
        if self.policy is None:
            self._send_shutdone()
            self._finish_stop()
            return
        refusal = self.policy.request_shutdown(self.loop.time())
        if refusal:
            logger.warning("shutdown: %s", refusal)
        self.pump()

    def _on_failfast(self, spec: ChildSpec, why: str) -> None:
        """A ``failfast`` child died: Heartbeat reboots the machine here (spec §9.6).

        We give the node up instead: every group is released at once (no waiting for a
        stable cluster), the peer is told (``shutdone``) so it takes over without fencing
        us, and the engine exits with status 1, so the service manager restarts it as
        the reboot restarts Heartbeat. A stop that fails blocks the exit, as in a
        graceful shutdown (the peer fences us before starting that group).
        """
        reason = (
            f'failfast client "{spec.command}" {why}: giving this node up (Heartbeat '
            "reboots here): releasing every resource group at once, then exiting with 1"
        )
        self._exit_code = EXIT_FAILFAST
        leaving = self._stopping
        self._stopping = True
        if not leaving:
            sdnotify.notify("STOPPING=1", "STATUS=failfast client died: giving the node up")
        if self.policy is not None:
            self.policy.give_up(reason, self.loop.time())
            self.pump()
            return
        hb_log("CRIT", reason)
        self.timeline("failfast", self.config.node_name, "", reason)
        if not leaving:
            self._send_shutdone()
            self._finish_stop()

    def _send_shutdone(self) -> None:
        from engine.protocol.message import Message

        msg = Message.of(("t", "shutdone"), ("st", "dead"))
        self.membership.send(msg, self.loop.time(), time.time())
        self._flush_outbound()

    def _finish_stop(self) -> None:
        logger.info("%s Heartbeat shutdown complete.", self.config.node_name)
        self._stopped.set()

    async def _close(self) -> None:
        self.lag.uninstall()
        if self._timer is not None:
            self._timer.cancel()
        await self.children.stop()
        await self.actions.close()
        await self.control.close()
        await self.reloader.close()
        await self.reloads.close()
        if self.metrics is not None:
            await self.metrics.close()
        for link in self.links:
            link.close()

    # ---------------------------------------------------------------- inputs

    def _on_readable(self) -> None:
        """A UDP socket is readable: read every link (the copy of a packet on the next
        medium usually is there too), act once for the batch, and read once more for
        copies that arrived meanwhile (each saves a wake-up of its own)."""
        for _ in range(READ_ROUNDS):
            self._polling = True
            try:
                got = self._poll_links()
            finally:
                self._polling = False
            if not got:
                return
            self._after_input()

    def _on_datagram(self, data: bytes, link: str) -> None:
        accepted = self.membership.receive(data, link, self.loop.time(), time.time())
        if accepted and self.metrics is not None:
            self.stats.observe_links(self.membership.nodes.values())
        if not (self._polling or self._pumping):
            self._after_input()  # serial and ping links deliver one message at a time

    def _after_input(self) -> None:
        """Pump only when the input produced work. A heartbeat that changes nothing (the
        steady state) needs no pump: deadlines only move later, and the timer is left
        alone when it fires earlier than needed."""
        if self.membership.has_work():
            self.pump()
            return
        # Garbage and forgeries change nothing: log them (rate-limited) and go back to
        # sleep without touching timers, so a flood costs as little as possible.
        for event in self.membership.drain_events():
            if isinstance(event, ev.PacketRejected):
                self._log_rejected(event)
        self.status_changed()

    def _on_timer(self) -> None:
        self._timer = None
        now, wall = self.loop.time(), time.time()
        self._log_bad_summary(now)
        self._save_new_generations()
        self.membership.tick(now, wall)
        if self.policy is not None:
            self.policy.tick(now)
        self.pump()

    def _action_finished(self, action_id: int, ok: bool, reason: str, fence_node: str) -> None:
        if self.policy is None:
            return
        now = self.loop.time()
        self.stats.action_finished(action_id, ok, now)
        if fence_node:
            self.policy.on_fence_done(fence_node, ok, reason, now)
        else:
            self.policy.on_action_done(action_id, ok, reason, now)
        self.pump()

    def _monitor_finished(self, action_id: int, checks: Sequence[MonitorCheck]) -> None:
        if self.policy is None:
            return
        self.stats.monitor_finished(checks)
        self.policy.on_monitor_done(action_id, checks, self.loop.time())
        self.pump()

    # ------------------------------------------------------------------ pump

    def pump(self) -> None:
        """Drain the cores until quiet, act on what they said, re-arm the timer."""
        if self._pumping:
            return
        self._pumping = True
        try:
            for _ in range(50):
                if not self._pump_once():
                    break
        except Exception:
            logger.exception("internal error while processing; continuing")
        finally:
            self._pumping = False
        self._rearm()
        self.status_changed()

    def _pump_once(self) -> bool:
        busy = False
        now, wall = self.loop.time(), time.time()
        for event in self.membership.drain_events():
            busy = True
            route(self.routes, event, now)
        if self.policy is not None:
            for msg in self.policy.drain_outbound():
                busy = True
                self.membership.send(msg, now, wall)
            for action in self.policy.drain_actions():
                busy = True
                self.stats.action_submitted(action.id, type(action).__name__.lower(), now)
                self.actions.submit(action)
            for pev in self.policy.drain_events():
                busy = True
                self._on_policy_event(pev)
            if self._stopping and self.policy.shutdown_complete and not self._stopped.is_set():
                self._flush_outbound()
                self._finish_stop()
        if self._flush_outbound():
            busy = True
        return busy

    def _poll_links(self) -> bool:
        """Read what is already waiting on every link (our own echoes, which arrive
        while we send, and a peer's copy on the next medium) in this wake-up."""
        return sum(link.poll() for link in self.links) > 0

    def _flush_outbound(self) -> bool:
        out = self.membership.drain_outbound()
        if not out:
            return False
        sent_on: set[str] = set()
        for data in out:
            for link in self.links:
                if link.send(data):
                    sent_on.add(link.name)
        if sent_on:
            self.membership.own_links_sent(sent_on, self.loop.time())
        return True

    def _rearm(self) -> None:
        """Keep one timer at the earliest deadline of the cores.

        A timer that would fire *earlier* than needed is left alone (it wakes, finds
        nothing due, re-arms): most inputs only push deadlines later, and moving the
        timer on every packet would cost more than the occasional early wake-up.
        """
        deadline = self.membership.next_deadline()
        if self.policy is not None:
            policy_deadline = self.policy.next_deadline()
            if policy_deadline is not None:
                deadline = min(deadline, policy_deadline)
        if self._timer is not None:
            if self._timer.when() <= deadline + 0.0005:
                return
            self._timer.cancel()
        self._timer = self.loop.call_at(max(deadline, self.loop.time()), self._on_timer)

    # -------------------------------------------------------------- routing

    def _log_rejected(self, event: ev.PacketRejected) -> None:
        """Bad packets are counted always and logged at a bounded rate."""
        if not self.config.log.log_badpack:
            return
        now = self.loop.time()
        if self._bad_log.admit(event.reason, now):
            logger.warning("%s", event.text)
        self._log_bad_summary(now)

    def _log_bad_summary(self, now: float) -> None:
        summary = self._bad_log.summary(now)
        if summary:
            logger.warning("%s", summary)

    def _save_new_generations(self) -> None:
        """Persist peer generations as soon as they are learnt (replay guard, restarts)."""
        current = {n.name: n.track.generation for n in self.membership.peers()}
        if any(gen and self._saved_generations.get(name) != gen for name, gen in current.items()):
            self._remember_generations()

    def apply_reload(self, trigger: str, checked: CheckedConfig) -> None:
        """Apply a configuration the reload pipeline read and probed off the loop
        (watchfiles, SIGHUP); keep the old config if it is invalid."""
        held = {g["key"]: g.get("held_by") for g in self.status_doc.groups()}
        plan = plan_reload(self.config, checked.config, checked.issues, held)
        level = "info" if plan.accepted and not plan.refused else "WARN"
        hb_log(level, f"{trigger}: {plan.summary()}")
        for line in plan.errors:
            hb_log("ERROR", f"reload: {line}")
        for line in plan.refused:
            hb_log("WARN", f"reload refused: {line}")
        if plan.config is not None:
            now = self.loop.time()
            self.config = plan.config
            self.lag.set_warn_ms(plan.config.timing.warntime_ms / 4)
            if plan.auth_changed:
                self.auth = Authenticator(plan.config.auth)
            self.membership.apply_config(plan.config, self.auth, now)
            if plan.changed_groups and self.policy is not None:
                apply_groups(self.policy, self.actions, plan.config)
            if self.policy is not None:
                self.policy.set_monitor(plan.config.monitor, now)
        self.timeline("reload", self.config.node_name, "", plan.summary())
        self.pump()

    def _on_comm_up(self) -> None:
        self.children.start()  # respawn/failfast children start at comm-up (§9.6)
        self.fencer.start_status_checks()  # then every stonith_check_interval (§8.2)

    def _remember_generations(self) -> None:
        generations = {
            n.name: n.track.generation for n in self.membership.peers() if n.track.generation
        }
        self._saved_generations = dict(generations)
        try:
            save_peer_generations(self.state_dir, generations)
        except OSError as exc:
            logger.warning("cannot save peer generations: %s", exc)

    def _on_policy_event(self, pev: PolicyEvent) -> None:
        self.stats.policy_event(pev.kind, pev.log)
        if pev.log and not pev.log.startswith(_RUNNER_LOGS):
            hb_log(pev.level, pev.log)
        if pev.reason and pev.reason != pev.log:
            hb_log("debug" if pev.kind == "audit" else "info", f"{pev.kind}: {pev.reason}")
        if pev.kind != "audit" or pev.level in ("ERROR", "CRIT"):
            self.timeline(pev.kind, pev.node, pev.group, pev.reason or pev.log)

    def timeline(self, kind: str, node: str, group: str, reason: str, outcome: str = "") -> None:
        """A timeline entry: published to subscribers, kept as ``last_change``."""
        entry = {"time": time.time(), "kind": kind, "node": node, "group": group, "reason": reason}
        if outcome:  # the end of an operator request: "done" or "failed"
            entry["outcome"] = outcome
        self.last_change = {"time": entry["time"], "what": kind, "reason": reason}
        sdnotify.notify(f"STATUS=last change: {kind} {node} {group}".rstrip())
        self.control.publish("timeline", entry)

    def set_link_cut(self, name: str, cut: bool) -> bool:
        """Fault injection (``debug_link``): drop or pass a link's traffic."""
        for link in self.links:
            if link.name == name:
                link.cut = cut
                return True
        return False

    def _publish_log(self, entry: dict[str, Any]) -> None:
        self.control.publish("log", entry)

    # ------------------------------------------------------- status document

    def status(self) -> dict[str, Any]:
        """The ``status --json`` document (built at most once per turn of the loop)."""
        return self.status_doc.status()

    def status_changed(self) -> None:
        """Push the status document to subscribers: at once after a quiet spell, then at
        most every STATUS_PUBLISH_PERIOD (a burst of changes costs one document)."""
        self.status_doc.forget()
        if self._status_handle is not None or not self.control.subscriber_count:
            return
        since = self.loop.time() - self._last_status_push
        delay = 0.0 if since >= STATUS_PUBLISH_PERIOD else STATUS_PUBLISH_PERIOD - since
        self._status_handle = self.loop.call_later(delay, self._push_status)

    def _push_status(self) -> None:
        self._status_handle = None
        self._last_status_push = self.loop.time()
        self.control.publish("status", self.status())

    def scrape_metrics(self) -> str:
        """The Prometheus text of ``--metrics`` (engine/shell/metrics.py)."""
        return render(self.status(), self.stats)
