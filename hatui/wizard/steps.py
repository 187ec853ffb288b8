"""One widget per wizard step: ``load`` shows the answers, ``store`` reads them back.

``store`` copies the form into the ``WizardState`` and returns the step's check (the
state's own ``check_*``), so a refused entry is refused with the same reason whether it
came from the screen or from an answers file.
"""

from __future__ import annotations

import logging
import re
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import (
    Button,
    Checkbox,
    Input,
    Label,
    RadioButton,
    RadioSet,
    Select,
    Static,
    TextArea,
)

from engine.config import Issue
from hatui.wizard.discover import Discovery
from hatui.wizard.state import (
    FS_FORM,
    IP_FORM,
    PRESETS,
    TIMING_RULES,
    Group,
    Medium,
    Stonith,
    WizardState,
    new_key,
    resource_token,
    wizard_issue,
)

logger = logging.getLogger(__name__)

_SPLIT = re.compile(r"[\s,]+")


def _words(text: str) -> list[str]:
    return [w for w in _SPLIT.split(text.strip()) if w]


class Step(VerticalScroll):
    """A wizard step; subclasses fill ``compose``, ``load`` and ``store``."""

    TITLE: ClassVar[str] = ""
    DEFAULT_CSS = """
    Step { height: 1fr; padding: 0 1; }
    Step .help { color: $text-muted; margin-bottom: 1; }
    Step Input { width: 1fr; }
    Step .row { height: auto; }
    Step .row Label { width: 14; padding: 1 0 0 0; }
    """

    def load(self, state: WizardState, found: Discovery) -> None:
        """Show the current answers."""

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
    return Horizontal(Label(label), widget, classes="row")


class NodeStep(Step):
    """This node's name, checked against ``uname -n``."""

    TITLE = "This node"

    def __init__(self, uname: str) -> None:
        super().__init__(id="step-node")
        self.uname = uname

    def compose(self) -> ComposeResult:
        """Name input and the rule it must follow."""
        yield Static(
            f"Heartbeat finds itself by name: each 'node' line must equal `uname -n` of that "
            f"machine (here: [b]{self.uname}[/b]). Another name works only with --node or "
            "a nodeinfo file.",
            classes="help",
        )
        yield _row("node name", Input(id="node", placeholder=self.uname))

    def load(self, state: WizardState, found: Discovery) -> None:
        """Show the name."""
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
        yield Static(
            "The other cluster nodes, by their `uname -n` names, separated by blanks or commas."
            " Every node's ha.cf lists the same nodes.",
            classes="help",
        )
        yield _row("peer nodes", Input(id="peers", placeholder="bravo"))

    def load(self, state: WizardState, found: Discovery) -> None:
        """Show the peers."""
        self.put("#peers", " ".join(state.peers))

    def store(self, state: WizardState) -> list[Issue]:
        """Lower-cased names, in order."""
        state.peers = [w.lower() for w in _words(self.value("#peers"))]
        return state.check_peers()


class MediaStep(Step):
    """Heartbeat media: ucast/bcast/mcast per interface, serial ports."""

    TITLE = "Heartbeat media"

    def compose(self) -> ComposeResult:
        """What was found, then one input per kind of medium."""
        yield Static(id="found", classes="help")
        yield _row("udpport", Input(id="udpport", placeholder="694"))
        yield _row("ucast", Input(id="ucast", placeholder="eth0 10.0.0.2, eth1 192.168.1.2"))
        yield _row("bcast", Input(id="bcast", placeholder="eth1"))
        yield _row("mcast", Input(id="mcast", placeholder="eth0 239.0.0.1 694 1 0"))
        yield _row("serial", Input(id="serial", placeholder="/dev/ttyS0"))
        yield Static(
            "ucast: 'interface peer-address' pairs, comma-separated · mcast: 'dev group port "
            "ttl loop' entries, comma-separated · two independent links are advised.",
            classes="help",
        )

    def load(self, state: WizardState, found: Discovery) -> None:
        """Show discovered interfaces and the current media."""
        nics = ", ".join(
            f"{i.name} {' '.join(i.addresses) or '(no IPv4)'}" for i in found.interfaces
        )
        serial = ", ".join(found.serial_ports) or "none"
        self.query_one("#found", Static).update(
            f"Interfaces: {nics or 'none found'}\nSerial ports: {serial}"
        )
        self.put("#udpport", str(state.udpport))
        by_kind: dict[str, list[str]] = {"ucast": [], "bcast": [], "mcast": [], "serial": []}
        for medium in state.media:
            by_kind.setdefault(medium.kind, []).append(medium.line().split(" ", 1)[1])
        self.put("#ucast", ", ".join(by_kind["ucast"]))
        self.put("#bcast", " ".join(by_kind["bcast"]))
        self.put("#mcast", ", ".join(by_kind["mcast"]))
        self.put("#serial", " ".join(by_kind["serial"]))

    def store(self, state: WizardState) -> list[Issue]:
        """Parse each input into ``Medium`` values; malformed entries are refused."""
        issues: list[Issue] = []
        port = self.value("#udpport") or "694"
        if not port.isdigit():
            issues.append(wizard_issue("media", f"Bad udpport [{port}]", "write a port 1-65535"))
        else:
            state.udpport = int(port)
        media: list[Medium] = []
        for entry in filter(None, (e.strip() for e in self.value("#ucast").split(","))):
            words = entry.split()
            if len(words) != 2:
                issues.append(
                    wizard_issue("media", f"ucast entry [{entry}]", "write 'interface address'")
                )
                continue
            media.append(Medium("ucast", words[0], peer=words[1]))
        media.extend(Medium("bcast", dev) for dev in _words(self.value("#bcast")))
        for entry in filter(None, (e.strip() for e in self.value("#mcast").split(","))):
            words = entry.split()
            if len(words) != 5 or not (words[2].isdigit() and words[3].isdigit()):
                issues.append(
                    wizard_issue(
                        "media", f"mcast entry [{entry}]", "write 'dev group port ttl loop'"
                    )
                )
                continue
            media.append(
                Medium("mcast", words[0], group=words[1], port=int(words[2]),
                       ttl=int(words[3]), loop=words[4] == "1")
            )  # fmt: skip
        media.extend(Medium("serial", dev) for dev in _words(self.value("#serial")))
        state.media = media
        return issues + state.check_media()


class TimingStep(Step):
    """Presets and the four timers, with Heartbeat's rules spelled out."""

    TITLE = "Timing"
    FIELDS = ("keepalive", "warntime", "deadtime", "initdead")

    def compose(self) -> ComposeResult:
        """Preset radio buttons, four inputs, the rules."""
        with RadioSet(id="preset"):
            for preset in PRESETS.values():
                yield RadioButton(f"{preset.label}: {preset.why}", name=preset.name)
            yield RadioButton("custom values", name="custom")
        for name in self.FIELDS:
            yield _row(name, Input(id=name))
        yield Static(TIMING_RULES, classes="help")

    def load(self, state: WizardState, found: Discovery) -> None:
        """Select the preset and show the values."""
        for button in self.query(RadioButton):
            button.value = button.name == state.preset
        for name in self.FIELDS:
            self.put(f"#{name}", getattr(state, name))

    @on(RadioSet.Changed, "#preset")
    def _preset_chosen(self, event: RadioSet.Changed) -> None:
        name = event.pressed.name or "custom"
        if name in PRESETS:
            preset = PRESETS[name]
            for field in self.FIELDS:
                self.put(f"#{field}", getattr(preset, field))

    def store(self, state: WizardState) -> list[Issue]:
        """Copy the four values; the preset name follows the selected button."""
        pressed = self.query_one("#preset", RadioSet).pressed_button
        state.preset = (pressed.name if pressed else None) or "custom"
        for name in self.FIELDS:
            setattr(state, name, self.value(f"#{name}"))
        return state.check_timing()


class AuthStep(Step):
    """The shared key: method and a generated secret."""

    TITLE = "Authentication"

    def compose(self) -> ComposeResult:
        """Method choice, key, regenerate button."""
        yield Static(
            "Every node needs the same authkeys file (written mode 0600). sha256 is the "
            "default; choose sha1 when a peer still runs the original Heartbeat.",
            classes="help",
        )
        with RadioSet(id="method"):
            yield RadioButton("sha256 (HMAC-SHA256)", name="sha256")
            yield RadioButton("sha1 (mixed cluster with real Heartbeat)", name="sha1")
        yield _row("key", Input(id="key", password=True))
        yield Button("new random key", id="new-key")

    def load(self, state: WizardState, found: Discovery) -> None:
        """Select the method and fill the key."""
        for button in self.query(RadioButton):
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
    PLACEHOLDERS: ClassVar[dict[str, tuple[str, str, str]]] = {
        IP_FORM: ("ip, e.g. 10.0.0.10", "cidr, e.g. 24", "nic, e.g. eth0"),
        FS_FORM: ("device, e.g. /dev/sdb1", "directory, e.g. /data", "fstype, e.g. ext4"),
        "ocf": ("key=value ...", "key=value ...", "key=value ..."),
        "systemd": ("(a unit takes no arguments)", "", ""),
        "other": ("arguments (optional)", "", ""),
    }

    def compose(self) -> ComposeResult:
        """Agent picker, argument form, and the editable group lines."""
        yield Static(
            "One line per group: 'preferred-node resource1 resource2 ...' in start order "
            "(stopped in reverse). Pick an agent, fill its arguments, Add.",
            classes="help",
        )
        yield Select[str]([], id="agent", prompt="agent")
        with Horizontal(classes="row"):
            yield Input(id="arg1", placeholder="ip / device / arguments")
            yield Input(id="arg2", placeholder="cidr / directory")
            yield Input(id="arg3", placeholder="nic / fstype")
            yield Button("Add", id="add")
        yield TextArea(id="groups", soft_wrap=False)

    def load(self, state: WizardState, found: Discovery) -> None:
        """Offer the agents found; show the groups."""
        names = [IP_FORM, FS_FORM, *(a.name for a in found.agents)]
        unique = list(dict.fromkeys(names))
        self.query_one("#agent", Select).set_options((n, n) for n in unique)
        text = "\n".join(group.line() for group in state.groups)
        self.query_one("#groups", TextArea).text = text

    @on(Select.Changed, "#agent")
    def _agent_chosen(self, event: Select.Changed) -> None:
        """Say what each field takes for this kind of agent."""
        agent = event.value if isinstance(event.value, str) else ""
        kind = agent if agent in (IP_FORM, FS_FORM) else agent.split(":")[0]
        hints = self.PLACEHOLDERS.get(kind, self.PLACEHOLDERS["other"])
        for number, hint in enumerate(hints, 1):
            self.query_one(f"#arg{number}", Input).placeholder = hint

    def token(self) -> str:
        """The resource token the form describes ("" when no agent is chosen)."""
        agent = self.query_one("#agent", Select).value
        if not isinstance(agent, str):
            return ""
        return resource_token(agent, [self.value(f"#arg{i}") for i in (1, 2, 3)])

    @on(Button.Pressed, "#add")
    def _add(self) -> None:
        token = self.token()
        if not token:
            return
        area = self.query_one("#groups", TextArea)
        lines = [line for line in area.text.splitlines() if line.strip()]
        if lines:
            lines[-1] = f"{lines[-1]} {token}"
        else:
            node = str(getattr(self.app, "state", WizardState()).node or "node")
            lines = [f"{node} {token}"]
        area.text = "\n".join(lines)

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
        yield Static(
            "Fencing resets a node that stopped answering before its resources move. "
            "Leave the type empty for none (you will be warned). Parameters are checked "
            "by the engine on the review page.",
            classes="help",
        )
        yield _row("type", Input(id="stonith-type", placeholder="external/ssh, meatware, null"))
        yield _row("parameters", Input(id="stonith-params", placeholder="alpha bravo"))
        yield _row("from host", Input(id="stonith-host", placeholder="*"))

    def load(self, state: WizardState, found: Discovery) -> None:
        """Show the first device."""
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


class ReviewStep(Step):
    """Findings, the diff, write, live test, copy to the peers."""

    TITLE = "Review and write"

    def compose(self) -> ComposeResult:
        """Everything the operator needs before writing."""
        with Horizontal(classes="row"):
            yield Button("Write files", id="write", variant="primary")
            yield Button("Live test", id="livetest")
            yield Button("Run copy", id="copy")
        yield Checkbox("replace the existing files (a backup of each is kept)", id="confirm")
        yield Checkbox("write although a cluster IP answers (another host has it now)",
                       id="ip-confirm")  # fmt: skip
        yield Static(id="ip-check").set_styles("display: none;")
        yield Static(id="outcome").set_styles("display: none;")
        yield Static(id="review-findings")
        yield Static(id="diff")
