"""``--once``: the console's picture as text, for any back end (engine or Pacemaker).

Its own module so that each back end's command line can use it without importing the
other's (``hatui.cli`` starts the Pacemaker back end; that back end prints through here).
"""

from __future__ import annotations

import time
from typing import Any

from hatui.viewmodel import (
    Connection,
    LinkState,
    build_picture,
    log_line,
    render_text,
    timeline_row,
)

ONCE_TIMELINE = 15
"""Timeline entries ``--once`` prints (the newest; the engine keeps its last 50)."""
ONCE_LOG = 15
"""Log lines ``--once`` prints (the newest of the engine's ring buffer)."""


def render_once(
    status: dict[str, Any], timeline: list[dict[str, Any]], log: list[dict[str, Any]]
) -> str:
    """The ``--once`` text of a status document, its recent timeline and its recent log
    (any back end)."""
    now = time.monotonic()
    picture = build_picture(status, Connection(LinkState.CONNECTED), now, now, now)
    rows = [timeline_row(entry) for entry in timeline[-ONCE_TIMELINE:]]
    lines = [log_line(record)[1] for record in log[-ONCE_LOG:]]
    return render_text(picture, rows, lines)
