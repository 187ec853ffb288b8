"""The reload's own setting in ``hatui.conf``: how long reading the config dir may take.

A configuration directory on NFS (or any file system that can hang) must never hold
the engine's loop: the files are read in a worker thread, and a read that takes longer
than ``config_read_timeout`` refuses the reload (the running configuration stays).
"""

from __future__ import annotations

from engine.config.hatuikey import Key, positive_time
from engine.config.model import HatuiConf

DEFAULT_CONFIG_READ_TIMEOUT_MS = 10_000
"""At start-up (no hatui.conf read yet) and when the key is absent."""

RELOAD_KEYS: tuple[Key, ...] = (
    positive_time(
        "config_read_timeout",
        "seconds reading the config dir may take before a reload is refused",
        "10",
        live=True,
    ),
)


def config_read_timeout(conf: HatuiConf) -> float:
    """``config_read_timeout`` in seconds, default 10."""
    value = conf.get("config_read_timeout")
    millis = value if isinstance(value, int) and value > 0 else DEFAULT_CONFIG_READ_TIMEOUT_MS
    return millis / 1000.0
