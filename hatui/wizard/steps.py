"""One widget per wizard step: ``load`` shows the answers, ``store`` reads them back.

``store`` copies the form into the ``WizardState`` and returns the step's check (the
state's own ``check_*``), so a refused entry is refused with the same reason whether it
came from the screen or from an answers file.

Text from outside (node names, addresses, interface and agent names, what the user
typed) is shown as plain ``Content``, never parsed as markup. Placeholders are hints
("e.g. ..."), never values; a field with a default shows it as its value.
"""

from __future__ import annotations

import logging
import re
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Input, Label, RadioSet, Select, Static, TextArea

from engine.config import Issue, parse_time_ms
from hatui.wizard.choice import GlyphCheckbox, GlyphRadio
from hatui.wizard.discover import Discovery, local_addresses
from hatui.wizard.state import (
    FS_FORM,
    IP_FORM,
    PRESETS,
    TIMING_RULES,
    Group,
    Medium,
    Stonith,
    WizardState,
    form_problems,
    new_key,
    resource_token,
    wizard_issue,
)

logger = logging.getLogger(__name__)

_SPLIT = re.compile(r"[\s,]+")
TIMERS = ("keepalive", "warntime", "deadtime", "initdead")


def _words(text: str) -> list[str]:
    return [w for w in _SPLIT.split(text.strip()) if w]


def _entries(text: str) -> list[str]:
    """Comma-separated entries, blanks trimmed, empty ones dropped."""
    return [entry.strip() for entry in text.split(",") if entry.strip()]


class Step(VerticalScroll):
    """A wizard step; subclasses fill ``compose``, ``load`` and ``store``."""

    TITLE: ClassVar[str] = ""
    FIRST: ClassVar[str] = ""
    """Selector of the widget focused on arrival ("": the first focusable one)."""
    DEFAULT_CSS = """
    Step { height: 1fr; padding: 0 1; }
    Step .help { color: $text-muted; margin-bottom: 1; }
    Step Input { width: 1fr; }
    Step .row { height: auto; margin-bottom: 1; }
    Step .row Label { width: 12; }
    Step .row Input { margin-right: 1; }
    """

    found: Discovery = Discovery()

    def load(self, state: WizardState, found: Discovery) -> None:
        """Show the current answers."""
        self.found = found

    def store(self, state: WizardState) -> list[Issue]:
        """Copy the form into ``state`` and return the step's findings."""
        return []

    def value(self, selector: str) -> str:
        """The text of one Input."""
        return self.query_one(selector, Input).value.strip()

    def put(self, selector: str, text: str) -> None:
        """Set one Input's text."""
        self.query_one(selector, Input).value = text


def _row(label: str, widget: Input) -> Horizontal:
    """A label and its one-line (compact) input: every field of a step fits 80x24."""
    widget.compact = True
    return Horizontal(Label(label), widget, classes="row")


def _help(*parts: str | tuple[str, str]) -> Static:
    """A help paragraph; parts are plain text or (text, style) pairs."""
    return Static(Content.assemble(*parts), classes="help")


class NodeStep(Step):
    """This node's name, checked against ``uname -n``."""

    TITLE = "This node"

    def __init__(self, uname: str) -> None:
        super().__init__(id="step-node")
        self.uname = uname

    def compose(self) -> ComposeResult:
        """Name input and the rule it must follow."""
        yield _help(
            "Heartbeat finds itself by name: each 'node' line must equal `uname -n` of that "
            "machine (here: ",
            (self.uname, "bold"),
            "). Another name works only with --node or a nodeinfo file.",
        )
        yield _row("node name", Input(id="node", placeholder="this machine's name (required)"))

    def load(self, state: WizardState, found: Discovery) -> None:
        """Show the name."""
        super().load(state, found)
        self.put("#node", state.node)

    def store(self, state: WizardState) -> list[Issue]:
        """Lower-case the name and check it."""
        state.node = self.value("#node").lower()
        return state.check_node(self.uname)


class PeersStep(Step):
    """The other nodes' names."""

    TITLE = "Peers"

    def compose(self) -> ComposeResult:
        """One input: names separated by blanks or commas."""
        yield _help(
            "The other cluster nodes, by their `uname -n` names, separated by blanks or "
            "commas. Every node's ha.cf lists the same nodes."
        )
        yield _row("peer nodes", Input(id="peers", placeholder="the other nodes, e.g. bravo"))

    def load(self, state: WizardState, found: Discovery) -> None:
        """Show the peers."""
        super().load(state, found)
        self.put("#peers", " ".join(state.peers))

    def store(self, state: WizardState) -> list[Issue]:
        """Lower-cased names, in order."""
        state.peers = [w.lower() for w in _words(self.value("#peers"))]
        return state.check_peers()


class MediaStep(Step):
    """Heartbeat media: ucast/bcast/mcast per interface, serial ports."""

    TITLE = "Heartbeat media"
    FIRST = "#ucast"

    def compose(self) -> ComposeResult:
        """What was found, then one input per kind of medium."""
        yield Static(id="found", classes="help")
        yield _help(
            "ucast: an interface, then every node's address on it, this node's too (a "
            "node skips its own, so one ha.cf serves every node); interfaces comma-"
            "separated. Two independent links are advised."
        )
        yield _row("ucast", Input(id="ucast", placeholder="e.g. eth0 10.0.0.1 10.0.0.2"))
        yield _row("bcast", Input(id="bcast", placeholder="e.g. eth1"))
        yield _row("mcast", Input(id="mcast", placeholder="dev group port ttl loop, e.g. "
                                  "eth0 239.0.0.1 694 1 0"))  # fmt: skip
        yield _row("serial", Input(id="serial", placeholder="e.g. /dev/ttyS0"))
        yield _row("udpport", Input(id="udpport", placeholder="694 (used when empty)"))

    def load(self, state: WizardState, found: Discovery) -> None:
        """Show discovered interfaces and the current media."""
        super().load(state, found)
        nics = ", ".join(
            f"{i.name} {' '.join(i.addresses) or '(no IPv4)'}" for i in found.interfaces
        )
        serial = ", ".join(found.serial_ports) or "none"
        self.query_one("#found", Static).update(
            Content(f"Interfaces here: {nics or 'none found'}\nSerial ports: {serial}")
        )
        self.put("#udpport", str(state.udpport))
        ucast = state.ucast_devices().items()
        self.put("#ucast", ", ".join(f"{dev} {' '.join(found)}" for dev, found in ucast))
        others: dict[str, list[str]] = {"bcast": [], "mcast": [], "serial": []}
        for medium in state.media:
            if medium.kind in others:
                others[medium.kind].append(medium.line().split(" ", 1)[1])
        self.put("#bcast", " ".join(others["bcast"]))
        self.put("#mcast", ", ".join(others["mcast"]))
        self.put("#serial", " ".join(others["serial"]))

    def store(self, state: WizardState) -> list[Issue]:
        """Parse each input into ``Medium`` values; malformed entries are refused."""
        issues: list[Issue] = []
        port = self.value("#udpport") or "694"
        if not port.isdigit():
            issues.append(wizard_issue("media", f"Bad udpport [{port}]", "write a port 1-65535"))
        else:
            state.udpport = int(port)
        media: list[Medium] = []
        for entry in _entries(self.value("#ucast")):
            dev, *addresses = entry.split()
            if not addresses:
                issues.append(wizard_issue("media", f"ucast entry [{entry}]",
                                           "write 'interface address address...'"))  # fmt: skip
            media += [Medium("ucast", dev, peer=address) for address in addresses]
        media.extend(Medium("bcast", dev) for dev in _words(self.value("#bcast")))
        for entry in _entries(self.value("#mcast")):
            words = entry.split()
            if len(words) != 5 or not (words[2].isdigit() and words[3].isdigit()):
                issues.append(wizard_issue("media", f"mcast entry [{entry}]",
                                           "write 'dev group port ttl loop'"))  # fmt: skip
                continue
            media.append(
                Medium("mcast", words[0], group=words[1], port=int(words[2]),
                       ttl=int(words[3]), loop=words[4] == "1")
            )  # fmt: skip
        media.extend(Medium("serial", dev) for dev in _words(self.value("#serial")))
        state.media = media
        return issues + state.check_media(local_addresses(self.found.interfaces))


class TimingStep(Step):
    """Presets and the four timers, with Heartbeat's rules spelled out.

    The preset buttons follow the values: typing a value that no preset has selects
    "custom", whose label then shows the values.
    """

    TITLE = "Timing"

    def compose(self) -> ComposeResult:
        """Preset radio buttons, four inputs, the rules."""
        with RadioSet(id="preset"):
            for preset in PRESETS.values():
                yield GlyphRadio(f"{preset.label}: {preset.why}", name=preset.name)
            yield GlyphRadio("custom values", name="custom")
        for name in TIMERS:
            yield _row(name, Input(id=name, placeholder="seconds (e.g. 2), or e.g. 500ms"))
        yield _help(TIMING_RULES)

    def load(self, state: WizardState, found: Discovery) -> None:
        """Show the values and the preset they match."""
        super().load(state, found)
        for name in TIMERS:
            self.put(f"#{name}", getattr(state, name))
        self._follow_values()

    def matching(self) -> str:
        """The preset whose four values the fields hold, else ``custom``."""
        typed = [parse_time_ms(self.value(f"#{name}")) for name in TIMERS]
        for preset in PRESETS.values():
            if typed == [parse_time_ms(getattr(preset, name)) for name in TIMERS]:
                return preset.name
        return "custom"

    def _follow_values(self) -> None:
        """Select the preset the values match; the custom label shows the values."""
        chosen = self.matching()
        for button in self.query(GlyphRadio):
            if button.name == "custom":
                values = ", ".join(f"{name} {self.value(f'#{name}')}" for name in TIMERS)
                button.label = Content(
                    f"custom values: {values}" if chosen == "custom" else "custom values"
                )
            if (button.name == chosen) != button.value:
                button.value = button.name == chosen

    @on(RadioSet.Changed, "#preset")
    def _preset_chosen(self, event: RadioSet.Changed) -> None:
        name = event.pressed.name or "custom"
        if name in PRESETS and self.matching() != name:
            for field in TIMERS:
                self.put(f"#{field}", getattr(PRESETS[name], field))

    @on(Input.Changed)
    def _value_typed(self, event: Input.Changed) -> None:
        if event.input.id in TIMERS:
            self._follow_values()

    def store(self, state: WizardState) -> list[Issue]:
        """Copy the four values; the preset name is the one they match."""
        state.preset = self.matching()
        for name in TIMERS:
            setattr(state, name, self.value(f"#{name}"))
        return state.check_timing()


class AuthStep(Step):
    """The shared key: method and a generated secret."""

    TITLE = "Authentication"

    def compose(self) -> ComposeResult:
        """Method choice, key, regenerate button."""
        yield _help(
            "Every node needs the same authkeys file (written mode 0600). sha256 is the "
            "default; choose sha1 when a peer still runs the original Heartbeat."
        )
        with RadioSet(id="method"):
            yield GlyphRadio("sha256 (HMAC-SHA256)", name="sha256")
            yield GlyphRadio("sha1 (mixed cluster with real Heartbeat)", name="sha1")
            yield GlyphRadio("aes256gcm (hatui nodes only: encrypted)", name="aes256gcm")
        yield _help("aes256gcm encrypts every heartbeat; real Heartbeat nodes cannot join.")
        yield _row("key", Input(id="key", password=True, placeholder="the shared secret"))
        yield Button("new random key", id="new-key")

    def load(self, state: WizardState, found: Discovery) -> None:
        """Select the method and fill the key."""
        super().load(state, found)
        for button in self.query(GlyphRadio):
            button.value = button.name == state.auth_method
        self.put("#key", state.auth_key)

    @on(Button.Pressed, "#new-key")
    def _new_key(self) -> None:
        self.put("#key", new_key())

    def store(self, state: WizardState) -> list[Issue]:
        """Method and key."""
        pressed = self.query_one("#method", RadioSet).pressed_button
        state.auth_method = (pressed.name if pressed else None) or "sha256"
        state.auth_key = self.value("#key")
        return state.check_auth()


class ResourcesStep(Step):
    """haresources lines, with forms for IPaddr2 and Filesystem."""

    TITLE = "Resource groups"
    FIRST = "#agent"
    ARGS = ("#arg1", "#arg2", "#arg3")
    PLACEHOLDERS: ClassVar[dict[str, tuple[str, str, str]]] = {
        IP_FORM: ("ip, e.g. 10.0.0.10", "cidr, e.g. 24", "nic, e.g. eth0"),
        FS_FORM: ("device, e.g. /dev/sdb1", "directory, e.g. /data", "fstype, e.g. ext4"),
        "ocf": ("key=value ...", "key=value ...", "key=value ..."),
        "systemd": ("(a unit takes no arguments)", "", ""),
        "other": ("arguments (optional)", "", ""),
    }

    def compose(self) -> ComposeResult:
        """Agent picker, argument form, and the editable group lines."""
        yield _help(
            "One line per group: 'preferred-node resource1 resource2 ...' in start order "
            "(stopped in reverse). Pick an agent, fill its arguments, Add (or Enter)."
        )
        forms = [(Content(IP_FORM), IP_FORM), (Content(FS_FORM), FS_FORM)]
        yield Select[str](forms, id="agent", prompt="agent", allow_blank=False)
        with Horizontal(classes="row"):
            yield Input(id="arg1", placeholder="ip, e.g. 10.0.0.10", compact=True)
            yield Input(id="arg2", placeholder="cidr, e.g. 24", compact=True)
            yield Input(id="arg3", placeholder="nic, e.g. eth0", compact=True)
            yield Button("Add", id="add", compact=True)
        yield Static(id="add-result")
        yield TextArea(id="groups", soft_wrap=False)

    def load(self, state: WizardState, found: Discovery) -> None:
        """Offer the agents found; show the groups."""
        super().load(state, found)
        names = [IP_FORM, FS_FORM, *(a.name for a in found.agents)]
        unique = list(dict.fromkeys(names))
        self.query_one("#agent", Select).set_options((Content(n), n) for n in unique)
        text = "\n".join(group.line() for group in state.groups)
        self.query_one("#groups", TextArea).text = text

    @on(Select.Changed, "#agent")
    def _agent_chosen(self, event: Select.Changed) -> None:
        """Say what each field takes for this kind of agent."""
        agent = event.value if isinstance(event.value, str) else ""
        kind = agent if agent in (IP_FORM, FS_FORM) else agent.split(":")[0]
        hints = self.PLACEHOLDERS.get(kind, self.PLACEHOLDERS["other"])
        for selector, hint in zip(self.ARGS, hints, strict=True):
            self.query_one(selector, Input).placeholder = hint

    def agent(self) -> str:
        """The agent picked ("" for none)."""
        agent = self.query_one("#agent", Select).value
        return agent if isinstance(agent, str) else ""

    def token(self) -> str:
        """The resource token the form describes ("" when no agent is chosen)."""
        agent = self.agent()
        return resource_token(agent, [self.value(s) for s in self.ARGS]) if agent else ""

    def _say(self, text: str, ok: bool) -> None:
        result = self.query_one("#add-result", Static)
        result.update(Content(text))
        result.styles.color = "green" if ok else "red"

    @on(Input.Submitted, "#arg1, #arg2, #arg3")
    def _enter_adds(self, event: Input.Submitted) -> None:
        event.stop()
        self.add()

    @on(Button.Pressed, "#add")
    def add(self) -> None:
        """Append the form's token to the last group (refused with the reason)."""
        agent = self.agent()
        if not agent:
            self._say("✖ pick an agent first", ok=False)
            return
        problems = form_problems(agent, [self.value(s) for s in self.ARGS])
        if problems:
            self._say("✖ not added: " + "; ".join(problems), ok=False)
            return
        token = self.token()
        area = self.query_one("#groups", TextArea)
        lines = [line for line in area.text.splitlines() if line.strip()]
        if lines:
            lines[-1] = f"{lines[-1]} {token}"
        else:
            node = str(getattr(self.app, "state", WizardState()).node or "node")
            lines = [f"{node} {token}"]
        area.text = "\n".join(lines)
        for selector in self.ARGS:
            self.put(selector, "")
        self._say(f"✔ added {token}", ok=True)

    def store(self, state: WizardState) -> list[Issue]:
        """One group per non-empty line."""
        text = self.query_one("#groups", TextArea).text
        state.groups = [
            Group(words[0].lower(), words[1:])
            for line in text.splitlines()
            if (words := line.split("#", 1)[0].split())
        ]
        return state.check_resources()


class StonithStep(Step):
    """One STONITH device (type + parameters); checked by the engine at review."""

    TITLE = "STONITH"

    def compose(self) -> ComposeResult:
        """Type, parameters, host selector."""
        yield _help(
            "Fencing resets a node that stopped answering before its resources move. "
            "Leave the type empty for none (you will be warned). Parameters are checked "
            "by the engine on the review page."
        )
        yield _row("type", Input(id="stonith-type", placeholder="e.g. external/ssh, meatware"))
        yield _row("parameters", Input(id="stonith-params", placeholder="e.g. alpha bravo"))
        yield _row("from host", Input(id="stonith-host", placeholder="* = every node (if empty)"))

    def load(self, state: WizardState, found: Discovery) -> None:
        """Show the first device."""
        super().load(state, found)
        device = state.stonith[0] if state.stonith else Stonith("", "", "*")
        self.put("#stonith-type", device.type)
        self.put("#stonith-params", device.params)
        self.put("#stonith-host", device.host)

    def store(self, state: WizardState) -> list[Issue]:
        """Zero or one device."""
        kind = self.value("#stonith-type")
        host = self.value("#stonith-host") or "*"
        state.stonith = [Stonith(kind, self.value("#stonith-params"), host)] if kind else []
        return state.check_stonith()


class LoggingStep(Step):
    """Where the engine logs: log file, debug file, syslog facility."""

    TITLE = "Logging"

    def compose(self) -> ComposeResult:
        """Three inputs; an empty one writes nothing there."""
        yield _help(
            "logfile gets every line but debug, debugfile every line (`hatui logs` reads "
            "both); a syslog facility sends lines to syslog as well. Empty: not written."
        )
        yield _row("logfile", Input(id="logfile", placeholder="empty: no log file"))
        yield _row("debugfile", Input(id="debugfile", placeholder="empty: no debug file"))
        facility = Input(id="logfacility", placeholder="empty: no syslog (or e.g. daemon)")
        yield _row("facility", facility)

    def load(self, state: WizardState, found: Discovery) -> None:
        """Show the three settings."""
        super().load(state, found)
        for name in ("logfile", "debugfile", "logfacility"):
            value = getattr(state, name)
            self.put(f"#{name}", "" if value == "none" else value)

    def store(self, state: WizardState) -> list[Issue]:
        """Copy them; the engine checks the facility name at review."""
        for name in ("logfile", "debugfile", "logfacility"):
            setattr(state, name, self.value(f"#{name}"))
        return state.check_logging()


class ReviewStep(Step):
    """Findings, the diff, write, live test, copy to the peers."""

    TITLE = "Review and write"

    def compose(self) -> ComposeResult:
        """Everything the operator needs before writing."""
        with Horizontal(classes="row"):
            yield Button("Write files", id="write", variant="primary")
            yield Button("Live test", id="livetest")
            yield Button("Run copy", id="copy")
        yield GlyphCheckbox("replace the existing files (a backup of each is kept)", id="confirm")
        yield GlyphCheckbox("write although a cluster IP answers (another host has it now)",
                            id="ip-confirm")  # fmt: skip
        yield Static(id="same-files", classes="help")
        yield Static(id="ip-check").set_styles("display: none;")
        yield Static(id="outcome").set_styles("display: none;")
        yield Static(id="review-findings")
        yield Static(id="engine-check").set_styles("display: none;")
        yield Static(id="diff")
