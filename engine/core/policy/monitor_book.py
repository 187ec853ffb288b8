"""The monitoring record of each group: schedule, failures, recovery, last checks.

``GroupMonitor`` keeps one group's record and is the only writer of it; ``MonitorBook``
keeps the settings (hatui.conf ``monitor_*``) and a record per group that was ever
checked. The checks are scheduled by ``monitors.py``, failures recovered by
``recovery.py``; both change a record only through its methods.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from engine.config.model import GroupSpec, MonitorConfig
from engine.core.policy_types import MonitorCheck


class GroupMonitor:
    """Monitoring of one group on this node (hatui only)."""

    def __init__(self) -> None:
        self._due: float | None = None
        self._failures: list[tuple[float, str]] = []
        self._restarts = 0
        self._recovery = ""
        self._cause = ""
        self._reason = ""
        self._retry_at: float | None = None
        self._backoff = 0
        self._handed_away_at: float | None = None
        self._last: dict[str, tuple[MonitorCheck, float]] = {}
        self._checks = 0

    @property
    def due(self) -> float | None:
        """When the next check is due (None: not scheduled, e.g. not running here)."""
        return self._due

    @property
    def failures(self) -> list[tuple[float, str]]:
        """(time, resource) of each failure within the monitor window, oldest first."""
        return list(self._failures)

    @property
    def recovery(self) -> str:
        """ "" or restarting, stopping, handover, handing over, moved, waiting, retrying,
        restarted, stop failed."""
        return self._recovery

    @property
    def cause(self) -> str:
        """The failure being recovered (``monitor: hbweb timeout (...)``)."""
        return self._cause

    @property
    def reason(self) -> str:
        """``cause; what we do about it``."""
        return self._reason

    @property
    def retry_at(self) -> float | None:
        """When a handover is tried again (handover) or the group is started again
        (waiting)."""
        return self._retry_at

    @property
    def backoff(self) -> int:
        """How many times the group was kept stopped since the failures last expired."""
        return self._backoff

    @property
    def handed_away_at(self) -> float | None:
        """When we last handed the group to the peer because of monitor failures."""
        return self._handed_away_at

    def schedule(self, at: float | None) -> None:
        self._due = at

    def checked(self, checks: Sequence[MonitorCheck], now: float) -> None:
        self._checks += 1
        for check in checks:
            self._last[check.resource] = (check, now)

    def failed(self, now: float, check: MonitorCheck) -> None:
        self._failures.append((now, check.resource))
        self._cause = f"monitor: {check.describe()}"

    def restarting(self) -> None:
        self._restarts += 1

    def set_recovery(self, state: str, decision: str) -> None:
        self._recovery, self._reason = state, f"{self._cause}; {decision}"

    def retry(self, at: float | None) -> None:
        self._retry_at = at

    def back_off(self, at: float) -> None:
        """Kept stopped once more: started here again at ``at``."""
        self._backoff += 1
        self._retry_at = at

    def handed_away(self, now: float) -> None:
        self._retry_at = None
        self._handed_away_at = now

    def expire(self, horizon: float) -> None:
        """Forget failures (and a handover) older than ``horizon``; a recovery that
        ended is cleared once no failure is left."""
        self._failures = [f for f in self._failures if f[0] > horizon]
        if self._handed_away_at is not None and self._handed_away_at <= horizon:
            self._handed_away_at = None
        if self._failures:
            return
        self._backoff = 0
        moved = self._recovery == "moved" and self._handed_away_at is None
        if self._recovery == "restarted" or moved:
            self._recovery, self._reason, self._cause = "", "", ""

    def deadlines(self, window: float) -> list[float]:
        """Times this record changes by itself: a retry, an expiring failure/handover."""
        times = [self._retry_at] if self._retry_at is not None else []
        if self._failures:
            times.append(self._failures[0][0] + window)
        if self._handed_away_at is not None:
            times.append(self._handed_away_at + window)
        return times

    def view(self, now: float, window: float, enabled: bool, checking: bool) -> dict[str, object]:
        """The ``group`` part of the group's monitor status."""
        recent = [res for at, res in self._failures if at > now - window]
        return {
            "enabled": enabled,
            "checks": self._checks,
            "failures": len(recent),
            "restarts": self._restarts,
            "recovery": self._recovery or "none",
            "reason": self._reason,
            "checking": checking,
            "next_check_in_s": _left(self._due, now) if enabled else None,
            "retry_in_s": _left(self._retry_at, now),
        }

    def resource_view(
        self, token: str, now: float, wall: float, window: float
    ) -> dict[str, object]:
        """The last check of one member, for status."""
        last = self._last.get(token)
        recent = [res for at, res in self._failures if at > now - window]
        return {
            "result": last[0].result if last else None,
            "time": round(wall - (now - last[1]), 3) if last else None,
            "duration_ms": round(last[0].duration_ms, 1) if last else None,
            "reason": last[0].detail if last else "",
            "failures": recent.count(token),
        }


class MonitorBook:
    """The monitoring settings and every group's record."""

    def __init__(self, settings: MonitorConfig) -> None:
        self._settings = settings
        self._records: dict[str, GroupMonitor] = {}

    @property
    def settings(self) -> MonitorConfig:
        return self._settings

    @property
    def interval(self) -> float:
        return self._settings.interval_ms / 1000.0

    @property
    def window(self) -> float:
        return self._settings.window_ms / 1000.0

    def configure(self, settings: MonitorConfig, now: float) -> bool:
        """New settings (reload); False when nothing changed. Every check is scheduled
        afresh, and with monitoring off no group is kept down for it any longer."""
        if settings == self._settings:
            return False
        self._settings = settings
        for mon in self._records.values():
            mon.schedule(None)
            if not settings.enabled and mon.recovery == "waiting":
                mon.retry(now)
        return True

    def record(self, key: str) -> GroupMonitor:
        """The group's record, made on first use."""
        return self._records.setdefault(key, GroupMonitor())

    def get(self, key: str) -> GroupMonitor | None:
        return self._records.get(key)

    def items(self) -> list[tuple[str, GroupMonitor]]:
        return list(self._records.items())

    def forget(self, key: str) -> None:
        """The group left haresources (reload)."""
        self._records.pop(key, None)

    def holds_back(self, key: str) -> str:
        """Why an acquire of ``key`` must not start now ("" when it may)."""
        mon = self._records.get(key)
        return mon.reason if mon is not None and mon.recovery == "waiting" else ""

    def deadlines(self) -> list[float]:
        return [t for mon in self._records.values() for t in mon.deadlines(self.window)]

    def status(
        self, groups: Iterable[GroupSpec], checking: str | None, now: float, wall: float
    ) -> dict[str, dict[str, object]]:
        """Per group key: ``{"group": {...}, "resources": {token: {...}}}`` for status."""
        out: dict[str, dict[str, object]] = {}
        for spec in groups:
            mon = self._records.get(spec.key) or GroupMonitor()
            resources: dict[str, object] = {
                res.token: mon.resource_view(res.token, now, wall, self.window)
                for res in spec.resources
            }
            view = mon.view(now, self.window, self._settings.enabled, checking == spec.key)
            out[spec.key] = {"group": view, "resources": resources}
        return out

    def settings_view(self) -> dict[str, object]:
        """The monitoring settings for the ``resources`` part of status."""
        cfg = self._settings
        return {
            "enabled": cfg.enabled,
            "interval_s": cfg.interval_ms / 1000,
            "timeout_s": cfg.timeout_ms / 1000,
            "restarts": cfg.restarts,
            "window_s": cfg.window_ms / 1000,
        }


def _left(when: float | None, now: float) -> float | None:
    return None if when is None else round(max(0.0, when - now), 1)
