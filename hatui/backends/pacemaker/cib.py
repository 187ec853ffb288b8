"""Location constraints from ``cibadmin --query --scope constraints`` (pure).

crm_mon's XML lists only negative constraints (bans); the positive one that
``crm_resource --move`` leaves (``cli-prefer-RSC``) and the home preference of an
exported configuration are read here, from the CIB itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree import ElementTree as ET

INFINITY = 1_000_000
"""Pacemaker's INFINITY score."""

OPERATOR_PREFIXES = ("cli-prefer-", "cli-ban-")
"""Ids of the constraints ``crm_resource --move``/``--ban`` leave behind (and
``crm_resource --clear`` removes)."""


class CibError(Exception):
    """cibadmin's output cannot be read; the message says why."""


@dataclass(frozen=True, slots=True)
class Location:
    """One ``rsc_location`` with a node and a score (rule-based ones have no node)."""

    id: str
    resource: str
    node: str
    score: int | None
    """None for a rule-based constraint (no fixed score/node)."""

    @property
    def left_by_operator(self) -> bool:
        """True for what ``crm_resource --move``/``--ban`` created."""
        return self.id.startswith(OPERATOR_PREFIXES)

    @property
    def kind(self) -> str:
        """``prefer`` (positive score), ``ban`` (negative) or ``rule``."""
        if self.score is None:
            return "rule"
        return "prefer" if self.score > 0 else "ban"


def parse_score(text: str | None) -> int | None:
    """``INFINITY``, ``+INFINITY``, ``-INFINITY`` or an integer; None otherwise."""
    if text is None:
        return None
    value = text.strip().upper().lstrip("+")
    if value in ("INFINITY", "INF"):
        return INFINITY
    if value in ("-INFINITY", "-INF"):
        return -INFINITY
    try:
        return max(-INFINITY, min(INFINITY, int(value)))
    except ValueError:
        return None


def parse_locations(text: str) -> list[Location]:
    """Every ``rsc_location`` of a ``<constraints>`` (or whole CIB) document.

    Raises:
        CibError: the text is not XML.
    """
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise CibError(f"cibadmin did not print XML: {exc}") from None
    found = []
    for elem in root.iter("rsc_location"):
        node = elem.get("node", "")
        found.append(
            Location(
                id=elem.get("id", "?"),
                resource=elem.get("rsc", elem.get("rsc-pattern", "?")),
                node=node,
                score=parse_score(elem.get("score")) if node else None,
            )
        )
    return found
