"""How a consumer of ``hatui.conf`` declares one of its keys (``Key``, ``Kind``).

A module of its own so that the consumers (resource monitoring, STONITH, the reload)
and the reader (``engine.config.hatuiconf``) all import it and none imports another:
the reader learns every key from ``engine.config.hatuikeys``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from engine.config.model import Value

Check = Callable[[Value, str], "tuple[str, str] | None"]
"""``check(value, text)``: None when fine, else (what is wrong, how to fix it)."""


class Kind(StrEnum):
    """How a value is written."""

    TIME = "time"
    """Heartbeat time syntax, kept in milliseconds."""
    COUNT = "count"
    """A whole number within ``Key.minimum``..``Key.maximum``."""
    PATH = "path"
    """A file or directory name, kept as written."""


@dataclass(frozen=True, slots=True)
class Key:
    """One setting a consumer of hatui.conf declares."""

    name: str
    kind: Kind
    meaning: str
    """What it does, for hints (``seconds between resource checks``)."""
    example: str
    """A value to show in hints (``10``)."""
    minimum: int = 0
    maximum: int = 1_000_000
    """Bounds of a COUNT."""
    repeatable: bool = False
    """Every line adds a value (else the last line wins and a repeat is a warning)."""
    live: bool = False
    """A reload applies a change at once; else the change waits for a restart."""
    check: Check | None = field(default=None, compare=False)
    """More rules on the parsed value (e.g. "0 or at least 1 s")."""


def positive_time(name: str, meaning: str, example: str, *, live: bool = False) -> Key:
    """A time key that must be more than 0."""

    def check(value: Value, text: str) -> tuple[str, str] | None:
        if isinstance(value, int) and value > 0:
            return None
        return f"{name}: '{text}' must be more than 0", f"{meaning}; e.g. {name} = {example}"

    return Key(name, Kind.TIME, meaning, example, live=live, check=check)
