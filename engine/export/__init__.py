"""``hactl export pacemaker``: Heartbeat's ha.cf + haresources (+ STONITH) → Pacemaker.

``export_pacemaker(config_dir, fmt)`` reads the configuration with ``load_config`` (no
running engine needed) and returns the CIB XML, ``pcs`` commands or ``crm configure``
input. The mapping is documented in docs/migration.md.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass, field
from pathlib import Path

from engine.config import format_report, load_config
from engine.config.hacf import parse_hacf
from engine.config.model import ClusterConfig, Issue
from engine.export.model import build_model
from engine.export.render import FORMATS, render, to_cib, to_crm, to_pcs
from engine.export.stonith import StonithLine
from engine.export.terms import ExportError, PacemakerModel
from engine.export.wrappers import wrapper_scripts, write_wrappers

logger = logging.getLogger(__name__)

__all__ = [
    "FORMATS",
    "ExportError",
    "ExportResult",
    "PacemakerModel",
    "build_model",
    "export_pacemaker",
    "load_cluster",
    "render",
    "to_cib",
    "to_crm",
    "to_pcs",
    "write_wrappers",
]


@dataclass
class ExportResult:
    """The exported text, or None with a message that says why not."""

    text: str | None
    error: str = ""
    issues: list[Issue] = field(default_factory=list)
    wrappers: dict[str, str] = field(default_factory=dict)
    """Init-script wrappers the configuration needs (file name → text)."""


def _resolve(host: str) -> str:
    """Resolve ucast peers when possible; exporting must not depend on DNS."""
    try:
        return socket.gethostbyname(host)
    except OSError:
        return "192.0.2.1"


def load_cluster(
    config_dir: Path, node: str | None = None
) -> tuple[ClusterConfig | None, list[StonithLine], list[Issue]]:
    """The configuration seen from one node, plus the stonith lines of every node.

    ``stonith_host`` lines for other hosts are dropped by the parser (Heartbeat only
    keeps its own), so the file is parsed once per node to collect them all. When
    ``node`` is None the local name is used if it is a cluster node, else the first one.
    """
    first = parse_hacf(config_dir / "ha.cf", node or "", _resolve)
    if node is None and first.nodes:
        result = load_config(config_dir, None, resolve=_resolve)
        if result.config is None and any(
            "not in configuration" in i.message for i in result.issues
        ):
            result = load_config(config_dir, first.nodes[0], resolve=_resolve)
    else:
        result = load_config(config_dir, node, resolve=_resolve)
    if result.config is None:
        return None, [], result.issues
    lines: dict[str, StonithLine] = {}
    for name in result.config.nodes:
        parsed = parse_hacf(config_dir / "ha.cf", name, _resolve)
        for spec in parsed.stonith:
            lines.setdefault(
                str(spec.where), (spec.directive, spec.host_from, spec.plugin, spec.params)
            )
    return result.config, list(lines.values()), result.issues


def export_pacemaker(config_dir: Path, fmt: str = "cib", node: str | None = None) -> ExportResult:
    """Read ``config_dir`` and render it as ``fmt`` (cib, pcs or crm)."""
    if fmt not in FORMATS:
        return ExportResult(None, f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    config, lines, issues = load_cluster(config_dir, node)
    if config is None:
        report = format_report(issues, None)
        return ExportResult(None, f"configuration in {config_dir} is not usable:\n{report}", issues)
    if config.crm:
        return ExportResult(
            None, f"{config_dir}/ha.cf says 'crm on': Pacemaker already manages the resources"
        )
    try:
        model = build_model(config, lines)
    except ExportError as exc:
        return ExportResult(None, str(exc), issues)
    return ExportResult(render(model, fmt), "", issues, wrapper_scripts(model))
