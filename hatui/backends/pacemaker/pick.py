"""Pick one of any number of nodes or groups, or Cancel (focused first, as in every
dialog of the console: Enter right after the key does nothing harmful).

A row of buttons (``ChoiceModal``) does not fit a cluster of many nodes or groups at 80
columns; a list does. Tab reaches the list, arrows move, Enter picks; Escape cancels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList, Static
from textual.widgets.option_list import Option

from hatui.screens.modals import MODAL_CSS


class PickModal(ModalScreen[str | None]):
    """``choices`` are (value, label) pairs; the result is the value, or None."""

    AUTO_FOCUS = "#cancel"
    BINDINGS: ClassVar[list[BindingType]] = [("escape", "cancel", "Cancel")]
    DEFAULT_CSS = (
        MODAL_CSS.format(name="PickModal")
        + """
    PickModal OptionList { height: auto; max-height: 10; margin: 1 0 0 0; }
    """
    )

    def __init__(self, title: str, body: str, choices: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self._title = title
        self._body = body
        self._choices = list(choices)

    def compose(self) -> ComposeResult:
        """Title, explanation, the list (nothing highlighted), Cancel."""
        with Vertical():
            yield Label(self._title, classes="title", markup=False)
            yield Static(self._body, classes="body", markup=False)
            options = [
                Option(Content(label), id=str(n)) for n, (_v, label) in enumerate(self._choices)
            ]
            yield OptionList(*options, id="choices")
            with Horizontal():
                yield Button("Cancel", id="cancel", variant="primary")

    def on_mount(self) -> None:
        """No row is highlighted until the operator moves to the list."""
        self.query_one(OptionList).highlighted = None

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self._choices[int(event.option.id or 0)][0])

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close without picking."""
        self.dismiss(None)
