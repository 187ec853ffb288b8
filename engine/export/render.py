"""Write a ``PacemakerModel`` as CIB XML, ``pcs`` commands or ``crm configure`` input.

The three outputs describe the same configuration; tests check the XML with the real
``crm_verify`` and the command lists against golden files.
"""

from __future__ import annotations

import shlex
from xml.etree import ElementTree as ET

from engine.export.terms import Group, PacemakerModel, Primitive

CIB_SCHEMA = "pacemaker-3.0"
"""Oldest schema of Pacemaker 2.x: accepted by every Pacemaker still in support."""
FORMATS = ("cib", "pcs", "crm")


def render(model: PacemakerModel, fmt: str) -> str:
    """The model in ``fmt`` (one of FORMATS)."""
    if fmt == "cib":
        return to_cib(model)
    if fmt == "pcs":
        return to_pcs(model)
    if fmt == "crm":
        return to_crm(model)
    raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")


LOAD = {
    "cib": "cibadmin -R -o configuration -x FILE (replace the configuration section "
    "only: a whole-CIB replace is refused because a running cluster's epoch is already "
    "higher than this file's)",
    "pcs": "sh FILE on a cluster node: builds the configuration in a copy of the live CIB "
    "(pcs -f) and pushes it in one step (pcs cluster cib-push --config)",
    "crm": "crm configure load update FILE (or 'load replace' to drop everything else)",
}
"""How each format is loaded into a running cluster (tested in tests/pacemaker/)."""


def _header(model: PacemakerModel, comment: str, fmt: str) -> list[str]:
    lines = [
        f"{comment} Pacemaker configuration exported by hactl from Heartbeat cluster "
        f"'{model.cluster}' (nodes: {', '.join(model.nodes)}).",
        f"{comment} resource-stickiness={model.stickiness}, home node preference "
        f"{model.home_score} (see docs/migration.md for the mapping).",
        f"{comment} Load: {LOAD[fmt]}.",
    ]
    lines += [f"{comment} NOTE: {note}" for note in model.notes]
    return lines


# --------------------------------------------------------------------------- CIB XML


def _nvpairs(parent: ET.Element, set_id: str, pairs: tuple[tuple[str, str], ...]) -> None:
    for name, value in pairs:
        ET.SubElement(parent, "nvpair", id=f"{set_id}-{_safe(name)}", name=name, value=value)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "_.-" else "-" for c in name)


def _primitive_xml(parent: ET.Element, prim: Primitive) -> None:
    attrs = {"id": prim.id, "class": prim.cls}
    if prim.provider:
        attrs["provider"] = prim.provider
    attrs["type"] = prim.type
    elem = ET.SubElement(parent, "primitive", attrs)
    if prim.params:
        ia = ET.SubElement(elem, "instance_attributes", id=f"{prim.id}-instance_attributes")
        _nvpairs(ia, ia.attrib["id"], prim.params)
    ops = ET.SubElement(elem, "operations")
    interval, timeout = prim.monitor
    ET.SubElement(
        ops,
        "op",
        id=f"{prim.id}-monitor-interval-{interval}",
        name="monitor",
        interval=interval,
        timeout=timeout,
    )


def to_cib(model: PacemakerModel) -> str:
    """A complete ``<cib>`` document (empty status) for ``cibadmin --replace --scope
    configuration`` and ``crm_verify``.

    ``<nodes>`` stays empty: Pacemaker adds each node with corosync's node id when it
    joins, and an entry written here with a guessed id would clash with that one.
    """
    cib = ET.Element(
        "cib",
        {
            "crm_feature_set": "3.0.14",
            "validate-with": CIB_SCHEMA,
            "epoch": "1",
            "num_updates": "0",
            "admin_epoch": "0",
        },
    )
    conf = ET.SubElement(cib, "configuration")
    crm_config = ET.SubElement(conf, "crm_config")
    props = ET.SubElement(crm_config, "cluster_property_set", id="cib-bootstrap-options")
    _nvpairs(props, "cib-bootstrap-options", tuple(model.properties))
    ET.SubElement(conf, "nodes")
    resources = ET.SubElement(conf, "resources")
    for group in model.groups:
        elem = ET.SubElement(resources, "group", id=group.id)
        for prim in group.members:
            _primitive_xml(elem, prim)
    for device in model.fencing:
        _primitive_xml(resources, device)
    constraints = ET.SubElement(conf, "constraints")
    for group in model.groups:
        ET.SubElement(
            constraints,
            "rsc_location",
            id=_location_id(group),
            rsc=group.id,
            node=group.home,
            score=str(model.home_score),
        )
    for avoid in model.avoid:
        ET.SubElement(
            constraints,
            "rsc_location",
            id=f"location-{avoid.rsc}-{avoid.node}",
            rsc=avoid.rsc,
            node=avoid.node,
            score="-INFINITY",
        )
    defaults = ET.SubElement(conf, "rsc_defaults")
    meta = ET.SubElement(defaults, "meta_attributes", id="rsc_defaults-options")
    _nvpairs(meta, "rsc_defaults-options", (("resource-stickiness", str(model.stickiness)),))
    ET.SubElement(cib, "status")
    ET.indent(cib, space="  ")
    comments = "".join(
        f"<!--{line[3:].replace('--', '- -')} -->\n" for line in _header(model, "###", "cib")
    )
    body = ET.tostring(cib, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{comments}{body}\n'


def _location_id(group: Group) -> str:
    return f"location-{group.id}-{group.home}"


# --------------------------------------------------------------------------- pcs


def _op(prim: Primitive) -> list[str]:
    interval, timeout = prim.monitor
    return ["op", "monitor", f"interval={interval}", f"timeout={timeout}"]


def _pcs(*words: str) -> str:
    return " ".join(shlex.quote(w) for w in words)


def to_pcs(model: PacemakerModel) -> str:
    """A ``sh`` script of ``pcs`` commands (pcs 0.10+) run on a cluster node.

    The commands edit a copy of the live CIB (``pcs -f``) that is pushed once at the end:
    run one by one on the live cluster, a group would start as soon as its first member
    exists, before its location preference does.
    """
    lines = ["#!/bin/sh", *_header(model, "#", "pcs"), "set -e"]
    lines += ['CIB="$(mktemp)"', "trap 'rm -f \"$CIB\"' EXIT", 'pcs cluster cib "$CIB"']
    lines.append(_pcs_f("property", "set", *(f"{k}={v}" for k, v in model.properties)))
    lines.append(
        _pcs_f("resource", "defaults", "update", f"resource-stickiness={model.stickiness}")
    )
    for group in model.groups:
        lines.append(f"# {group.source}")
        for prim in group.members:
            params = [f"{k}={v}" for k, v in prim.params]
            lines.append(
                _pcs_f(
                    "resource", "create", prim.id, prim.agent, *params, *_op(prim),
                    "--group", group.id,
                )
            )  # fmt: skip
        lines.append(
            _pcs_f(
                "constraint", "location", group.id, "prefers", f"{group.home}={model.home_score}"
            )
        )
    for device in model.fencing:
        params = [f"{k}={v}" for k, v in device.params]
        lines.append(f"# {device.source}")
        lines.append(_pcs_f("stonith", "create", device.id, device.type, *params, *_op(device)))
    for avoid in model.avoid:
        lines.append(_pcs_f("constraint", "location", avoid.rsc, "avoids", avoid.node))
    lines.append('pcs cluster cib-push "$CIB" --config')
    return "\n".join(lines) + "\n"


def _pcs_f(*words: str) -> str:
    """``pcs -f "$CIB" WORDS...`` with every word quoted for sh."""
    return 'pcs -f "$CIB" ' + _pcs(*words)


# --------------------------------------------------------------------------- crm


def _crm_value(name: str, value: str) -> str:
    if value and all(c.isalnum() or c in "_.-/:,@+" for c in value):
        return f"{name}={value}"
    return f"{name}='{value}'" if '"' in value else f'{name}="{value}"'


def _crm_primitive(prim: Primitive) -> str:
    words = ["primitive", prim.id, prim.agent]
    if prim.params:
        words += ["params", *(_crm_value(k, v) for k, v in prim.params)]
    words += _op(prim)
    return " ".join(words)


def to_crm(model: PacemakerModel) -> str:
    """``crm configure`` input: load with ``crm configure load update FILE``.

    crmsh keeps comments as XML comments and refuses a load whose comments hold ``--``.
    """
    lines = [line.replace("--", "- -") for line in _header(model, "#", "crm")]
    lines.append("property " + " ".join(_crm_value(k, v) for k, v in model.properties))
    lines.append(f"rsc_defaults resource-stickiness={model.stickiness}")
    for group in model.groups:
        lines.append(f"# {group.source}")
        lines += [_crm_primitive(prim) for prim in group.members]
        lines.append(" ".join(["group", group.id, *(p.id for p in group.members)]))
        lines.append(f"location {_location_id(group)} {group.id} {model.home_score}: {group.home}")
    for device in model.fencing:
        lines.append(f"# {device.source}")
        lines.append(_crm_primitive(device))
    for avoid in model.avoid:
        lines.append(f"location location-{avoid.rsc}-{avoid.node} {avoid.rsc} -inf: {avoid.node}")
    return "\n".join(lines) + "\n"
