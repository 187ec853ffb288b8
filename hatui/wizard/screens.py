"""``hatui setup``: the guided first-time setup, one step at a time.

The app owns one ``WizardState``; each step widget copies its form into it and returns
the state's own check, so a refused entry stays on its step with the reason shown.
The review step renders the files, validates them with the engine's ``load_config``
(and, when they name a STONITH device, with ``haengine --check-config``, which makes
the plugin answer), checks the cluster IPs are free, shows the diff and writes only on
request: files that exist with other content, or a cluster IP that answers on the
network, need their own confirm box ticked first.

Every text shown here that comes from outside (validator findings, addresses, what
the user typed, program output) is plain ``Content``: a ``[`` in an address must
never be read as markup. Enter in a field advances like PgDn; a step whose check
only warns stays once with the warnings on screen, then lets the next Next through.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import ClassVar

from rich.syntax import Syntax
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Button, Checkbox, ContentSwitcher, Footer, Input, Static

from engine.config import Issue, Severity
from engine.process.runner import run_program
from hatui.wizard.discover import (
    Discovery,
    InUse,
    check_cluster_ips,
    discover,
    local_addresses,
)
from hatui.wizard.enginecheck import EngineVerdict, engine_check
from hatui.wizard.livetest import live_test
from hatui.wizard.render import (
    OverwriteRefused,
    copy_command,
    copy_instructions,
    full_diff,
    plan_changes,
    read_existing,
    write_files,
)
from hatui.wizard.state import WizardState, errors_of
from hatui.wizard.steps import (
    AuthStep,
    LoggingStep,
    MediaStep,
    NodeStep,
    PeersStep,
    ResourcesStep,
    ReviewStep,
    Step,
    StonithStep,
    TimingStep,
)

logger = logging.getLogger(__name__)


def _issue_lines(issues: list[Issue]) -> str:
    """One line per finding, marked by severity (plain text: show it as Content)."""
    marks = {Severity.ERROR: "✖", Severity.WARNING: "▲", Severity.INFO: "·"}
    return "\n".join(f"{marks[i.severity]} {i}" for i in issues)


SAME_FILES = (
    "One set of files for every node: each ucast device lists every node's address and "
    "a node skips the line naming its own, so the peers get these three files unchanged."
)


class SetupApp(App[int]):
    """Walk the steps, then write ``ha.cf``, ``authkeys`` and ``haresources``."""

    TITLE = "hatui setup"
    CSS = """
    ContentSwitcher { height: 1fr; }
    #step-title { height: 1; background: $primary; color: $text; padding: 0 1; }
    #problems { height: auto; max-height: 5; padding: 0 1; color: $error; }
    #problems.-ok { color: $text-muted; }
    #problems.-warn { color: $warning; }
    #nav { height: 3; align-horizontal: right; }
    #nav Button { margin: 0 1; min-width: 10; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("pagedown", "next", "Next", priority=True),
        Binding("enter", "next", "Next", show=False),  # when no field took the Enter
        Binding("pageup", "prev_step", "Back", priority=True),
        Binding("ctrl+w", "write", "Write (review)", priority=True),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self,
        config_dir: Path,
        *,
        state: WizardState | None = None,
        discovery: Discovery | None = None,
        uname: str | None = None,
        bind_address: str = "0.0.0.0",
        probe_ips: bool = True,
    ) -> None:
        """Start from ``state``, else the files in ``config_dir``, else defaults.

        ``probe_ips=False`` skips the ping/arping of cluster IPs (tests, screenshots).
        """
        super().__init__()
        self.config_dir = config_dir
        self.uname = (uname or os.uname().nodename).lower()
        imported = None if state is not None else read_existing(config_dir)
        self.imported = imported is not None
        self.state = state or imported or WizardState(node=self.uname)
        self.found = discovery if discovery is not None else discover(config_dir)
        self.bind_address = bind_address
        self.probe_ips = probe_ips
        self.steps: list[Step] = [
            NodeStep(self.uname),
            PeersStep(id="step-peers"),
            MediaStep(id="step-media"),
            TimingStep(id="step-timing"),
            AuthStep(id="step-auth"),
            ResourcesStep(id="step-resources"),
            StonithStep(id="step-stonith"),
            LoggingStep(id="step-logging"),
            ReviewStep(id="step-review"),
        ]
        self.acknowledged: dict[int, list[str]] = {}
        """Warnings shown once per step; the same warnings let the next Next through."""
        self.index = 0
        self.written = False
        self.findings: list[Issue] = []
        self.diff_text = ""
        self.ip_check: list[InUse] | None = None
        """The cluster-IP probe's results; None while it runs."""
        self.engine_verdict: EngineVerdict | None = None
        """``haengine --check-config`` on the files (STONITH probed); None while it runs."""

    def compose(self) -> ComposeResult:
        """Title, the current step, findings, navigation."""
        yield Static(id="step-title")
        with ContentSwitcher(initial=self.steps[0].id):
            yield from self.steps
        yield Static(id="problems")
        with Horizontal(id="nav"):
            yield Button("◀ Back", id="back")
            yield Button("Next ▶", id="next", variant="primary")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        """Show the first step."""
        for step in self.steps:
            step.load(self.state, self.found)
        origin = f"imported from {self.config_dir}" if self.imported else "new configuration"
        self.show_step(0, note=f"{origin}; files go to {self.config_dir}")

    @property
    def step(self) -> Step:
        """The step on screen."""
        return self.steps[self.index]

    def show_step(self, index: int, note: str = "") -> None:
        """Switch to step ``index`` and (re)load it."""
        self.index = index
        step = self.steps[index]
        step.load(self.state, self.found)
        self.query_one(ContentSwitcher).current = step.id
        title = f" Step {index + 1}/{len(self.steps)} · {step.TITLE}"
        self.query_one("#step-title", Static).update(Content(title))
        self.set_problems(note, ok=True)
        if isinstance(step, ReviewStep):
            self.review()
        self._focus_first()  # now: keys typed right after Enter land in this step
        self.call_after_refresh(self._focus_first, keep=True)

    def _focus_first(self, keep: bool = False) -> None:
        """Focus the step's first field (``keep``: unless one of its widgets has it)."""
        step = self.step
        if keep and self.focused is not None and step in self.focused.ancestors:
            return
        chosen = list(step.query(step.FIRST)) if step.FIRST else []
        for widget in [*chosen, *step.query("*")]:
            if widget.focusable:  # set_focus at once: widget.focus() waits a turn, and a
                self.screen.set_focus(widget, scroll_visible=False)  # key may come first
                return

    def set_problems(self, text: str, ok: bool = False, warn: bool = False) -> None:
        """Show the findings line: plain text, red unless ``ok`` (grey) or ``warn``."""
        problems = self.query_one("#problems", Static)
        problems.update(Content(text))
        problems.set_class(ok and not warn, "-ok")
        problems.set_class(warn, "-warn")

    # ---------------------------------------------------------------- navigation

    def action_next(self) -> None:
        """Store the step; stay with the reasons when it is refused."""
        if isinstance(self.step, ReviewStep):
            return
        issues = self.step.store(self.state)
        if errors_of(issues):
            self.set_problems(_issue_lines(issues))
            return
        texts = [str(issue) for issue in issues]
        if texts and self.acknowledged.get(self.index) != texts:
            self.acknowledged[self.index] = texts
            note = "\nNext (PgDn or Enter) again to go on anyway"
            self.set_problems(_issue_lines(issues) + note, warn=True)
            return
        self.show_step(self.index + 1)

    @on(Input.Submitted)
    def _enter_advances(self, event: Input.Submitted) -> None:
        """Enter in a field is Next (the resources form's fields stop it: Enter adds)."""
        self.action_next()

    def action_prev_step(self) -> None:
        """Keep what was typed (unchecked) and go back one step."""
        if self.index > 0:
            if not isinstance(self.step, ReviewStep):
                self.step.store(self.state)
            self.show_step(self.index - 1)

    def action_write(self) -> None:
        """Ctrl+W on the review step: the same as the Write button."""
        if isinstance(self.step, ReviewStep):
            self.write()

    @on(Button.Pressed, "#next")
    def _next_pressed(self) -> None:
        self.action_next()

    @on(Button.Pressed, "#back")
    def _back_pressed(self) -> None:
        self.action_prev_step()

    # ---------------------------------------------------------------- review

    def review(self) -> None:
        """Validate with the engine, show findings and the diff."""
        local = local_addresses(self.found.interfaces)
        issues = self.state.findings(self.uname, local, config_dir=self.config_dir)
        self.findings = issues
        probe = bool(self.state.stonith) and not errors_of(issues)
        if errors_of(issues):
            verdict = "✖ configuration refused: fix the errors above before writing"
        elif probe:
            verdict = "✔ accepted by the engine's validation; its STONITH probe follows"
        else:
            verdict = "✔ accepted by the engine's --check-config validation"
        text = _issue_lines(issues)
        self.query_one("#review-findings", Static).update(Content(f"{text}\n{verdict}".strip()))
        self.query_one("#same-files", Static).update(Content(SAME_FILES))
        changes = plan_changes(self.config_dir, self.state.render())
        diff = self.diff_text = full_diff(changes)
        self.query_one("#diff", Static).update(Syntax(diff, "diff", theme="ansi_dark"))
        confirm = self.query_one("#confirm", Checkbox)
        confirm.display = any(change.replaces for change in changes)
        self.ip_check = None
        ip_confirm = self.query_one("#ip-confirm", Checkbox)
        ip_confirm.display, ip_confirm.value = False, False
        addresses = self.state.cluster_ips()
        self._say("#ip-check", "checking the cluster IPs…" if addresses and self.probe_ips else "")
        self.probe_cluster_ips(addresses)
        self.engine_verdict = None
        self._say("#engine-check", "probing the STONITH device (haengine --check-config)…"
                  if probe else "")  # fmt: skip
        if probe:
            self.check_with_engine(self.state.render().by_name(), self.state.node)

    @work(thread=True, exclusive=True, group="engine-check")
    def check_with_engine(self, files: dict[str, str], node: str) -> None:
        """The engine's own check, STONITH probe included, off the UI thread."""
        verdict = engine_check(files, node, self.config_dir)
        self.call_from_thread(self._engine_checked, files, verdict)

    def _engine_checked(self, files: dict[str, str], verdict: EngineVerdict) -> None:
        if files != self.state.render().by_name():
            return  # the operator changed something since: a newer check is running
        self.engine_verdict = verdict
        self._say("#engine-check", verdict.describe())

    def _engine_refusal(self) -> str:
        """Why the engine's check forbids writing now ("" when it allows it)."""
        if not self.state.stonith:
            return ""
        if self.engine_verdict is None:
            return "the STONITH probe is still running; write again in a moment"
        return self.engine_verdict.refusal()

    @work(thread=True, exclusive=True, group="ip-check")
    def probe_cluster_ips(self, addresses: list[tuple[str, str]]) -> None:
        """arping/ping each cluster IP off the UI thread (skipped when probing is off)."""
        if self.probe_ips:
            found = check_cluster_ips(addresses, self.found.interfaces)
        else:
            found = [InUse(a, None, "probing disabled") for a, _dev in addresses]
        self.call_from_thread(self._ips_checked, found)

    def _ips_checked(self, found: list[InUse]) -> None:
        self.ip_check = found
        taken = [result for result in found if result.in_use]
        lines = [result.describe() for result in found]
        if taken:
            lines.append("✖ an address that answers must not be brought up here as well: "
                         "pick another, or tick the box if it is moving here")  # fmt: skip
        self._say("#ip-check", "\n".join(lines))
        self.query_one("#ip-confirm", Checkbox).display = bool(taken)

    def _ip_refusal(self) -> str:
        """Why the cluster-IP check forbids writing now ("" when it allows it)."""
        if self.ip_check is None:
            return "the cluster-IP check is still running; write again in a moment"
        taken = [result for result in self.ip_check if result.in_use]
        if taken and not self.query_one("#ip-confirm", Checkbox).value:
            reasons = "; ".join(f"{r.address} {r.how}" for r in taken)
            return f"cluster IP in use: {reasons} (tick the box to write anyway)"
        return ""

    def _show_outcome(self, text: str) -> None:
        self._say("#outcome", text)

    def _say(self, selector: str, text: str) -> None:
        """Fill one of the review's message lines; an empty one takes no room."""
        line = self.query_one(selector, Static)
        line.update(Content(text))
        line.display = bool(text)

    @on(Button.Pressed, "#write")
    def write(self) -> None:
        """Write the files (refused while errors remain or without confirmation)."""
        if errors_of(self.findings):
            self._show_outcome("✖ not written: the configuration has errors (see above)")
            return
        refusal = self._engine_refusal() or self._ip_refusal()
        if refusal:
            self._show_outcome(f"✖ not written: {refusal}")
            return
        confirm = self.query_one("#confirm", Checkbox).value
        try:
            report = write_files(self.config_dir, self.state.render(), confirm=confirm)
        except OverwriteRefused as exc:
            self._show_outcome(f"✖ not written: {exc}")
            return
        except OSError as exc:
            self._show_outcome(f"✖ not written: {exc}")
            return
        self.written = True
        lines = [f"wrote {p}" for p in report.written]
        lines += [f"backup {p}" for p in report.backups]
        lines += [f"unchanged {p}" for p in report.unchanged]
        lines += copy_instructions(self.config_dir, self.state.peers)
        self._show_outcome("\n".join(lines))
        self.review_after_write()

    def review_after_write(self) -> None:
        """Refresh the diff (now empty) without re-running the IP probe."""
        changes = plan_changes(self.config_dir, self.state.render())
        self.query_one("#diff", Static).update(Content(full_diff(changes)))
        self.query_one("#confirm", Checkbox).display = False
        self.query_one("#ip-confirm", Checkbox).display = False

    @on(Button.Pressed, "#livetest")
    @work(exclusive=True, group="livetest")
    async def run_live_test(self) -> None:
        """Send signed probes to the peers for two seconds and list which links work."""
        self._show_outcome("live test: probing the peers for 2 s ...")
        results = await live_test(self.state, bind_address=self.bind_address)
        self._show_outcome("\n".join(r.describe() for r in results))

    @on(Button.Pressed, "#copy")
    @work(exclusive=True, group="copy")
    async def run_copy(self) -> None:
        """Run the copy command for each peer (needs ssh trust)."""
        if not self.written:
            self._show_outcome("write the files first")
            return
        lines = []
        for peer in self.state.peers:
            done = await run_program(copy_command(self.config_dir, peer), timeout=60, log=False)
            status = "ok" if done.ok else (done.last_line() or done.describe())[-200:]
            lines.append(f"{peer}: {status}")
        self._show_outcome("\n".join(lines))


def run_setup(config_dir: Path, bind_address: str = "0.0.0.0") -> int:
    """Run the interactive wizard; 0 when files were written."""
    app = SetupApp(config_dir, bind_address=bind_address)
    app.run()
    if app.written:  # what to do next stays on the terminal, ready to copy
        print("\n".join(copy_instructions(config_dir, app.state.peers)))
    return 0 if app.written else 1
