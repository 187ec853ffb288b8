"""Heartbeat's time and boolean syntax (spec §2.2, §2.3).

Heartbeat reads a bare number as *seconds* and only knows the ``ms`` and ``us``
suffixes; ``10s`` is invalid. We reproduce that exactly (so a config file means the
same thing to both implementations) and give a hint that says how to write it.
"""

from __future__ import annotations

import re

_NUMBER = re.compile(r"[0-9.]*")
_TRUE_WORDS = frozenset({"true", "on", "yes", "y", "1"})
_FALSE_WORDS = frozenset({"false", "off", "no", "n", "0"})

TIME_SYNTAX_HINT = "a bare number is seconds; use the suffix ms or us for smaller units"
BOOLEAN_HINT = "write one of: on, off, yes, no, true, false, y, n, 1, 0"


def parse_time_ms(text: str) -> int | None:
    """Return the time ``text`` denotes in whole milliseconds, or None when invalid.

    Rules of ``cl_get_msec``: leading blanks skipped; the longest prefix of digits and
    dots is the number; blanks; then nothing (seconds), a suffix starting with ``ms``
    (milliseconds) or with ``us`` (microseconds). Rounded half up.
    """
    rest = text.lstrip(" \t")
    number_text = _NUMBER.match(rest)
    assert number_text is not None  # the pattern matches the empty string
    digits = number_text.group(0)
    if not digits or not (digits[0].isdigit() or digits[0] == "."):
        return None
    try:
        number = float(digits)
    except ValueError:
        return None
    unit = rest[len(digits) :].lstrip(" \t").rstrip("\r\n").lower()
    if unit == "":
        millis = number * 1000.0
    elif unit.startswith("ms"):
        millis = number
    elif unit.startswith("us"):
        millis = number / 1000.0
    else:
        return None
    return int(millis + 0.5)


def time_hint(text: str) -> str:
    """Explain how to write ``text`` validly (e.g. ``10s`` → ``write 10 or 10000ms``)."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(s|sec|secs|second|seconds)\s*", text, re.I)
    if match:
        number = match.group(1)
        millis = int(float(number) * 1000 + 0.5)
        return f"write {number} or {millis}ms: {TIME_SYNTAX_HINT}"
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(m|min|mins|minute|minutes)\s*", text, re.I)
    if match:
        seconds = float(match.group(1)) * 60
        shown = f"{seconds:g}"
        return f"write {shown} (seconds): {TIME_SYNTAX_HINT}"
    return f"write e.g. 2, 1.5 or 500ms: {TIME_SYNTAX_HINT}"


def parse_bool(text: str) -> bool | None:
    """Return the boolean ``text`` denotes (case-insensitive), or None when invalid."""
    word = text.strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    return None


def format_ms(millis: int) -> str:
    """Render milliseconds the way Heartbeat records derived values (``"<n>ms"``)."""
    return f"{millis}ms"
