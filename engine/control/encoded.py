"""Encode once, answer many: the JSON of the status document and of the recent history.

200 consoles subscribing in the same instant ask for the same snapshot (the engine
builds its status document once per loop turn) and the same history (50 timeline
entries, up to 500 log records). Encoding them 200 times held the loop for over 100 ms
(issue 15's loop-lag suite); here each is encoded once and the bytes are shared.

Rules: documents and records are never modified after they were handed over (the
engine builds a new status document when something changes; log records and timeline
entries are appended, never edited), so identity tells whether the bytes still fit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.control.schema import encode_json


class EncodedDocument:
    """The JSON of the newest document asked for, encoded once per document object."""

    def __init__(self) -> None:
        self._doc: object = None
        self._json = b"null"
        self.encodings = 0

    def __call__(self, doc: Mapping[str, Any]) -> bytes:
        if doc is not self._doc:
            self._json = encode_json(doc)
            self._doc = doc  # held, so its identity cannot be reused by another object
            self.encodings += 1
        return self._json


class EncodedHistory:
    """The JSON array of a list of records that only grows at its end (and loses its
    oldest when full): each record is encoded once, when it is first seen."""

    def __init__(self) -> None:
        self._records: dict[int, tuple[object, bytes]] = {}
        self._key: tuple[int, object, object] = (0, None, None)
        self._json = b"[]"
        self.encodings = 0

    def __call__(self, records: Sequence[Mapping[str, Any]]) -> bytes:
        key = (len(records), records[0] if records else None, records[-1] if records else None)
        if key[0] == self._key[0] and key[1] is self._key[1] and key[2] is self._key[2]:
            return self._json
        known: dict[int, tuple[object, bytes]] = {}
        parts = []
        for record in records:
            entry = self._records.get(id(record))
            if entry is None or entry[0] is not record:
                entry = (record, encode_json(record))
                self.encodings += 1
            known[id(record)] = entry
            parts.append(entry[1])
        self._records = known
        self._json = b"[" + b",".join(parts) + b"]"
        self._key = key
        return self._json
