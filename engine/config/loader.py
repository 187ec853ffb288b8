"""``load_config``: read ``ha.cf``, ``authkeys``, ``haresources`` and ``hatui.conf``.

The order follows Heartbeat's start-up (spec §2.5): ha.cf, authkeys, the post-parse
checks, then haresources; then our optional hatui.conf (the settings Heartbeat has no
directive for: STONITH knobs, resource monitoring). Unlike Heartbeat we never stop at
the first problem: every file is read and every issue collected, so ``--check-config``
shows them all at once.

Rules of this module: loading reads files and runs nothing (no program, no plugin, no
import of a layer above ``engine.config``), so it may run in a worker thread with a
timeout. Probing the STONITH plugin is ``engine.stonith.config.probe_device``'s work;
``engine.shell.reload.load_checked`` does both for start-up, reload and
``--check-config`` alike.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from engine.config.authkeys import parse_authkeys
from engine.config.hacf import KNOWN_DIRECTIVES, ParsedHaCf, Resolver, parse_hacf
from engine.config.haresources import parse_haresources
from engine.config.hatuiconf import read_hatui_conf
from engine.config.machine import Machine, machine_issues
from engine.config.model import (
    AuthConfig,
    ClusterConfig,
    GroupSpec,
    HatuiConf,
    Issue,
    LogConfig,
    Severity,
    SourceRef,
    Timing,
)
from engine.config.monitor import check_monitor, monitor_config
from engine.config.stonithconf import check_settings, line_issues
from engine.config.validate import validate_hacf

logger = logging.getLogger(__name__)

HACF = "ha.cf"
AUTHKEYS = "authkeys"
HARESOURCES = "haresources"
NODEINFO = "nodeinfo"


@dataclass
class LoadResult:
    """The configuration (None when any issue is an error) and every issue found."""

    config: ClusterConfig | None
    issues: list[Issue] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        """The issues that refuse the configuration."""
        return [issue for issue in self.issues if issue.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Issue]:
        """The issues that do not refuse the configuration but should be read."""
        return [issue for issue in self.issues if issue.severity is Severity.WARNING]


def local_node_name(config_dir: Path, node_name: str | None = None) -> str:
    """``--node``, else the first line of ``nodeinfo``, else ``uname -n``; lower-cased."""
    if node_name:
        return node_name.strip().lower()
    try:
        lines = (config_dir / NODEINFO).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        lines = []
    first = lines[0].strip() if lines else ""
    return (first or os.uname().nodename).lower()


def load_config(
    config_dir: Path,
    node_name: str | None = None,
    *,
    resolve: Resolver = socket.gethostbyname,
    euid: int | None = None,
    machine: Machine | None = None,
) -> LoadResult:
    """Read and check the files in ``config_dir``; never raises on bad content.

    Args:
        config_dir: the directory holding ha.cf, authkeys, haresources (and the
            optional nodeinfo and hatui.conf).
        node_name: the ``--node`` argument; None to use nodeinfo or ``uname -n``.
        resolve: host-name resolver for ``ucast`` peers.
        euid: the uid allowed to own authkeys besides root (default: our own).
        machine: where this machine's interfaces, addresses and resource programs
            are read from (default: the real places), for the warnings about them.

    Returns:
        The configuration, or None with the errors that refuse it, and all issues.
    """
    name = local_node_name(config_dir, node_name)
    parsed = parse_hacf(config_dir / HACF, name, resolve)
    if not parsed.opened:
        return LoadResult(None, parsed.issues)
    issues = list(parsed.issues)
    auth, auth_issues = parse_authkeys(config_dir / AUTHKEYS, euid)
    issues.extend(auth_issues)
    validated = validate_hacf(parsed, name)
    issues.extend(validated.issues)
    groups = _load_groups(config_dir, parsed, issues)
    issues.extend(machine_issues(config_dir, parsed.media, parsed.nodes, groups, machine))
    hatui, hatui_issues = read_hatui_conf(config_dir, hacf_directives=KNOWN_DIRECTIVES)
    issues.extend(hatui_issues)
    issues.extend(check_monitor(hatui, crm=parsed.crm, auto_failback=parsed.auto_failback))
    issues.extend(_stonith_issues(parsed, hatui))
    if any(issue.severity is Severity.ERROR for issue in issues) or auth is None:
        return LoadResult(None, issues)
    config = _build(config_dir, name, parsed, validated.timing, auth, groups, hatui)
    logger.debug("configuration loaded from %s: %d issue(s)", config_dir, len(issues))
    return LoadResult(config, issues)


def _stonith_issues(parsed: ParsedHaCf, hatui: HatuiConf) -> list[Issue]:
    """What the stonith lines and the fencing keys say on their own; which plugin takes
    a type is the STONITH layer's probe (it runs programs), done off the loop."""
    return check_settings(hatui) + line_issues(parsed.stonith)


def _load_groups(config_dir: Path, parsed: ParsedHaCf, issues: list[Issue]) -> list[GroupSpec]:
    path = config_dir / HARESOURCES
    if parsed.crm:
        if path.exists():
            issues.append(
                Issue(
                    Severity.WARNING,
                    SourceRef(str(path)),
                    f"File {path} exists.",
                    "This file is not used because pacemaker is enabled",
                )
            )
        return []
    groups, found = parse_haresources(path, parsed.nodes)
    issues.extend(found)
    return groups


def _build(
    config_dir: Path,
    name: str,
    parsed: ParsedHaCf,
    timing: Timing,
    auth: AuthConfig,
    groups: list[GroupSpec],
    hatui: HatuiConf,
) -> ClusterConfig:
    log = LogConfig(
        logfile=parsed.logfile,
        debugfile=parsed.debugfile,
        logfacility=parsed.logfacility,
        use_logd=bool(parsed.use_logd),
        debug=parsed.debug,
        syslogmsgfmt=parsed.syslogmsgfmt,
        log_badpack=parsed.log_badpack,
    )
    return ClusterConfig(
        config_dir=str(config_dir),
        node_name=name,
        nodes=tuple(parsed.nodes),
        timing=timing,
        media=tuple(parsed.media),
        auth=auth,
        groups=tuple(groups),
        udpport=parsed.udpport,
        baud=parsed.baud,
        auto_failback=parsed.auto_failback,
        stonith=tuple(parsed.stonith),
        children=tuple(parsed.children),
        log=log,
        hopfudge=parsed.hopfudge,
        hbgenmethod=parsed.hbgenmethod,
        uuidfrom=parsed.uuidfrom,
        realtime=parsed.realtime,
        rtprio=parsed.rtprio,
        msgfmt=parsed.msgfmt,
        max_rexmit_delay_ms=parsed.max_rexmit_delay_ms,
        cluster=parsed.cluster,
        watchdog=parsed.watchdog,
        env=tuple(parsed.env),
        crm=parsed.crm,
        parameters=tuple(parsed.parameters.items()),
        not_acted_on=tuple(parsed.not_acted_on),
        apiauth=tuple(parsed.apiauth),
        hatui=hatui,
        monitor=monitor_config(hatui),
    )
