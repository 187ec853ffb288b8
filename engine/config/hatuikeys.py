"""Every key of ``hatui.conf``, from every consumer, in the order the docs list them.

The consumers declare their keys next to the code that reads them: STONITH
(``engine.config.stonithconf``), the reload (``engine.config.reloadconf``) and resource
monitoring (``engine.config.monitor``). This module only gathers them, so the reader
(``engine.config.hatuiconf``) depends on the consumers and no consumer on the reader.
"""

from __future__ import annotations

from engine.config.hatuikey import Key
from engine.config.monitor import MONITOR_KEYS
from engine.config.reloadconf import RELOAD_KEYS
from engine.config.stonithconf import STONITH_KEYS


def known_keys() -> tuple[Key, ...]:
    """Every key of every consumer."""
    return (*STONITH_KEYS, *MONITOR_KEYS, *RELOAD_KEYS)
