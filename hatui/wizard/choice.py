"""Radio buttons and checkboxes that show their state by a glyph, not by colour only.

Textual draws a chosen and an unchosen radio button with the same ``●`` in two
colours, and a checkbox with the same ``X``: under ``NO_COLOR`` or on a monochrome
terminal every choice looks the same. These draw ``◉``/``○`` and ``✔``/blank, and
take their labels as plain text (a label is never parsed as markup).
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox, RadioButton


class GlyphRadio(RadioButton):
    """A radio button reading ``(◉) chosen`` / ``(○) not chosen`` in any colour scheme."""

    def __init__(self, label: str, *, name: str | None = None, value: bool = False) -> None:
        """``label`` is plain text."""
        super().__init__(Content(label), value, name=name)

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]
        """The glyph inside the button, by state."""
        return "◉" if self.value else "○"


class GlyphCheckbox(Checkbox):
    """A checkbox reading ``✔`` when ticked and blank when not."""

    def __init__(self, label: str, *, id: str | None = None, value: bool = False) -> None:
        """``label`` is plain text."""
        super().__init__(Content(label), value, id=id)

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]
        """The glyph inside the box, by state."""
        return "✔" if self.value else " "
