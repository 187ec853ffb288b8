"""Pick one of any number of nodes or groups, or Cancel (focused first, as in every
dialog of the console: Enter right after the key does nothing harmful).

A row of buttons (``ChoiceModal``) does not fit a cluster of many nodes or groups at 80
columns; a list does. Tab reaches the list, arrows move, Enter picks; Escape cancels.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Label, OptionList, Static
from textual.widgets.option_list import Option

from hatui.screens.modals import MODAL_CSS, ChoiceModal


class PickModal(ChoiceModal):
    """``ChoiceModal`` with a list: ``choices`` are (value, label); the result is the
    value, or None."""

    DEFAULT_CSS = (
        MODAL_CSS.format(name="PickModal")
        + """
    PickModal OptionList { height: auto; max-height: 10; margin: 1 0 0 0; }
    """
    )

    def compose(self) -> ComposeResult:
        """Title, explanation, the list (nothing highlighted), Cancel."""
        with Vertical():
            yield Label(self._title, classes="title", markup=False)
            yield Static(self._body, classes="body", markup=False)
            labels = [label for _value, label in self._choices]
            yield OptionList(*[Option(Content(t), id=str(n)) for n, t in enumerate(labels)])
            with Horizontal():
                yield Button("Cancel", id="cancel", variant="primary")

    def on_mount(self) -> None:
        """No row is highlighted until the operator moves to the list."""
        self.query_one(OptionList).highlighted = None

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self._choices[int(event.option.id or 0)][0])
