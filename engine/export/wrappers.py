"""Init-script wrappers that let Pacemaker run Heartbeat's resource scripts.

Pacemaker 2 dropped the ``heartbeat`` resource class, which ran
``/etc/ha.d/resource.d/SCRIPT ARGS... ACTION``. Such a script (``drbddisk::r0``, a
site's own) becomes ``lsb:NAME``, and ``/etc/init.d/NAME`` is this wrapper: it passes
the haresources arguments and, for ``status``, applies Heartbeat's rule to the text the
script prints (spec §7.2: ``not running`` → stopped, else ``running``/``OK`` →
running, anything else → stopped), since LSB judges exit codes and Heartbeat's scripts
often exit 0 either way.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from engine.export.terms import PacemakerModel, Primitive

_TEMPLATE = r"""#!/bin/sh
# /etc/init.d/@NAME@: written by 'hactl export pacemaker --wrappers' for
#   haresources: @SOURCE@
# Pacemaker runs it as lsb:@NAME@ (Pacemaker 2 has no 'heartbeat' class).
case "$1" in
status|monitor)
    out=$(@COMMAND@ status 2>&1)
    case "$out" in
    *[Nn][Oo][Tt]\ *[Rr]unning*) exit 3 ;;
    *[Rr]unning*|*OK*) exit 0 ;;
    *) exit 3 ;;
    esac
    ;;
start|stop)
    exec @COMMAND@ "$1"
    ;;
*)
    echo "usage: $0 {start|stop|status}" >&2
    exit 2
    ;;
esac
"""


def wrapper_script(prim: Primitive) -> str:
    """The ``/etc/init.d/NAME`` text for one wrapped primitive."""
    command = " ".join(shlex.quote(word) for word in prim.wraps)
    return (
        _TEMPLATE.replace("@NAME@", prim.type)
        .replace("@SOURCE@", prim.source)
        .replace("@COMMAND@", command)
    )


def wrapper_scripts(model: PacemakerModel) -> dict[str, str]:
    """File name → text of every wrapper the model needs."""
    return {prim.type: wrapper_script(prim) for prim in model.wrapped}


def write_wrappers(scripts: dict[str, str], directory: Path) -> list[Path]:
    """Write ``scripts`` into ``directory`` (mode 0755); the paths written."""
    written: list[Path] = []
    for name, text in scripts.items():
        path = directory / name
        path.write_text(text)
        path.chmod(0o755)
        written.append(path)
    return written
