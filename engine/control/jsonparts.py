"""Typed views of JSON objects that never lose a field: the machinery of ``status.py``.

A part is a frozen dataclass whose fields carry a reader in their metadata (``part_field``).
``parse_part`` is tolerant: a missing key keeps the field's default, a value of the wrong
type keeps the default too (the value itself is kept), a key nobody declared is kept.
``dump_part`` writes the keys the input had, in its order, so a document read and written
again is the same JSON: the document can grow (an older reader keeps and passes on what
it does not know) and never silently loses anything.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

Reader = Callable[[Any], Any]


@dataclasses.dataclass(frozen=True)
class Part:
    """What every part keeps to be written back as it was read: the keys nobody
    declares (and mistyped values) in ``extra``, the keys read, in order (None: a part
    made in code, written with every declared field)."""

    extra: dict[str, Any] = dataclasses.field(default_factory=dict, kw_only=True)
    keys: tuple[str, ...] | None = dataclasses.field(default=None, kw_only=True)

    def to_json(self) -> dict[str, Any]:
        """The JSON object this part was read from."""
        return dump_part(self)


P = TypeVar("P", bound=Part)


class WrongType(ValueError):
    """A value is not of the field's type (the field keeps its default)."""


class Partly(ValueError):
    """Part of a value was usable (``usable``); the value itself is kept as it was."""

    def __init__(self, usable: Any) -> None:
        super().__init__("partly usable")
        self.usable = usable


def part_field(
    read: Reader,
    default: Any = None,
    *,
    factory: Callable[[], Any] | None = None,
    key: str = "",
) -> Any:
    """A dataclass field read by ``read`` (which raises WrongType on a bad value) from the
    JSON key ``key`` (default: the field's name)."""
    meta = {"read": read, "key": key}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def parse_part(cls: type[P], raw: Any) -> P:
    """``cls`` from one JSON object; anything but an object reads as ``{}``."""
    source: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    known = _readers(cls)
    for key, value in source.items():
        if key not in known:
            extra[key] = value
            continue
        name, read = known[key]
        try:
            values[name] = read(value)
        except WrongType:
            extra[key] = value
        except Partly as partly:
            values[name] = partly.usable
            extra[key] = value
    return cls(**values, extra=extra, keys=tuple(source))


def dump_part(part: Part) -> dict[str, Any]:
    """The JSON object ``part`` was read from (its keys, in their order)."""
    names = {key: name for key, (name, _read) in _readers(type(part)).items()}
    keys = part.keys if part.keys is not None else tuple(names)
    out: dict[str, Any] = {}
    for key in keys:
        out[key] = part.extra[key] if key in part.extra else _dump(getattr(part, names[key]))
    return out


def _dump(value: Any) -> Any:
    if isinstance(value, Part):
        return dump_part(value)
    if isinstance(value, tuple | list):
        return [_dump(item) for item in value]
    return value


def _readers(cls: type[Any]) -> dict[str, tuple[str, Reader]]:
    """JSON key -> (attribute, reader) of every declared field."""
    return {
        f.metadata["key"] or f.name: (f.name, f.metadata["read"])
        for f in dataclasses.fields(cls)
        if "read" in f.metadata
    }


# --- readers ------------------------------------------------------------------------


def text(value: Any) -> str:
    """A JSON string."""
    if not isinstance(value, str):
        raise WrongType(value)
    return value


def flag(value: Any) -> bool:
    """A JSON boolean."""
    if not isinstance(value, bool):
        raise WrongType(value)
    return value


def number(value: Any) -> int | float:
    """A JSON number, int or float as it was (so it is written back the same)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WrongType(value)
    return value


def optional(read: Reader) -> Reader:
    """``read``, or None for JSON null."""

    def read_optional(value: Any) -> Any:
        return None if value is None else read(value)

    return read_optional


def anything(value: Any) -> Any:
    """Any JSON value, kept as it is (parts of the document nobody reads typed)."""
    return value


def mapping(value: Any) -> dict[str, Any]:
    """A JSON object kept as a dict."""
    if not isinstance(value, dict):
        raise WrongType(value)
    return value


def texts(value: Any) -> tuple[str, ...]:
    """A list of strings."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise WrongType(value)
    return tuple(value)


def parts(cls: type[P]) -> Callable[[Any], tuple[P, ...]]:
    """A list of objects read as ``cls``; an item that is no object is left out of the
    typed view (the list is written back as it was)."""

    def read_parts(value: Any) -> tuple[P, ...]:
        if not isinstance(value, list):
            raise WrongType(value)
        usable = tuple(parse_part(cls, item) for item in value if isinstance(item, Mapping))
        if len(usable) != len(value):
            raise Partly(usable)
        return usable

    return read_parts


def part_map(cls: type[P]) -> Callable[[Any], dict[str, P]]:
    """An object of objects (``{node: {...}}``), each read as ``cls``; an entry that is no
    object is left out of the typed view (the object is written back as it was)."""

    def read_part_map(value: Any) -> dict[str, P]:
        if not isinstance(value, Mapping):
            raise WrongType(value)
        usable = {k: parse_part(cls, v) for k, v in value.items() if isinstance(v, Mapping)}
        if len(usable) != len(value):
            raise Partly(usable)
        return usable

    return read_part_map


def part(cls: type[P]) -> Callable[[Any], P]:
    """One object read as ``cls``."""

    def read_part(value: Any) -> P:
        if not isinstance(value, Mapping):
            raise WrongType(value)
        return parse_part(cls, value)

    return read_part
