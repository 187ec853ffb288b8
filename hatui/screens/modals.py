"""Confirmation dialogs. Each closes on Escape, and Enter never confirms by default.

A modal's default AUTO_FOCUS picks the first focusable widget, which in a STONITH dialog
could be the destructive button: Enter would fence. The choice dialogs focus Cancel.
The typed-name dialogs (STONITH, meatware) focus the name field, because they ask the
operator to type: keystrokes go where the prompt says. Enter there confirms only the
exact name of a candidate node; Enter on an empty or wrong name cancels (the dialog
says why in a notification), so Cancel stays what Enter does unless the name is typed.

Everything shown is plain text: titles, bodies, button labels and refusals may carry
node or link names from the configuration.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar, Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from hatui.widgets.panel import plain

_IDENTIFIER = re.compile(r"[A-Za-z0-9_-]+")

MODAL_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 64; max-width: 100%; height: auto; border: thick $primary;
    background: $surface; padding: 0 1;
}}
{name} .title {{ text-style: bold; width: 100%; }}
{name} .body {{ width: 100%; margin: 1 0 0 0; }}
{name} .error {{ color: $error; width: 100%; height: auto; }}
{name} Horizontal {{ height: auto; width: 100%; margin: 1 0 0 0; }}
{name} Button {{ margin: 0 1 0 0; min-width: 10; }}
{name} Input {{ margin: 1 0 0 0; }}
"""


def choice_id(value: str, number: int) -> str:
    """``choice-VALUE`` when VALUE is a valid widget id, else ``choice-nN``.

    Link names such as ``lo#2`` (the engine numbers a device's second link) are not
    valid Textual ids; the button carries the value in its name either way.
    """
    if _IDENTIFIER.fullmatch(value):
        return f"choice-{value}"
    return f"choice-n{number}"


class ChoiceModal(ModalScreen[str | None]):
    """Pick one of a few choices, or Cancel (focused) / Escape for nothing."""

    AUTO_FOCUS = "#cancel"
    BINDINGS: ClassVar[list[BindingType]] = [("escape", "cancel", "Cancel")]
    DEFAULT_CSS = MODAL_CSS.format(name="ChoiceModal")

    def __init__(self, title: str, body: str, choices: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self._title = title
        self._body = body
        self._choices = list(choices)

    def compose(self) -> ComposeResult:
        """Title, explanation, one button per choice, then Cancel."""
        with Vertical():
            yield Label(self._title, classes="title", markup=False)
            yield Static(self._body, classes="body", markup=False)
            with Horizontal():
                yield Button("Cancel", id="cancel", variant="primary")
                for number, (value, label) in enumerate(self._choices):
                    yield Button(plain(label), id=choice_id(value, number), name=value)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "cancel" else event.button.name)

    def action_cancel(self) -> None:
        """Close without choosing."""
        self.dismiss(None)


class ConfirmModal(ModalScreen[bool]):
    """Yes/no for an action that moves resources; Cancel is focused."""

    AUTO_FOCUS = "#cancel"
    BINDINGS: ClassVar[list[BindingType]] = [("escape", "cancel", "Cancel")]
    DEFAULT_CSS = MODAL_CSS.format(name="ConfirmModal")

    def __init__(self, title: str, body: str, confirm_label: str) -> None:
        super().__init__()
        self._title = title
        self._body = body
        self._confirm = confirm_label

    def compose(self) -> ComposeResult:
        """Title, what will happen, Cancel and the confirm button."""
        with Vertical():
            yield Label(self._title, classes="title", markup=False)
            yield Static(self._body, classes="body", markup=False)
            with Horizontal():
                yield Button("Cancel", id="cancel", variant="primary")
                yield Button(plain(self._confirm), id="confirm", variant="warning")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")

    def action_cancel(self) -> None:
        """Close without acting."""
        self.dismiss(False)


class StonithModal(ModalScreen[str | None]):
    """Fence a node: the operator must type the node's name exactly."""

    AUTO_FOCUS = "#node-name"
    BINDINGS: ClassVar[list[BindingType]] = [("escape", "cancel", "Cancel")]
    DEFAULT_CSS = (
        MODAL_CSS.format(name="StonithModal")
        + """
    StonithModal > Vertical { border: thick $error; }
    StonithModal .title { color: $error; }
    """
    )

    def __init__(self, candidates: Sequence[str], local_node: str) -> None:
        super().__init__()
        self._candidates = list(candidates)
        self._local = local_node

    TITLE = "✖ STONITH: power-reset a node"
    CONFIRM_LABEL = "Fence node"
    CONFIRM_VARIANT: Literal["error", "warning"] = "error"

    def body(self, names: str) -> str:
        """What confirming does, for this dialog."""
        return (
            "The node is reset without a clean shutdown; its resources move to the "
            f"survivor. Nodes: {names}. This node is {self._local}."
        )

    def compose(self) -> ComposeResult:
        """Title, what it does, the name field, Cancel and the confirm button."""
        names = ", ".join(self._candidates) or "none"
        with Vertical():
            yield Label(self.TITLE, classes="title", markup=False)
            yield Static(
                self.body(names) + "\nType the node name exactly, then Enter (Esc cancels).",
                classes="body",
                markup=False,
            )
            yield Input(placeholder="node name", id="node-name")
            yield Static("", id="refusal", classes="error", markup=False)
            with Horizontal():
                yield Button("Cancel", id="cancel", variant="primary")
                yield Button(self.CONFIRM_LABEL, id="fence", variant=self.CONFIRM_VARIANT)

    def refusal(self, typed: str) -> str:
        """Why ``typed`` is not an acceptable confirmation ("" when it is)."""
        if not typed:
            return "refused: type the node name to confirm"
        if typed not in self._candidates:
            return f"refused: {typed!r} is not a cluster node ({', '.join(self._candidates)})"
        return ""

    @on(Button.Pressed, "#fence")
    def _fence(self) -> None:
        """The button: a wrong name is refused in the dialog, which stays open."""
        typed = self.query_one("#node-name", Input).value.strip()
        problem = self.refusal(typed)
        if problem:
            self.query_one("#refusal", Static).update(problem)
            return
        self.dismiss(typed)

    @on(Input.Submitted, "#node-name")
    def _submitted(self) -> None:
        """Enter in the name field: the exact name confirms, anything else cancels."""
        typed = self.query_one("#node-name", Input).value.strip()
        problem = self.refusal(typed)
        if not problem:
            self.dismiss(typed)
            return
        self.app.notify(
            f"{problem}; nothing was sent", title="cancelled", severity="warning", markup=False
        )
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close without fencing."""
        self.dismiss(None)


class MeatwareModal(StonithModal):
    """Confirm a manual (meatware) reset: the operator types the waiting node's name.

    A wrong confirmation lets the survivor start resources a live node may still run,
    so it asks as much as the STONITH dialog does.
    """

    DEFAULT_CSS = (
        MODAL_CSS.format(name="MeatwareModal")
        + """
    MeatwareModal > Vertical { border: thick $warning; }
    MeatwareModal .title { color: $warning; }
    """
    )

    TITLE = "⚠ Meatware: confirm a manual power-cycle"
    CONFIRM_LABEL = "Confirm power-cycle"
    CONFIRM_VARIANT: Literal["error", "warning"] = "warning"

    def body(self, names: str) -> str:
        """What confirming does: the survivor starts the resources."""
        return (
            "Confirm ONLY after the node was really powered off or reset by hand: its "
            f"resources are then started on {self._local}. Waiting: {names}."
        )

    def refusal(self, typed: str) -> str:
        """Why ``typed`` is not a node waiting for confirmation ("" when it is)."""
        if not typed:
            return "refused: type the node name to confirm"
        if typed not in self._candidates:
            waiting = ", ".join(self._candidates) or "none"
            return f"refused: {typed!r} is not waiting for a meatware reset ({waiting})"
        return ""
