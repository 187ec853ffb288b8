"""``crm_mon --one-shot --output-as=xml --inactive`` read into typed values (pure).

The XML is Pacemaker's machine interface for the cluster's state (api-version 2.x);
everything the console shows about nodes, resources, failed actions, fencing and bans
comes from it. Unknown elements and attributes are ignored, so a newer Pacemaker that
adds some still parses.
"""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass
from xml.etree import ElementTree as ET


class CrmMonError(Exception):
    """crm_mon's output cannot be used; the message says why (shown to the operator)."""


@dataclass(frozen=True, slots=True)
class Node:
    """One cluster node (``nodes/node``)."""

    name: str
    id: str
    online: bool
    standby: bool
    standby_onfail: bool
    maintenance: bool
    pending: bool
    unclean: bool
    shutdown: bool
    is_dc: bool
    resources_running: int
    type: str


@dataclass(frozen=True, slots=True)
class Resource:
    """One primitive (or one clone instance)."""

    id: str
    agent: str
    role: str
    active: bool
    failed: bool
    managed: bool
    blocked: bool
    nodes: tuple[str, ...]
    pending: str = ""
    """The action in flight (``Starting``, ``Stopping``…), "" when none."""
    target_role: str = ""


@dataclass(frozen=True, slots=True)
class Group:
    """A group, a clone or a lone primitive: what the console draws as one chain."""

    id: str
    kind: str
    """``group``, ``clone`` or ``primitive``."""
    resources: tuple[Resource, ...]
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed action (``failures/failure``)."""

    op_key: str
    node: str
    task: str
    interval_ms: int
    exitstatus: str
    exitreason: str
    exitcode: int | None
    call: str
    status: str
    last_rc_change: float | None

    @property
    def resource(self) -> str:
        """The resource id, from the op key ``RSC_TASK_INTERVAL``."""
        suffix = f"_{self.task}_{self.interval_ms}"
        return self.op_key.removesuffix(suffix) if self.op_key.endswith(suffix) else self.op_key

    @property
    def key(self) -> str:
        """What identifies this failure across polls (a repeat gets a new call id)."""
        return f"{self.op_key}@{self.node}#{self.call}"


@dataclass(frozen=True, slots=True)
class FenceEvent:
    """One entry of the fencing history (``fence_history/fence_event``)."""

    action: str
    target: str
    status: str
    """``success``, ``failed`` or ``pending``."""
    origin: str
    client: str
    delegate: str
    completed: float | None
    exit_reason: str

    @property
    def key(self) -> str:
        """What identifies this fencing operation across polls."""
        return f"{self.action}:{self.target}:{self.client}:{self.origin}:{self.completed}"


@dataclass(frozen=True, slots=True)
class Ban:
    """A negative location constraint (``bans/ban``: ``crm_resource --ban`` and others)."""

    id: str
    resource: str
    node: str
    weight: int | None


@dataclass(frozen=True, slots=True)
class Summary:
    """The ``summary`` section."""

    dc: str
    dc_version: str
    quorate: bool
    stack: str
    last_change: float | None
    last_change_by: str
    stonith_enabled: bool
    maintenance_mode: bool
    no_quorum_policy: str


@dataclass(frozen=True, slots=True)
class CrmMon:
    """The whole document."""

    summary: Summary
    nodes: tuple[Node, ...]
    groups: tuple[Group, ...]
    failures: tuple[Failure, ...]
    fencing: tuple[FenceEvent, ...]
    bans: tuple[Ban, ...]
    pacemakerd: str
    """pacemakerd's state (``running``, ``shutting_down``…), "" when not reported."""


def _bool(elem: ET.Element | None, name: str) -> bool:
    return elem is not None and elem.get(name) == "true"


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def parse_time(text: str | None) -> float | None:
    """Epoch seconds of crm_mon's two time forms, None when absent or unreadable.

    ``2026-12-06 21:37:32Z`` (ISO, UTC: failures, fencing) and ``Sun Dec  6 21:37:32
    2026`` (ctime, local time: summary, operation history).
    """
    if not text:
        return None
    text = " ".join(text.split())
    try:
        if text.endswith("Z"):
            return float(calendar.timegm(time.strptime(text, "%Y-%m-%d %H:%M:%SZ")))
        return time.mktime(time.strptime(text, "%a %b %d %H:%M:%S %Y"))
    except ValueError:
        return None


def parse_crm_mon(text: str) -> CrmMon:
    """Read crm_mon's XML.

    Raises:
        CrmMonError: not XML, not a ``pacemaker-result``, or a non-zero ``status``
            (e.g. not connected to the cluster), with crm_mon's own message.
    """
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        first = text.strip().splitlines()[0][:200] if text.strip() else "empty output"
        raise CrmMonError(f"crm_mon did not print XML ({exc}): {first}") from None
    if root.tag != "pacemaker-result":
        raise CrmMonError(f"crm_mon printed <{root.tag}>, not <pacemaker-result>")
    status = root.find("status")
    if status is not None and status.get("code") not in (None, "0"):
        errors = "; ".join((e.text or "").strip() for e in status.iter("error") if e.text)
        message = status.get("message") or "error"
        raise CrmMonError(f"crm_mon: {message}" + (f": {errors}" if errors else ""))
    return CrmMon(
        summary=_summary(root.find("summary")),
        nodes=tuple(_node(n) for n in root.iterfind("nodes/node")),
        groups=tuple(_groups(root.find("resources"))),
        failures=tuple(_failure(f) for f in root.iterfind("failures/failure")),
        fencing=tuple(_fence(f) for f in root.iterfind("fence_history/fence_event")),
        bans=tuple(_ban(b) for b in root.iterfind("bans/ban")),
        pacemakerd=_attr(root.find("pacemakerd"), "state"),
    )


def _attr(elem: ET.Element | None, name: str) -> str:
    return elem.get(name, "") if elem is not None else ""


def _summary(elem: ET.Element | None) -> Summary:
    def find(path: str) -> ET.Element | None:
        return elem.find(path) if elem is not None else None

    dc, change, options = find("current_dc"), find("last_change"), find("cluster_options")
    present = _bool(dc, "present")
    said = (_attr(change, k) for k in ("user", "client", "origin"))
    words = zip(("by", "via", "on"), said, strict=True)
    return Summary(
        dc=_attr(dc, "name") if present else "",
        dc_version=_attr(dc, "version") if present else "",
        quorate=_bool(dc, "with_quorum"),
        stack=_attr(find("stack"), "type"),
        last_change=parse_time(_attr(change, "time")),
        last_change_by=" ".join(f"{label} {value}" for label, value in words if value),
        stonith_enabled=_bool(options, "stonith-enabled"),
        maintenance_mode=_bool(options, "maintenance-mode"),
        no_quorum_policy=_attr(options, "no-quorum-policy"),
    )


def _node(elem: ET.Element) -> Node:
    return Node(
        name=elem.get("name", "?"),
        id=elem.get("id", ""),
        online=_bool(elem, "online"),
        standby=_bool(elem, "standby"),
        standby_onfail=_bool(elem, "standby_onfail"),
        maintenance=_bool(elem, "maintenance"),
        pending=_bool(elem, "pending"),
        unclean=_bool(elem, "unclean"),
        shutdown=_bool(elem, "shutdown"),
        is_dc=_bool(elem, "is_dc"),
        resources_running=_int(elem.get("resources_running")) or 0,
        type=elem.get("type", "member"),
    )


def _resource(elem: ET.Element) -> Resource:
    return Resource(
        id=elem.get("id", "?"),
        agent=elem.get("resource_agent", ""),
        role=elem.get("role", ""),
        active=_bool(elem, "active"),
        failed=_bool(elem, "failed"),
        managed=elem.get("managed") != "false",
        blocked=_bool(elem, "blocked"),
        nodes=tuple(n.get("name", "?") for n in elem.iterfind("node")),
        pending=elem.get("pending", ""),
        target_role=elem.get("target_role", ""),
    )


def _groups(resources: ET.Element | None) -> list[Group]:
    """Groups, clones and lone primitives in the order crm_mon lists them (bundles are
    shown by their primitives)."""
    found: list[Group] = []
    for elem in resources if resources is not None else ():
        if elem.tag == "group":
            members = tuple(_resource(r) for r in elem.iterfind("resource"))
            found.append(Group(elem.get("id", "?"), "group", members, _bool(elem, "disabled")))
        elif elem.tag == "clone":
            members = tuple(_resource(r) for r in elem.iter("resource"))
            found.append(Group(elem.get("id", "?"), "clone", members, _bool(elem, "disabled")))
        elif elem.tag == "resource":
            found.append(Group(elem.get("id", "?"), "primitive", (_resource(elem),)))
        elif elem.tag == "bundle":
            members = tuple(_resource(r) for r in elem.iter("resource"))
            found.append(Group(elem.get("id", "?"), "clone", members))
    return found


def _failure(elem: ET.Element) -> Failure:
    return Failure(
        op_key=elem.get("op_key", "?"),
        node=elem.get("node", "?"),
        task=elem.get("task", ""),
        interval_ms=_int(elem.get("interval")) or 0,
        exitstatus=elem.get("exitstatus", ""),
        exitreason=elem.get("exitreason", ""),
        exitcode=_int(elem.get("exitcode")),
        call=elem.get("call", ""),
        status=elem.get("status", ""),
        last_rc_change=parse_time(elem.get("last-rc-change")),
    )


def _fence(elem: ET.Element) -> FenceEvent:
    return FenceEvent(
        action=elem.get("action", "?"),
        target=elem.get("target", "?"),
        status=elem.get("status", "?"),
        origin=elem.get("origin", ""),
        client=elem.get("client", ""),
        delegate=elem.get("delegate", ""),
        completed=parse_time(elem.get("completed")),
        exit_reason=elem.get("exit-reason", ""),
    )


def _ban(elem: ET.Element) -> Ban:
    return Ban(
        id=elem.get("id", "?"),
        resource=elem.get("resource", "?"),
        node=elem.get("node", "?"),
        weight=_int(elem.get("weight")),
    )
