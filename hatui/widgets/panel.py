"""What every panel of the console shares: a plain-text title that can say "stale",
and following the newest line of a scrolling view.

Rules of this module: titles are ``Content`` built from plain text, never markup (a
filter typed as ``[bold]`` or a node named ``[x]`` must show as typed); "following"
is a state of the view, not of its scroll position, so a layout change (a banner
appears, a summary line wraps, the terminal is resized) re-anchors the view to its
end instead of silently leaving it behind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

STALE_CLASS = "-stale"


def plain(text: str) -> Content:
    """``text`` exactly as written: square brackets and all, no markup parsed."""
    return Content(text)


def set_title(widget: Widget, title: str, stale: str = "") -> None:
    """Set the border title as plain text; with ``stale``, say so and dim the panel."""
    shown = f"{title} · STALE: {stale}" if stale else title
    widget.border_title = plain(shown)
    widget.set_class(bool(stale), STALE_CLASS)


def update_plain(widget: Static, text: str, old: str) -> None:
    """Show ``text`` in ``widget`` (plain), laying the screen out again only when its
    height changes: a layout of the whole screen costs tens of milliseconds at 120x40,
    and the summary and banners change text far more often than height."""
    width = widget.content_region.width
    if width <= 0:
        widget.update(plain(text))
        return
    rules = widget.styles.get_rules()
    resized = plain(text).get_height(rules, width) != plain(old).get_height(rules, width)
    widget.update(plain(text), layout=resized)


def title_text(widget: Widget) -> str:
    """The border title as shown (tests and benchmarks read it)."""
    return str(widget.border_title or "").replace("\\[", "[")


class FollowChanged(Message):
    """A following view started or stopped following (the user scrolled)."""

    def __init__(self, following: bool) -> None:
        super().__init__()
        self.following = following


if TYPE_CHECKING:
    _ScrollingWidget = Widget
else:
    _ScrollingWidget = object


class TailFollower(_ScrollingWidget):
    """Keeps a scrolling view at its end while ``following``; the user's scrolling
    decides it: scrolling up pauses (as ``less +F``), scrolling back to the end resumes.

    A mixin, listed before the widget class (``class View(TailFollower, Log)``): Textual
    takes a widget's CSS type names from its first widget base, so this is not one.
    Subclasses call ``keep_at_end`` after adding content; a resize (the cause of every
    layout change that moves the end out of view) re-anchors by itself.
    """

    following: bool = True

    def set_following(self, following: bool, *, jump: bool = True) -> None:
        """Follow (and ``jump`` to the end now) or pause; tells the parent on a change."""
        changed = following != self.following
        self.following = following
        if following and jump:
            self.keep_at_end()
        if changed:
            self.post_message(FollowChanged(following))

    content_sized_by_layout = False
    """True when the view's height is only known after a layout (a wrapped text): then
    the scroll waits for the refresh; a line-based view (a log) scrolls at once."""

    def keep_at_end(self) -> None:
        """Scroll to the newest line if following: at once where the size is known,
        after the next refresh where only the layout knows it (a wrapped text).

        ``force``: Textual refuses to scroll a view whose scrollbar is not shown yet,
        and the scrollbar appears only with the layout after a big first batch (a
        console attaching gets hundreds of lines at once), whose size does not change,
        so no resize would come to re-anchor it: it stayed at the top, "following".
        """
        if not self.following:
            return
        if self.content_sized_by_layout:
            self.call_after_refresh(self._end_after_refresh)
        else:  # not later as well: a pending jump would undo the user's next scroll
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)

    def _end_after_refresh(self) -> None:
        if self.following:
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)

    def _user_went_up(self) -> None:
        """The user asked to look further back: pause before the view moves, so neither
        an animation frame that still reads "at the end" nor a re-anchor racing the
        key can keep it following (watch_scroll_y alone missed PgUp now and then)."""
        if self.following and self.max_scroll_y > 0:
            self.set_following(False)

    def action_page_up(self) -> None:
        self._user_went_up()
        super().action_page_up()  # type: ignore[misc]

    def action_scroll_up(self) -> None:
        self._user_went_up()
        super().action_scroll_up()  # type: ignore[misc]

    def action_scroll_home(self) -> None:
        self._user_went_up()
        super().action_scroll_home()  # type: ignore[misc]

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        # Textual calls every class's own handler along the MRO: the widget's own
        # one scrolls after this, so no super() call here
        self._user_went_up()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        """Pause when the view moved up from the end; resume when it reaches the end.

        A view that grows has its position clamped down to the new end: still at the
        end, so it keeps following. A view that shrinks keeps its position, and the
        resize handler moves it to the new end.
        """
        super().watch_scroll_y(old_value, new_value)
        at_end = new_value >= self.max_scroll_y
        if self.following and new_value < old_value and not at_end:
            self.set_following(False)
        elif not self.following and new_value > old_value and at_end:
            self.set_following(True, jump=False)  # there already (maybe mid-animation)

    def on_resize(self, event: events.Resize) -> None:
        """Layout changed the view's size: the end moved, so follow it there."""
        self.keep_at_end()
