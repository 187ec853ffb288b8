"""Radio buttons and checkboxes that show their state by a glyph, not by colour only.

Textual draws a chosen and an unchosen radio button with the same ``●`` in two
colours, and a checkbox with the same ``X``: under ``NO_COLOR`` or on a monochrome
terminal every choice looks the same. These draw ``◉``/``○`` and ``✔``/blank, and
take their labels as plain text (a label is never parsed as markup).
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox, RadioButton


class _Glyphs:
    """``BUTTON_INNER`` (what Textual draws inside the button) follows the value."""

    ON = OFF = ""
    value: bool

    @property
    def BUTTON_INNER(self) -> str:
        """The glyph inside the button, by state."""
        return self.ON if self.value else self.OFF


class GlyphRadio(_Glyphs, RadioButton):  # type: ignore[misc,override]
    """A radio button reading ``◉`` when chosen and ``○`` when not, in any colours."""

    ON, OFF = "◉", "○"

    def __init__(self, label: str, *, name: str | None = None, value: bool = False) -> None:
        """``label`` is plain text."""
        super().__init__(Content(label), value, name=name)


class GlyphCheckbox(_Glyphs, Checkbox):  # type: ignore[misc,override]
    """A checkbox reading ``✔`` when ticked and blank when not."""

    ON, OFF = "✔", " "

    def __init__(self, label: str, *, id: str | None = None, value: bool = False) -> None:
        """``label`` is plain text."""
        super().__init__(Content(label), value, id=id)
