"""Where the program behind a haresources token is looked for (paths only, no running).

One lookup for two users: ``engine.resources.agents`` resolves the program it runs, and
``--check-config`` (``engine.config.machine``) warns about a token nothing provides.
The order is ResourceManager's (``CONFIG_DIR/resource.d/S``, then ``/etc/init.d/S``),
then our additions: the OCF agent ``OCF_ROOT/resource.d/heartbeat/S``,
``ocf:PROVIDER:TYPE`` and ``systemd:UNIT``.
"""

from __future__ import annotations

import os
from pathlib import Path

INIT_DIR = Path("/etc/init.d")
OCF_ROOT = Path("/usr/lib/ocf")
UNIT_DIRS = (
    Path("/etc/systemd/system"),
    Path("/run/systemd/system"),
    Path("/usr/local/lib/systemd/system"),
    Path("/lib/systemd/system"),
    Path("/usr/lib/systemd/system"),
)
"""systemd's unit search path for system units (``systemd-analyze unit-paths``)."""


def is_executable(path: Path) -> bool:
    """A regular file we may execute (ResourceManager: ``-f`` and ``-x``)."""
    return path.is_file() and os.access(path, os.X_OK)


def script_candidates(script: str, config_dir: Path, init_dir: Path = INIT_DIR) -> list[Path]:
    """Heartbeat's places for a bare script name, in lookup order."""
    return [config_dir / "resource.d" / script, init_dir / script]


def ocf_agent_path(provider: str, kind: str, ocf_root: Path = OCF_ROOT) -> Path:
    """``OCF_ROOT/resource.d/PROVIDER/TYPE``."""
    return ocf_root / "resource.d" / provider / kind


def unit_file(unit: str, unit_dirs: tuple[Path, ...] = UNIT_DIRS) -> Path | None:
    """The first unit file named ``unit`` on systemd's search path, if any."""
    for folder in unit_dirs:
        path = folder / unit
        if path.exists():
            return path
    return None
