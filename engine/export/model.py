"""A Heartbeat configuration translated into Pacemaker terms (tool-neutral values).

Rules of this module: ``build_model`` is pure (config in, model out; it reads nothing
but ``resource.d`` names and ``stonith`` config files the configuration names). What
cannot be translated faithfully becomes a ``note`` that every output format prints,
never a silent guess. The mapping decisions are documented in docs/migration.md.
"""

from __future__ import annotations

import logging
from pathlib import Path

from engine.config.model import AutoFailback, ClusterConfig, GroupSpec, ResourceSpec
from engine.errors import HeartbeatError
from engine.export.stonith import fencing_devices
from engine.export.terms import (
    DEFAULT_MONITOR,
    MONITOR,
    STICKY_SCORE,
    ExportError,
    Group,
    Ids,
    PacemakerModel,
    Primitive,
)
from engine.resources.agents import map_filesystem_args, map_ipaddr_args

logger = logging.getLogger(__name__)

INIT_D = Path("/etc/init.d")

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
    for prim in model.wrapped:
        model.notes.append(
            f"{prim.source} -> lsb:{prim.type}: Pacemaker 2 has no 'heartbeat' resource "
            f"class, so /etc/init.d/{prim.type} runs '{' '.join(prim.wraps)}' and judges its "
            "status text as Heartbeat did. Write it on every node with 'hactl export "
            "pacemaker -w /etc/init.d'."
        )
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
    model.properties.append(("no-quorum-policy", "stop"))
    if not model.fencing:
        model.notes.append(
            "no STONITH device configured: stonith-enabled=false, as Heartbeat ran; shared "
            "data is NOT protected against split brain. Add a fence device and set "
            "stonith-enabled=true before production."
        )
    model.notes.append(_quorum_note(len(model.nodes)))


def _quorum_note(nodes: int) -> str:
    """Why no-quorum-policy=stop, and what corosync.conf needs for it (migration.md)."""
    if nodes == 2:
        return (
            "two nodes: no-quorum-policy=stop needs 'quorum { provider: "
            "corosync_votequorum; two_node: 1 }' in corosync.conf, so the survivor of a "
            "crash keeps quorum and takes over as Heartbeat did (two_node implies "
            "wait_for_all: after a cold start both nodes must have met once). Without "
            "two_node a lone survivor has no quorum and stops every resource."
        )
    return (
        f"{nodes} nodes: Heartbeat had no quorum; Pacemaker's no-quorum-policy=stop stops "
        "the resources of a partition without a majority, so a split cannot run a group "
        "twice."
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
        # Pacemaker 2 has no "heartbeat" class (crm_resource --list-standards): the
        # script runs through an init-script wrapper that passes its arguments.
        path = resource_d / script if (resource_d / script).exists() else INIT_D / script
        name = ids.make("-".join([script, *spec.args]))
        return Primitive(name, "lsb", name, source=spec.token, wraps=(str(path), *spec.args))
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
