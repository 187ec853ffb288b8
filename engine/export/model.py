"""A Heartbeat configuration translated into Pacemaker terms (tool-neutral values).

Rules of this module: ``build_model`` is pure (config in, model out; it reads nothing
but ``resource.d`` names and ``stonith`` config files the configuration names). What
cannot be translated faithfully becomes a ``note`` that every output format prints,
never a silent guess. The mapping decisions are documented in docs/migration.md.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from engine.config.model import AutoFailback, ClusterConfig, GroupSpec, ResourceSpec
from engine.errors import HeartbeatError
from engine.resources.agents import map_filesystem_args, map_ipaddr_args

logger = logging.getLogger(__name__)

HOME_SCORE = 100
"""Location preference of a group for its haresources node."""
STICKY_SCORE = 1000
"""``auto_failback off``: stickiness well above HOME_SCORE, yet below INFINITY so an
explicit ``crm resource move`` / ``pcs resource move`` (an INFINITY preference) still wins."""

_ID_BAD = re.compile(r"[^A-Za-z0-9_.-]+")

OCF_WRAPPERS: dict[str, tuple[str, ...]] = {
    "IPv6addr": ("ipv6addr",),
    "apache": ("configfile",),
    "MailTo": ("email", "subject"),
    "IPsrcaddr": ("ipaddress",),
    "Xinetd": ("service",),
    "LVM": ("volgrpname",),
    "Delay": ("startdelay", "stopdelay"),
    "portblock": ("protocol", "portno", "action"),
    "Raid1": ("raidconf", "raiddev"),
    "SendArp": ("ip",),
}
"""resource.d wrappers of Heartbeat 3.0.6 → OCF heartbeat agent and positional names
(IPaddr, IPaddr2 and Filesystem have their own splitting)."""

MONITOR: dict[str, tuple[str, str]] = {
    "IPaddr": ("10s", "20s"),
    "IPaddr2": ("10s", "20s"),
    "IPv6addr": ("10s", "20s"),
    "Filesystem": ("20s", "40s"),
}
"""(interval, timeout) of ``op monitor`` by agent type; others get DEFAULT_MONITOR."""
DEFAULT_MONITOR = ("30s", "30s")
STONITH_MONITOR = ("60s", "60s")


@dataclass(frozen=True, slots=True)
class Primitive:
    """One Pacemaker primitive: ``class[:provider]:type`` with its parameters."""

    id: str
    cls: str
    type: str
    provider: str = ""
    params: tuple[tuple[str, str], ...] = ()
    monitor: tuple[str, str] = DEFAULT_MONITOR
    source: str = ""
    """The haresources token or ha.cf line it came from (for comments)."""

    @property
    def agent(self) -> str:
        """``ocf:heartbeat:IPaddr2``, ``lsb:apache2``, ``stonith:external/ipmi``."""
        return ":".join(p for p in (self.cls, self.provider, self.type) if p)


@dataclass(frozen=True, slots=True)
class Group:
    """One haresources line: an ordered, colocated group and its home node."""

    id: str
    members: tuple[Primitive, ...]
    home: str
    source: str


@dataclass(frozen=True, slots=True)
class Avoid:
    """A fencing device must not run on the node it fences."""

    rsc: str
    node: str


@dataclass
class PacemakerModel:
    """Everything the CIB, pcs and crm writers need."""

    cluster: str
    nodes: tuple[str, ...]
    groups: list[Group] = field(default_factory=list)
    fencing: list[Primitive] = field(default_factory=list)
    avoid: list[Avoid] = field(default_factory=list)
    stickiness: int = 0
    home_score: int = HOME_SCORE
    properties: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class ExportError(HeartbeatError):
    """A haresources token or STONITH line that cannot be turned into Pacemaker terms."""


class Ids:
    """XML ids that are valid NCNames and unique across the whole configuration."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def make(self, wanted: str) -> str:
        base = _ID_BAD.sub("-", wanted).strip("-.") or "rsc"
        if not (base[0].isalpha() or base[0] == "_"):
            base = f"r-{base}"
        candidate, n = base, 2
        while candidate in self._used:
            candidate, n = f"{base}-{n}", n + 1
        self._used.add(candidate)
        return candidate


def build_model(
    config: ClusterConfig,
    stonith: list[tuple[str, str, str, str]] | None = None,
) -> PacemakerModel:
    """Translate groups, failback policy and fencing lines into a ``PacemakerModel``.

    Args:
        config: the loaded configuration (any node's view).
        stonith: (directive, host_from, plugin, params) of every stonith line of the
            cluster (ha.cf lines for all nodes); None means ``config.stonith``.

    Raises:
        ExportError: a resource or fencing line that cannot be translated.
    """
    from engine.export.stonith import fencing_devices

    ids = Ids()
    model = PacemakerModel(cluster=config.cluster, nodes=config.nodes)
    resource_d = Path(config.config_dir) / "resource.d"
    for spec in config.groups:
        model.groups.append(_group(spec, ids, resource_d))
    lines = stonith
    if lines is None:
        lines = [(s.directive, s.host_from, s.plugin, s.params) for s in config.stonith]
    fencing_devices(model, lines, ids)
    _policy(model, config)
    return model


def _policy(model: PacemakerModel, config: ClusterConfig) -> None:
    if config.auto_failback is AutoFailback.OFF:
        model.stickiness = STICKY_SCORE
    else:
        model.stickiness = 0
    if config.auto_failback is AutoFailback.LEGACY:
        model.notes.append(
            "auto_failback legacy (the default) is exported like 'on': groups move back to "
            "their home node when it returns."
        )
    model.properties.append(("stonith-enabled", "true" if model.fencing else "false"))
    model.properties.append(("no-quorum-policy", "ignore"))
    if not model.fencing:
        model.notes.append(
            "no STONITH device configured: stonith-enabled=false, as Heartbeat ran; shared "
            "data is NOT protected against split brain. Add a fence device and set "
            "stonith-enabled=true before production."
        )
    if len(model.nodes) == 2:
        model.notes.append(
            "two nodes: Heartbeat had no quorum, hence no-quorum-policy=ignore. With "
            "corosync 2+ prefer 'quorum { provider: corosync_votequorum; two_node: 1 }' "
            "(implies wait_for_all) and then no-quorum-policy=stop."
        )


def _group(spec: GroupSpec, ids: Ids, resource_d: Path) -> Group:
    members = tuple(_primitive(r, ids, resource_d) for r in spec.resources)
    service = members[-1].id
    return Group(ids.make(f"rg-{service}"), members, spec.node, spec.canonical)


def _primitive(spec: ResourceSpec, ids: Ids, resource_d: Path) -> Primitive:
    try:
        return _translate(spec, ids, resource_d)
    except HeartbeatError as exc:
        raise ExportError(f"haresources: {exc}") from None


def _translate(spec: ResourceSpec, ids: Ids, resource_d: Path) -> Primitive:
    script = spec.script
    if script.startswith("systemd:"):
        unit = script.removeprefix("systemd:")
        name = unit.removesuffix(".service")
        return Primitive(ids.make(name), "systemd", unit, source=spec.token)
    if script in ("IPaddr", "IPaddr2"):
        params = map_ipaddr_args(spec)
        return _ocf(ids.make(f"ip-{params['ip']}"), script, params, spec)
    if script == "Filesystem":
        params = map_filesystem_args(spec)
        where = params.get("directory", "").strip("/").replace("/", "-") or "root"
        return _ocf(ids.make(f"fs-{where}"), script, params, spec)
    if spec.args and all("=" in a for a in spec.args):
        params = dict(a.split("=", 1) for a in spec.args)
        return _ocf(ids.make(script), script, params, spec)
    if script in OCF_WRAPPERS:
        names = OCF_WRAPPERS[script]
        if len(spec.args) > len(names):
            raise ExportError(
                f"{spec.token}: {script} takes at most {len(names)} arguments: {', '.join(names)}"
            )
        return _ocf(
            ids.make(script.lower()), script, dict(zip(names, spec.args, strict=False)), spec
        )
    if spec.args or (resource_d / script).exists():
        # A resource.d script: Pacemaker's "heartbeat" class runs it from
        # /etc/ha.d/resource.d with the same positional arguments.
        params = {str(i): arg for i, arg in enumerate(spec.args, start=1)}
        return Primitive(
            ids.make(script), "heartbeat", script, params=tuple(params.items()), source=spec.token
        )
    return Primitive(ids.make(script), "lsb", script, source=spec.token)


def _ocf(rid: str, agent: str, params: dict[str, str], spec: ResourceSpec) -> Primitive:
    return Primitive(
        rid,
        "ocf",
        agent,
        provider="heartbeat",
        params=tuple(params.items()),
        monitor=MONITOR.get(agent, DEFAULT_MONITOR),
        source=spec.token,
    )
