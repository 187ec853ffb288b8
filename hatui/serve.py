"""``hatui serve``: the same console in a browser, through textual-serve.

Rules of this module: textual-serve has no authentication, and every browser tab spawns
the console as a subprocess running as the server's user. So the server binds to
``localhost`` only (reach it through ``ssh -L``), and the console it spawns is
read-only unless ``--allow-actions`` was given: a browser tab must not be able to
STONITH a node by accident. textual-serve is an optional extra
(``pip install 'hatui[serve]'``), imported only when serving.
"""

from __future__ import annotations

import logging
import shlex
import sys
from pathlib import Path
from typing import Any

from hatui.app import HaTuiApp
from hatui.messages import ActionResult

logger = logging.getLogger(__name__)

HOST = "localhost"
DEFAULT_PORT = 8000
READ_ONLY_REASON = "read-only console (hatui --read-only / hatui serve)"


class ReadOnlyApp(HaTuiApp):
    """The console with every operator action greyed out and refused.

    Two locks: ``action_block_reason`` greys the keys out (footer, palette), and
    ``send_command`` (the one path every operator command takes to the engine) refuses,
    so a key added later cannot slip past the first lock.
    """

    TITLE = "hatui (read-only)"

    def action_block_reason(self) -> str:
        """Always blocked, whoever runs it."""
        return READ_ONLY_REASON

    def send_command(self, cmd: str, **args: Any) -> None:  # type: ignore[override]
        """Refuse instead of sending anything to the engine."""
        label = " ".join([cmd, *(str(v) for v in args.values())])
        self.post_message(ActionResult(label, "refused", READ_ONLY_REASON))


def console_command(socket_path: Path, *, allow_actions: bool = False) -> str:
    """The shell command textual-serve runs for each browser tab."""
    argv = [sys.executable, "-m", "hatui", "--socket", str(socket_path)]
    if not allow_actions:
        argv.append("--read-only")
    return shlex.join(argv)


def serve_available() -> bool:
    """True when the optional textual-serve package is installed."""
    try:
        import textual_serve.server  # noqa: F401
    except ImportError:
        return False
    return True


def run_serve(socket_path: Path, port: int = DEFAULT_PORT, *, allow_actions: bool = False) -> int:
    """Serve the console on ``http://localhost:PORT`` until interrupted (2: not installed)."""
    if not serve_available():
        print(
            "hatui serve: needs the optional textual-serve package "
            "(pip install 'hatui[serve]' or pip install textual-serve)",
            file=sys.stderr,
        )
        return 2
    from textual_serve.server import Server

    command = console_command(socket_path, allow_actions=allow_actions)
    mode = "operator actions ALLOWED" if allow_actions else "read-only"
    print(f"hatui serve: http://{HOST}:{port}/ ({mode}; localhost only)", file=sys.stderr)
    logger.info("serving %r on %s:%d", command, HOST, port)
    Server(command, host=HOST, port=port, title="hatui").serve()
    return 0
