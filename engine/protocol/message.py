"""The ordered, typed field list that Heartbeat calls a message (spec §4.1).

Order matters: it is what gets signed, and it is preserved on the wire. Values of string
fields are ``str`` (decoded as UTF-8 with ``surrogateescape`` so any byte round-trips);
binary fields (``srcuuid``/``destuuid``) are ``bytes``.

Lookups go through a name -> first-field index, not a scan: every packet is looked up a
dozen times on its way through the membership core. Fields are only added, replaced and
removed through the methods below, which keep the index right.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum


class FieldType(IntEnum):
    """Wire type codes (the digit in ``(t)name=value``)."""

    STRING = 0
    BINARY = 1
    STRUCT = 2
    LIST = 3
    COMPRESSED = 4


FieldValue = str | bytes

_STRING, _BINARY = FieldType.STRING, FieldType.BINARY
"""Module names for the two v1 types: looking up an Enum member through its class costs
more than the rest of ``set`` (and a status heartbeat sets a dozen fields)."""


@dataclass(slots=True)
class Field:
    """One ``name=value`` entry."""

    name: str
    value: FieldValue
    type: FieldType = FieldType.STRING


def _first_index(fields: list[Field]) -> dict[str, Field]:
    """Name -> the first field of that name (later duplicates are shadowed)."""
    return {f.name: f for f in reversed(fields)}


@dataclass(slots=True)
class Message:
    """An ordered list of fields; duplicate names are allowed, lookups hit the first."""

    fields: list[Field] = field(default_factory=list)
    _first: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._first = _first_index(self.fields)

    @classmethod
    def of(cls, *pairs: tuple[str, FieldValue]) -> Message:
        """Build a message from ``(name, value)`` pairs; bytes values become binary fields."""
        msg = cls()
        for name, value in pairs:
            msg.append(name, value)
        return msg

    def append(self, name: str, value: FieldValue, ftype: FieldType | None = None) -> None:
        """Add a field at the end."""
        if ftype is None:
            ftype = _BINARY if isinstance(value, bytes) else _STRING
        new = Field(name, value, ftype)
        self.fields.append(new)
        self._first.setdefault(name, new)

    def set(self, name: str, value: FieldValue, ftype: FieldType | None = None) -> None:
        """Replace the first field called ``name`` in place, or append it (ha_msg_mod)."""
        if ftype is None:
            ftype = _BINARY if isinstance(value, bytes) else _STRING
        old = self._first.get(name)
        if old is None:
            new = Field(name, value, ftype)
            self.fields.append(new)
            self._first[name] = new
        else:
            old.value = value
            old.type = ftype

    def remove(self, name: str) -> None:
        """Drop every field called ``name``."""
        self.fields = [f for f in self.fields if f.name != name]
        self._first.pop(name, None)

    def get(self, name: str, default: str | None = None) -> str | None:
        """Value of the first string field called ``name``."""
        first = self._first.get(name)
        if first is None:
            return default
        if isinstance(first.value, str):
            return first.value
        for f in self.fields:  # a binary field shadows a later string one (never in v1)
            if f.name == name and isinstance(f.value, str):
                return f.value
        return default

    def get_bytes(self, name: str) -> bytes | None:
        """Value of the first binary field called ``name``."""
        first = self._first.get(name)
        if first is None:
            return None
        if isinstance(first.value, bytes):
            return first.value
        for f in self.fields:
            if f.name == name and isinstance(f.value, bytes):
                return f.value
        return None

    def __contains__(self, name: object) -> bool:
        return name in self._first

    def __iter__(self) -> Iterator[Field]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    @property
    def type(self) -> str | None:
        """The ``t`` field (message type)."""
        return self.get("t")

    def copy(self) -> Message:
        """A deep-enough copy (fields are re-created; values are immutable)."""
        return Message([Field(f.name, f.value, f.type) for f in self.fields])

    def pairs(self) -> Iterable[tuple[str, FieldValue]]:
        """``(name, value)`` for every field, in order."""
        return ((f.name, f.value) for f in self.fields)

    def describe(self) -> str:
        """Short one-line rendering for logs (binary shown as hex, long values cut)."""
        parts = []
        for f in self.fields:
            value = f.value.hex() if isinstance(f.value, bytes) else f.value
            if len(value) > 60:
                value = value[:57] + "..."
            parts.append(f"{f.name}={value}")
        return " ".join(parts)
