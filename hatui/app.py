"""The operator console: summary, links, resource chains, log tail and timeline.

The app stays thin: the bridge turns engine events into messages, the view model turns
the status document into rows, and the widgets render them. Ages ("time since last
heartbeat") are recomputed locally four times a second from the receive time, so the
column moves smoothly without asking the engine. When the engine is gone, every panel
says how old its data is (``Picture.stale``) and the summary claims nothing.

Text from outside (node and link names, resource arguments, reasons, log lines, the
filter, peer credentials, engine errors) is never parsed as markup: widgets get plain
``Text``/``Content`` or ``markup=False``, and notifications are sent with
``markup=False``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Input

from engine.control.schema import DISCONNECTED, ControlError
from engine.control.status import cluster_nodes
from hatui.bridge import EngineBridge, call_once, describe_error
from hatui.lifeline import Lifeline
from hatui.messages import ActionResult, ConnectionChanged, LogBatch, StatusUpdated, TimelineBatch
from hatui.screens.help import HelpScreen
from hatui.screens.modals import ChoiceModal, ConfirmModal, MeatwareModal, StonithModal
from hatui.viewmodel import (
    Banner,
    Connection,
    LinkState,
    Picture,
    Severity,
    TimelineRow,
    build_picture,
    format_clock,
    holders_text,
    read_status,
    timeline_row,
)
from hatui.widgets.chains import ChainPanel
from hatui.widgets.links import LinksPanel
from hatui.widgets.logtail import LogPanel
from hatui.widgets.summary import SummaryBar
from hatui.widgets.timeline import TimelinePanel

logger = logging.getLogger(__name__)

REFRESH_S = 0.25
"""How often the age column and the stale check are recomputed."""

PanelT = TypeVar("PanelT", bound=Widget)
OPERATOR_ACTIONS = frozenset({"standby", "takeover", "failback", "stonith", "meatware_confirm"})
PANELS = {"links": "#links", "log": "#log-panel", "timeline": "#timeline"}


@dataclasses.dataclass(frozen=True, slots=True)
class PendingAction:
    """An accepted action whose end the console still waits for, to report it "done"."""

    label: str
    holders_before: str
    """Who held which group when it was sent: standby/takeover are done when this moved."""
    fence_node: str = ""
    """STONITH: done when the engine's timeline reports the end of this node's reset."""


class HaTuiApp(App[None]):
    """Attach to one engine's control socket and show the cluster live."""

    CSS_PATH = Path(__file__).with_name("app.tcss")
    """Absolute: a subclass in another directory (tests, tools) finds it too."""
    TITLE = "hatui"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]  # noqa: RUF012 (Textual API)
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]  # noqa: RUF012 (Textual API)
    HELP_KEYS: ClassVar[list[tuple[str, str]]] = []
    SOURCE: ClassVar[str] = "engine"
    """What this console follows, in the banners' and the timeline's words."""
    """Keys of a subclass, listed in the help screen (key, what it does)."""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "standby", "Standby"),
        Binding("t", "takeover", "Takeover"),
        Binding("f", "failback", "Failback", show=False),
        Binding("S", "stonith", "STONITH"),
        Binding("M", "meatware_confirm", "Meatware OK"),
        # failback and the panel toggles are in help (?) and the palette: at 80 columns
        # the footer would otherwise push "? Help" and "q Quit" off the screen
        Binding("n", "toggle_panel('links')", "Links", show=False),
        Binding("l", "toggle_panel('log')", "Log", show=False),
        Binding("e", "toggle_panel('timeline')", "Events", show=False),
        Binding("p", "toggle_follow", "Pause log", show=False),
        Binding("slash", "focus_filter", "Filter log", show=False),
        Binding("escape", "leave_filter", "Leave filter", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        socket_path: Path | None = None,
        *,
        status: dict[str, Any] | None = None,
        hello: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        logs: Iterable[Mapping[str, Any]] = (),
        timeline: Iterable[Mapping[str, Any]] = (),
    ) -> None:
        """Attach to ``socket_path``; or, for tests and screenshots, show ``status``.

        With ``status`` and no socket the app never connects: it renders that document
        as received "now" by ``clock``, so a frozen clock gives deterministic timing text.
        """
        super().__init__()
        self.socket_path = socket_path
        self._clock = clock
        self._status = status
        self._received_at = clock()
        self._hello: dict[str, Any] = hello or {}
        fixed = socket_path is None and status is not None
        state = LinkState.CONNECTED if fixed else LinkState.CONNECTING
        self._connection = Connection(state, source=self.SOURCE)
        self._initial_logs = list(logs)
        self._initial_timeline = list(timeline)
        self._pending: PendingAction | None = None
        self._fence_ends: dict[str, tuple[bool, str]] = {}
        """Node → (reset ok, reason) of resets that ended and no pending STONITH took yet."""
        self.picture: Picture | None = None
        self._lifeline: Lifeline | None = None

    def compose(self) -> ComposeResult:
        """Summary on top, then links, chains, and log + timeline at the bottom."""
        yield SummaryBar()
        with Vertical(id="body"):
            yield LinksPanel()
            yield ChainPanel()
            with Vertical(id="bottom"):
                yield LogPanel()
                yield TimelinePanel()
        yield Footer(compact=True)
        bridge = self.make_bridge()
        if bridge is not None:
            yield bridge

    def make_bridge(self) -> EngineBridge | None:
        """The widget that follows the cluster (None: show the fixed document only).
        A back end other than the engine's socket returns a bridge with its opener."""
        if self.socket_path is None:
            return None
        return EngineBridge(self.socket_path, self._clock)

    async def call_engine(self, cmd: str, **args: Any) -> Any:
        """Run one operator command on its own connection (raises ControlError/OSError);
        a back end other than the engine's socket carries it out its own way."""
        if self.socket_path is None:
            raise ControlError(DISCONNECTED, "not connected to an engine")
        return await call_once(self.socket_path, cmd, **args)

    def on_mount(self) -> None:
        """Show what we have, then keep the age column moving."""
        self.query_one(LogPanel).add_records(self._initial_logs)
        self.query_one(TimelinePanel).add_rows([timeline_row(e) for e in self._initial_timeline])
        self.redraw()
        self.set_interval(REFRESH_S, self.redraw)
        if self.is_web:  # served to a browser: end with it (hatui.lifeline says why)
            self._lifeline = Lifeline(self.exit, asyncio.get_running_loop())
            self._lifeline.start()

    def on_exit_app(self) -> None:
        """Every way out (q, the server's quit, SIGTERM) passes here: arm the lifeline."""
        if self._lifeline is not None:
            self._lifeline.exit_requested()

    # ---------------------------------------------------------------- engine data

    @property
    def status(self) -> dict[str, Any] | None:
        """The newest status document (None before the first one)."""
        return self._status

    def _last_event_at(self) -> float | None:
        """When the engine last said anything (the document's receipt before a new
        bridge, e.g. after ``reattach``, heard from its engine)."""
        bridges = self.query(EngineBridge)
        heard = bridges.first().last_event_at if bridges else None
        return self._received_at if heard is None else heard

    def redraw(self) -> None:
        """Recompute the picture from the newest document and the current time."""
        if not self.query(SummaryBar):
            return  # shutting down: the 0.25 s timer can fire after the widgets are gone
        picture = build_picture(
            self._status, self._connection, self._clock(), self._received_at, self._last_event_at()
        )
        reason = self.action_block_reason()
        if reason and self._connection.state is LinkState.CONNECTED:
            extra = Banner(Severity.INFO, f"◑ actions disabled: {reason}")
            picture = dataclasses.replace(picture, banners=(*picture.banners, extra))
        self.picture = picture
        try:
            summary = self.query_one(SummaryBar)
            summary.show(picture.summary, picture.health, picture.banners, picture.stale)
            links = self.query_one(LinksPanel)
            links.show(picture.links, picture.link_headers)
            chains = self.query_one(ChainPanel)
            chains.show(picture.chains, picture.children)
            for panel in (links, chains, self.query_one(LogPanel), self.query_one(TimelinePanel)):
                panel.show_stale(picture.stale)
        except NoMatches:
            return  # shutting down: the panels' children are removed before the panels

    def _panel(self, kind: type[PanelT]) -> PanelT | None:
        """A panel of the main screen; None while the app shuts down (a message sent
        before the quit can arrive after the widgets were removed)."""
        try:
            return self.query_one(kind)
        except NoMatches:
            return None

    def on_status_updated(self, message: StatusUpdated) -> None:
        """Keep the newest document; report a pending action once it took effect."""
        waiting = self._meatware_waiting()
        self._status = message.status
        self._received_at = message.received_at
        self._check_pending()
        if waiting != self._meatware_waiting():
            self.refresh_bindings()  # the M key shows only while a node waits
        self.redraw()

    def on_log_batch(self, message: LogBatch) -> None:
        """Append the engine's log lines in one write (its history first, marked)."""
        log = self._panel(LogPanel)
        if log is None:
            return
        if message.history_of:
            who = message.history_of
            log.add_marker(f"-- recent log of {who}, from before this console attached --")
        log.add_records(message.records)

    def on_timeline_batch(self, message: TimelineBatch) -> None:
        """Append timeline events; one may end a pending STONITH."""
        timeline = self._panel(TimelinePanel)
        if timeline is not None:
            timeline.add_rows([timeline_row(e) for e in message.events])
        self._note_fence_ends(message.events)
        self._check_fence_done()

    def on_connection_changed(self, message: ConnectionChanged) -> None:
        """Show connected / reconnecting, and learn what this user may do."""
        was = self._connection.state
        self._connection = dataclasses.replace(message.connection, source=self.SOURCE)
        if message.hello:
            self._hello = message.hello
        if was is not message.connection.state:
            state = message.connection.state.value
            detail = message.connection.error
            self.add_timeline(self.SOURCE, f"{state}{' — ' + detail if detail else ''}")
        self.refresh_bindings()
        self.redraw()

    async def reattach(self, socket_path: Path) -> None:
        """Follow another engine: a new subscription on ``socket_path``; what was shown
        stays (marked stale until the new engine's first snapshot replaces it)."""
        await self.query(EngineBridge).remove()
        self.socket_path = socket_path
        self._connection = Connection(LinkState.CONNECTING, source=self.SOURCE)
        self.refresh_bindings()
        await self.mount(EngineBridge(socket_path, self._clock))
        self.redraw()

    # ------------------------------------------------------------------- actions

    def action_block_reason(self) -> str:
        """Why operator actions are unavailable now ("" when they are allowed)."""
        if self._connection.state is not LinkState.CONNECTED:
            return f"not connected to the {self.SOURCE}"
        peer = self._hello.get("peer")
        if isinstance(peer, Mapping) and peer.get("can_act") is False:
            who = peer.get("user") or f"uid {peer.get('uid', '?')}"
            why = peer.get("reason") or "needs root, the engine's own user or group haclient"
            return f"read-only: {who} may not act ({why})"
        return ""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out operator actions while disconnected or for read-only users."""
        if action == "meatware_confirm" and not self._meatware_waiting():
            return False
        if action in OPERATOR_ACTIONS and self.action_block_reason():
            return None
        return True

    def _meatware_waiting(self) -> list[str]:
        """Nodes whose reset waits for an operator (status["stonith"]["meatware_waiting"])."""
        stonith = read_status(self._status or {}).stonith
        return [] if stonith is None else list(stonith.meatware_waiting)

    def _local_node(self) -> str:
        node = read_status(self._status or {}).node
        return "this node" if node == "?" else node

    def _peer_nodes(self) -> list[str]:
        return [n.name for n in cluster_nodes(read_status(self._status or {})) if n.name != "?"]

    def action_standby(self) -> None:
        """Ask which resources to give away, then send ``standby``."""
        body = (
            f"Give resources held by {self._local_node()} to the peer.\n"
            "all = everything · foreign = only those whose home is the peer · "
            "local = only those whose home is this node"
        )
        choices = [("all", "all"), ("foreign", "foreign"), ("local", "local")]

        def chosen(which: str | None) -> None:
            if which:
                self.send_command("standby", which=which)

        self.push_screen(ChoiceModal("Standby", body, choices), chosen)

    def action_takeover(self) -> None:
        """Confirm, then pull every resource group to this node."""
        body = f"Pull every resource group to {self._local_node()} (hb_takeover all)."
        self._confirm("Takeover", body, "Take over", "takeover", which="all")

    def action_failback(self) -> None:
        """Confirm, then give back the groups whose home is the peer."""
        body = f"{self._local_node()} gives back the groups whose home is the peer."
        self._confirm("Failback", body, "Fail back", "standby", which="failback")

    def _confirm(self, title: str, body: str, label: str, cmd: str, **args: Any) -> None:
        def confirmed(ok: bool | None) -> None:
            if ok:
                self.send_command(cmd, **args)

        self.push_screen(ConfirmModal(title, body, label), confirmed)

    def action_stonith(self) -> None:
        """Fence a node after its name was typed exactly."""

        def typed(node: str | None) -> None:
            if node:
                self.send_command("stonith", node=node)

        self.push_screen(StonithModal(self._peer_nodes(), self._local_node()), typed)

    def action_meatware_confirm(self) -> None:
        """Confirm a manual power-cycle after the node's name was typed exactly."""

        def typed(node: str | None) -> None:
            if node:
                self.send_command("meatware_confirm", node=node)

        self.push_screen(MeatwareModal(self._meatware_waiting(), self._local_node()), typed)

    @work(group="actions", exit_on_error=False)
    async def send_command(self, cmd: str, **args: Any) -> None:
        """Send one operator command and report accepted / refused."""
        label = " ".join([cmd, *(str(v) for v in args.values())])
        before = holders_text(self._status or {})
        fence_node = str(args.get("node", "")) if cmd == "stonith" else ""
        self._fence_ends.pop(fence_node, None)
        try:
            result = await self.call_engine(cmd, **args)
        except ControlError as exc:
            # "failed": the command ran and did not succeed (a back end's tool failed)
            outcome = "failed" if exc.code == "failed" else "refused"
            self.post_message(ActionResult(label, outcome, exc.message))
            return
        except OSError as exc:
            self.post_message(ActionResult(label, "failed", describe_error(exc)))
            return
        self.post_message(ActionResult(label, "accepted", _describe_result(result)))
        # the end may have arrived on the event stream before this reply: check at once
        self._pending = PendingAction(label, before, fence_node)
        self._check_pending()
        self._check_fence_done()

    def on_action_result(self, message: ActionResult) -> None:
        """Show the outcome as a notification and in the timeline."""
        text = f"{message.command}: {message.outcome}"
        if message.detail:
            text += f" — {message.detail}"
        bad = message.outcome in {"refused", "failed"}
        self.notify(text, title="action", severity="error" if bad else "information", markup=False)
        self.add_timeline("action", text, Severity.ERROR if bad else Severity.INFO)
        log = self._panel(LogPanel)
        if log is not None:
            log.add_local("ERROR" if bad else "INFO", text)

    def _check_pending(self) -> None:
        pending = self._pending
        if pending is None or pending.fence_node or self._status is None:
            return
        doc = read_status(self._status)
        stable = doc.resources is None or doc.resources.stable
        now_held = holders_text(doc)
        if stable and now_held != pending.holders_before:
            self._pending = None
            self.post_message(ActionResult(pending.label, "done", f"now {now_held}"))

    def _note_fence_ends(self, events: Iterable[Mapping[str, Any]]) -> None:
        """Remember the engine's ``fence`` entries that end a reset (they have an outcome)."""
        for event in events:
            outcome = event.get("outcome")
            if event.get("kind") == "fence" and outcome:
                ok = outcome == "done"
                self._fence_ends[str(event.get("node"))] = (ok, str(event.get("reason", "")))

    def _check_fence_done(self) -> None:
        """A pending STONITH is done (or failed) once its node's reset ended."""
        pending = self._pending
        if pending is None or not pending.fence_node or pending.fence_node not in self._fence_ends:
            return
        ok, reason = self._fence_ends.pop(pending.fence_node)
        self._pending = None
        self.post_message(ActionResult(pending.label, "done" if ok else "failed", reason))

    def add_timeline(self, kind: str, text: str, severity: Severity = Severity.INFO) -> None:
        """Add a console-side row (action results, connection changes) to the timeline."""
        now = time.time()
        row = TimelineRow(format_clock(now), kind, text, severity, now)
        timeline = self._panel(TimelinePanel)
        if timeline is not None:
            timeline.add_rows([row])

    # -------------------------------------------------------------------- panels

    def action_toggle_panel(self, name: str) -> None:
        """Show or hide one panel."""
        widget = self.query_one(PANELS[name])
        widget.display = not widget.display
        log_hidden = not self.query_one(LogPanel).display
        self.query_one("#bottom").set_class(log_hidden, "-log-hidden")

    def action_toggle_follow(self) -> None:
        """Pause or resume following the log."""
        self.query_one(LogPanel).toggle_follow()

    def action_focus_filter(self) -> None:
        """Show the log filter field and put the cursor in it."""
        self.query_one(LogPanel).open_filter()

    def action_leave_filter(self) -> None:
        """Leave the filter field so single-letter keys work again."""
        if isinstance(self.focused, Input):
            self.set_focus(self.query_one(LinksPanel))
            self.query_one(LogPanel).close_filter()

    def action_help(self) -> None:
        """Show keys and glossary (with this console's own keys)."""
        self.push_screen(HelpScreen(self.HELP_KEYS))

    @on(Input.Submitted, "#log-filter")
    def _filter_submitted(self) -> None:
        self.action_leave_filter()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every operator action and panel toggle is in the command palette too."""
        yield from super().get_system_commands(screen)
        entries = [
            ("Standby…", "Give resources to the peer (all/foreign/local)", "standby"),
            ("Takeover…", "Pull all resources to this node", "takeover"),
            ("Failback…", "Give back the peer's resources", "failback"),
            ("STONITH (fence) a node…", "Power-reset a node; type its name", "stonith"),
            (
                "Meatware: confirm a power-cycle…",
                "Tell the engine a node waiting for meatware was power-cycled by hand",
                "meatware_confirm",
            ),
            ("Toggle nodes & links panel", "Show or hide the links table", "toggle_panel('links')"),
            ("Toggle log panel", "Show or hide the log tail", "toggle_panel('log')"),
            (
                "Toggle timeline panel",
                "Show or hide the event timeline",
                "toggle_panel('timeline')",
            ),
            ("Help", "Keys and glossary", "help"),
        ]
        for title, help_text, action in entries:
            yield SystemCommand(title, help_text, self._palette_callback(action))

    def _palette_callback(self, action: str) -> Callable[[], Any]:
        async def run() -> None:
            name = action.split("(", 1)[0]
            reason = self.action_block_reason()
            if name in OPERATOR_ACTIONS and reason:
                self.notify(f"{name}: {reason}", severity="warning", markup=False)
                return
            await self.run_action(action)

        return run


def _describe_result(result: object) -> str:
    if isinstance(result, Mapping):
        for key in ("effect", "message", "reason", "result"):
            if result.get(key):
                return str(result[key])
        return ", ".join(f"{k}={v}" for k, v in result.items())
    return "" if result is None else str(result)
