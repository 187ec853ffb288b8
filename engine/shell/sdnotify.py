"""systemd's ``sd_notify`` protocol without libsystemd: one datagram to ``$NOTIFY_SOCKET``.

Used by ``haengine`` under ``Type=notify``: ``READY=1`` once the heartbeat links are open,
``STATUS=...`` on membership changes, ``STOPPING=1`` on a graceful leave, and
``WATCHDOG=1`` every half ``WATCHDOG_USEC`` when the unit sets ``WatchdogSec=``. Outside
systemd (no ``NOTIFY_SOCKET``) every call is a cheap no-op.
"""

from __future__ import annotations

import logging
import os
import socket

logger = logging.getLogger(__name__)


def notify(*assignments: str, environ: dict[str, str] | None = None) -> bool:
    """Send ``KEY=value`` lines to the service manager; True when a datagram was sent.

    Failures are logged at debug level and never raised: a missing or broken notify
    socket must not take the heartbeat down.
    """
    env = os.environ if environ is None else environ
    address = env.get("NOTIFY_SOCKET", "")
    if not address or not assignments:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract socket namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto("\n".join(assignments).encode("utf-8", "replace"), address)
    except OSError as exc:
        logger.debug("sd_notify to %s failed: %s", address, exc)
        return False
    return True


def watchdog_interval(environ: dict[str, str] | None = None) -> float | None:
    """Seconds between ``WATCHDOG=1`` pings (half of ``WATCHDOG_USEC``), or None.

    ``WATCHDOG_PID``, when set, must be our pid (systemd's rule for forked helpers).
    """
    env = os.environ if environ is None else environ
    usec, pid = env.get("WATCHDOG_USEC", ""), env.get("WATCHDOG_PID", "")
    if pid and pid != str(os.getpid()):
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 2_000_000 if value > 0 else None
