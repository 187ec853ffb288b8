"""Post-parse validation and derived values of ``ha.cf`` (spec §2.5, in that order).

Rules of this module: every rule that compares two timers lives in ``check_timing`` and
nowhere else, so that the daemon and the setup wizard agree. ``validate_hacf`` runs the
steps of Heartbeat's ``init_config`` in order and fills in derived defaults.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from engine.config.hacf import ParsedHaCf
from engine.config.model import (
    AutoFailback,
    Issue,
    MediumKind,
    Severity,
    SourceRef,
    Timing,
)
from engine.config.timeparse import format_ms

MIN_COMFORTABLE_INITDEAD_MS = 10_000


def default_warntime_ms(deadtime_ms: int) -> int:
    """Heartbeat: warntime defaults to half the deadtime."""
    return deadtime_ms // 2


def default_initdead_ms(deadtime_ms: int) -> int:
    """Heartbeat: deadtime if > 10 s; 12 s if deadtime < 6 s; else twice the deadtime."""
    if deadtime_ms > 10_000:
        return deadtime_ms
    if deadtime_ms < 6_000:
        return 12_000
    return 2 * deadtime_ms


def check_timing(
    keepalive_ms: int,
    deadtime_ms: int,
    warntime_ms: int,
    initdead_ms: int,
    *,
    deadping_ms: int | None = None,
    refs: Mapping[str, SourceRef] | None = None,
    fallback: SourceRef | None = None,
    has_ping_nodes: bool = True,
    texts: Mapping[str, str] | None = None,
) -> list[Issue]:
    """Every cross-field timer rule, in Heartbeat's order (spec §2.5 steps 8, 10, 11).

    Heartbeat's rules:
      * deadtime must be more than twice keepalive (error);
      * initdead smaller than deadtime is an error, below 10 s a warning;
      * deadping (ping nodes) must be more than twice keepalive (error).
    Our additions (warnings; Heartbeat accepts these):
      * warntime at or above deadtime never warns before the node is declared dead;
      * warntime below keepalive warns about every single heartbeat.

    Args:
        keepalive_ms: interval between heartbeats.
        deadtime_ms: silence after which a node is declared dead.
        warntime_ms: silence after which a "late heartbeat" is logged.
        initdead_ms: deadtime used until communications are up.
        deadping_ms: deadtime of ping nodes (None: not checked).
        refs: where each timer was written (``"keepalive"`` → SourceRef), for messages.
        fallback: where to point when none of the timers involved has a ref.
        has_ping_nodes: check deadping only when ping nodes exist.
        texts: the timers as the user typed them (the setup wizard): messages quote
            them in those units instead of Heartbeat's milliseconds.

    Returns:
        The issues found; an empty list when the timers are consistent.
    """
    where = refs or {}

    def at(*names: str) -> SourceRef:
        for name in names:
            if name in where:
                return where[name]
        return fallback or SourceRef("")

    show = _Shown(texts)
    issues: list[Issue] = []
    if keepalive_ms <= 0:
        issues.append(
            Issue(
                Severity.ERROR,
                at("keepalive"),
                f"Keepalive [{show('keepalive', keepalive_ms, 'ms')}] must be more than 0",
                "write e.g. 'keepalive 1' (one second)",
            )
        )
        return issues
    if deadtime_ms <= 2 * keepalive_ms:
        issues.append(
            Issue(
                Severity.ERROR,
                at("deadtime", "keepalive"),
                f"Dead time [{show('deadtime', deadtime_ms)}] is too small compared to "
                f"keepalive [{show('keepalive', keepalive_ms)}]",
                f"deadtime must be more than twice keepalive: raise deadtime above "
                f"{show.derived(2 * keepalive_ms)} or lower keepalive",
            )
        )
    if warntime_ms >= deadtime_ms:
        issues.append(
            Issue(
                Severity.WARNING,
                at("warntime", "deadtime"),
                f"Warn time [{show('warntime', warntime_ms)}] is not smaller than dead time "
                f"[{show('deadtime', deadtime_ms)}]",
                "late heartbeats will never be reported; set warntime below deadtime",
            )
        )
    elif warntime_ms < keepalive_ms:
        issues.append(
            Issue(
                Severity.WARNING,
                at("warntime", "keepalive"),
                f"Warn time [{show('warntime', warntime_ms)}] is smaller than keepalive "
                f"[{show('keepalive', keepalive_ms)}]",
                "every heartbeat would be reported late; set warntime >= keepalive",
            )
        )
    issues.extend(_check_initdead(initdead_ms, deadtime_ms, at("initdead", "deadtime"), show))
    if deadping_ms is not None and has_ping_nodes and deadping_ms <= 2 * keepalive_ms:
        issues.append(
            Issue(
                Severity.ERROR,
                at("deadping", "keepalive"),
                f"Ping dead time [{show('deadping', deadping_ms)}] is too small compared to "
                f"keepalive [{show('keepalive', keepalive_ms)}]",
                f"deadping must be more than twice keepalive ({show.derived(2 * keepalive_ms)})",
            )
        )
    return issues


class _Shown:
    """A timer as a message quotes it: Heartbeat's milliseconds, or what was typed."""

    def __init__(self, texts: Mapping[str, str] | None) -> None:
        self.texts = texts

    def __call__(self, name: str, ms: int, unit: str = "") -> str:
        if self.texts is None or name not in self.texts:
            return f"{ms}{unit}"
        text = self.texts[name].strip()
        return f"{text} s" if _DIGITS.fullmatch(text) else text

    def derived(self, ms: int) -> str:
        """A computed bound, in seconds when the keepalive was typed in seconds."""
        typed = (self.texts or {}).get("keepalive", "ms").strip()
        return f"{ms}ms" if typed.endswith("ms") else f"{ms / 1000:g} s"


_DIGITS = re.compile(r"\d+(\.\d+)?")


def _check_initdead(
    initdead_ms: int, deadtime_ms: int, where: SourceRef, show: _Shown | None = None
) -> list[Issue]:
    show = show or _Shown(None)
    if initdead_ms < deadtime_ms:
        return [
            Issue(
                Severity.ERROR,
                where,
                f"Initial dead time [{show('initdead', initdead_ms)}] is smaller than "
                f"deadtime [{show('deadtime', deadtime_ms)}]",
                "initdead must be >= deadtime (advised: twice deadtime, at least 10 s)",
            )
        ]
    if initdead_ms < MIN_COMFORTABLE_INITDEAD_MS:
        return [
            Issue(
                Severity.WARNING,
                where,
                f"Initial dead time [{show('initdead', initdead_ms, ' ms')}] may be too small!",
                "Initial dead time accounts for slow network startup time; "
                "it should be >= deadtime and >= 10 seconds",
            )
        ]
    return []


@dataclass(frozen=True, slots=True)
class Validated:
    """The result of ``validate_hacf``: resolved timers and what was found."""

    timing: Timing
    issues: list[Issue]


def resolve_timing(parsed: ParsedHaCf) -> Timing:
    """Apply defaults (spec §2.4/§2.5) and record derived ones as parameters."""
    times = parsed.times
    keepalive = times.get("keepalive", 1000)
    deadtime = times.get("deadtime", 30_000)
    warntime = times.get("warntime")
    if warntime is None:
        warntime = default_warntime_ms(deadtime)
        parsed.parameters["warntime"] = format_ms(warntime)
    initdead = times.get("initdead")
    if initdead is None:
        initdead = default_initdead_ms(deadtime)
        parsed.parameters["initdead"] = format_ms(initdead)
    deadping = times.get("deadping")
    if deadping is None:
        deadping = deadtime
        parsed.parameters["deadping"] = format_ms(deadping)
    return Timing(keepalive, deadtime, warntime, initdead, deadping)


def validate_hacf(parsed: ParsedHaCf, node_name: str) -> Validated:
    """Heartbeat's post-parse checks (§2.5 steps 3-15) in order, plus derived values."""
    file_ref = SourceRef(parsed.path)
    issues: list[Issue] = []
    if not parsed.media:
        hint = "add e.g. 'ucast eth0 <peer-address>' or 'bcast eth0'"
        if parsed.unacted_media:
            hint += f" ({', '.join(sorted(set(parsed.unacted_media)))} not supported yet)"
        issues.append(Issue(Severity.ERROR, file_ref, "No heartbeat media defined", hint))
    timing = resolve_timing(parsed)
    if not parsed.nodes and parsed.autojoin != "any":
        issues.append(
            Issue(
                Severity.ERROR,
                file_ref,
                "no nodes defined",
                "declare every cluster node with a 'node <name>' line",
            )
        )
    elif node_name not in parsed.nodes:
        issues.append(
            Issue(
                Severity.ERROR,
                file_ref,
                f"Current node [{node_name}] not in configuration!",
                "By default, cluster nodes are named by `uname -n` and must be declared "
                "with a 'node' directive in the ha.cf file; add 'node "
                f"{node_name}', write the name in nodeinfo, or start with --node NAME",
            )
        )
    has_ping = any(m.kind in (MediumKind.PING, MediumKind.PING_GROUP) for m in parsed.media)
    issues.extend(
        check_timing(
            timing.keepalive_ms,
            timing.deadtime_ms,
            timing.warntime_ms,
            timing.initdead_ms,
            deadping_ms=timing.deadping_ms if "deadping" in parsed.times else None,
            refs=_refs(parsed),
            has_ping_nodes=has_ping,
        )
    )
    issues.extend(_check_failback_and_logging(parsed))
    return Validated(timing, issues)


def _refs(parsed: ParsedHaCf) -> dict[str, SourceRef]:
    names = ("keepalive", "deadtime", "warntime", "initdead", "deadping")
    return {name: parsed.refs[name] for name in names if name in parsed.refs}


def _check_failback_and_logging(parsed: ParsedHaCf) -> list[Issue]:
    """Steps 13-15: legacy failback, logging destinations, autojoin, crm."""
    issues: list[Issue] = []
    if parsed.crm:
        issues.append(
            Issue(
                Severity.WARNING,
                parsed.ref("crm") if "crm" in parsed.refs else parsed.ref("pacemaker"),
                "crm/pacemaker is on: haresources resource management is disabled",
                "this engine does not run Pacemaker; set 'crm no' to manage resources",
            )
        )
    elif parsed.auto_failback is AutoFailback.LEGACY:
        issues.append(
            Issue(
                Severity.WARNING,
                parsed.ref("auto_failback"),
                "Deprecated 'legacy' auto_failback option selected.",
                "Please convert to 'auto_failback on'. See documentation for conversion details.",
            )
        )
    issues.extend(_check_logging(parsed))
    if parsed.autojoin != "none" and not parsed.crm:
        issues.append(
            Issue(
                Severity.ERROR,
                parsed.ref("autojoin"),
                f"R1 style resource management conflicts with autojoin set [{parsed.autojoin}]",
                "You need either unset autojoin or enable crm; write 'autojoin none'",
            )
        )
    return issues


def _check_logging(parsed: ParsedHaCf) -> list[Issue]:
    """Step 14: without any log destination Heartbeat falls back to logd."""
    if parsed.logfile or parsed.debugfile or parsed.logfacility:
        if parsed.logfacility:
            parsed.logfile = parsed.logfile or "/dev/null"
            parsed.debugfile = parsed.debugfile or "/dev/null"
        return []
    if parsed.use_logd is False:
        return [
            Issue(
                Severity.ERROR,
                parsed.ref("use_logd"),
                "No log entry found in ha.cf and use_logd is set to off",
                "add 'logfile /var/log/ha-log' or 'logfacility daemon'",
            )
        ]
    parsed.use_logd = True
    return [
        Issue(
            Severity.INFO,
            SourceRef(parsed.path),
            "No log entry found in ha.cf -- use logd",
            "add 'logfile /var/log/ha-log' or 'logfacility daemon' to choose",
        )
    ]
