"""``stonith`` / ``stonith_host`` lines → Pacemaker fencing primitives (class ``stonith``).

Heartbeat names a cluster-glue plugin and a positional parameter string; Pacemaker runs
the same cluster-glue plugins (``stonith:external/ipmi``) with named parameters, or the
``fence_*`` agents of fence-agents with ``name=value`` ones. The positional names come
from ``stonith -t TYPE -n`` (spec §8.4); as in Heartbeat the last name takes the rest of
the line, spaces included.
"""

from __future__ import annotations

import logging
from pathlib import Path

from engine.export.terms import (
    STONITH_MONITOR,
    Avoid,
    ExportError,
    Ids,
    PacemakerModel,
    Primitive,
)

logger = logging.getLogger(__name__)

PLUGIN_PARAMS: dict[str, tuple[str, ...]] = {
    "null": ("hostlist",),
    "meatware": ("hostlist",),
    "suicide": (),
    "ssh": ("hostlist",),
    "external/ssh": ("hostlist",),
    "external/ipmi": ("hostname", "ipaddr", "userid", "passwd", "interface"),
    "ipmilan": (
        "hostname",
        "ipaddr",
        "port",
        "auth",
        "priv",
        "login",
        "password",
        "reset_method",
    ),
    "baytech": ("ipaddr", "login", "password"),
    "apcmaster": ("ipaddr", "login", "password"),
    "apcsmart": ("ttydev", "hostlist"),
    "apcmastersnmp": ("ipaddr", "port", "community"),
    "wti_nps": ("ipaddr", "password"),
    "wti_mpc": ("ipaddr", "port", "community", "mib-version"),
    "rps10": ("serial_to_targets",),
    "nw_rpc100s": ("ttydev", "hostlist"),
    "rcd_serial": ("hostlist", "ttydev", "dtr_rts", "msduration"),
    "cyclades": ("ipaddr", "login", "serialport"),
    "drac3": ("host", "login", "password"),
    "ibmhmc": ("ipaddr",),
    "bladehpi": ("entity_root",),
    "external/libvirt": ("hostlist", "hypervisor_uri", "reboot_method"),
    "external/xen0": ("hostlist", "dom0"),
    "external/kdumpcheck": ("hostlist", "identity_file"),
}
"""cluster-glue plugins of Debian 12 and their ``-p`` parameter order (spec §8.4)."""

StonithLine = tuple[str, str, str, str]
"""(directive, host_from, plugin, params) as ha.cf wrote them."""


def split_parameters(plugin: str, text: str) -> list[tuple[str, str]]:
    """Heartbeat's rule: tokens in order, the last name takes the remainder.

    Raises:
        ExportError: unknown plugin, or a ``fence_*`` token that is not name=value.
    """
    if plugin.startswith("fence_"):
        pairs = []
        for token in text.split():
            name, sep, value = token.partition("=")
            if not sep or not name:
                raise ExportError(
                    f"STONITH type {plugin}: parameter {token!r} is not name=value "
                    "(fence agents take named parameters, e.g. ip=10.0.0.3 username=admin)"
                )
            pairs.append((name, value))
        return pairs
    if plugin not in PLUGIN_PARAMS:
        raise ExportError(
            f"unknown STONITH type {plugin!r}: its parameter names are not known "
            "(known: " + ", ".join(sorted(PLUGIN_PARAMS)) + ", and fence_* agents)"
        )
    names = PLUGIN_PARAMS[plugin]
    if not names:
        return []
    tokens = text.split(None, len(names) - 1)
    return list(zip(names, tokens, strict=False))


def read_stonith_file(path: str) -> str:
    """The first non-comment, non-empty line of a ``stonith <type> <file>`` file."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ExportError(f"cannot read STONITH config file {path}: {exc}") from None
    for line in lines:
        if line.strip() and not line.lstrip().startswith("#"):
            return line.strip()
    raise ExportError(f"STONITH config file {path} has no parameter line")


def _targets(params: list[tuple[str, str]]) -> list[str]:
    """The nodes a device resets, when its parameters say so."""
    for name, value in params:
        if name in ("hostlist", "hostname", "pcmk_host_list"):
            return [h.lower() for h in value.replace(",", " ").split()]
    return []


def fencing_devices(model: PacemakerModel, lines: list[StonithLine], ids: Ids) -> None:
    """Append one fencing primitive per distinct stonith line (and its constraints)."""
    seen: set[tuple[str, str]] = set()
    for directive, host_from, plugin, text in lines:
        params_text = read_stonith_file(text) if directive == "stonith" else text
        if (plugin, params_text) in seen:
            continue
        seen.add((plugin, params_text))
        params = split_parameters(plugin, params_text)
        targets = _targets(params)
        if targets and not any(name == "pcmk_host_list" for name, _ in params):
            params.append(("pcmk_host_list", " ".join(targets)))
        label = "-".join(targets) if targets else plugin.replace("/", "-")
        device = Primitive(
            ids.make(f"fence-{label}"),
            "stonith",
            plugin,
            params=tuple(params),
            monitor=STONITH_MONITOR,
            source=f"{directive} {host_from + ' ' if directive == 'stonith_host' else ''}"
            f"{plugin} ...",
        )
        model.fencing.append(device)
        _constraints(model, device, targets, host_from)
        if plugin == "meatware":
            model.notes.append(
                f"{device.id}: meatware waits for an operator; in Pacemaker confirm a "
                "manual reset with 'stonith_admin -C NODE' instead of meatclient."
            )


def _constraints(
    model: PacemakerModel, device: Primitive, targets: list[str], host_from: str
) -> None:
    allowed = [n for n in model.nodes if n not in targets]
    if allowed:
        model.avoid.extend(Avoid(device.id, n) for n in targets if n in model.nodes)
    if host_from not in ("*", ""):
        model.notes.append(
            f"{device.id}: 'stonith_host {host_from}' limited the device to {host_from}; "
            "in Pacemaker any node may fence with it (it only avoids running on its targets)."
        )
