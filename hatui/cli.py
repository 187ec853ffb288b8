"""``hatui``: attach the console to an engine, print one picture, or run the demo."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path
from typing import Any

from engine.control.client import default_socket_path
from engine.control.schema import ControlError
from hatui.bridge import call_once, describe_error
from hatui.viewmodel import Connection, LinkState, build_picture, render_text, timeline_row

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The command line: ``hatui [demo] [--state-dir DIR | --socket PATH] [--once]``."""
    parser = argparse.ArgumentParser(
        prog="hatui",
        description="Operator console for the Heartbeat engine. "
        "Start with `hatui demo` (no root, no config needed).",
    )
    parser.add_argument(
        "command",
        nargs="?",
        choices=["attach", "demo", "setup", "logs", "serve"],
        default="attach",
        help="attach (default) to a running engine, start a two-node demo cluster, "
        "run the setup wizard, watch log files, or serve the console to a browser "
        "(localhost only)",
    )
    parser.add_argument("files", nargs="*", type=Path, help="logs: the log file(s) to watch")
    parser.add_argument(
        "--config-dir", type=Path, default=Path("/etc/ha.d"), help="setup: where to write"
    )
    parser.add_argument("--answers", type=Path, help="setup: non-interactive answers (TOML/JSON)")
    parser.add_argument("--yes", action="store_true", help="setup: replace differing files")
    parser.add_argument(
        "--bind-address", default="0.0.0.0", help="setup: local address for the live test"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--state-dir", type=Path, help="engine state dir (socket inside)")
    where.add_argument("--socket", type=Path, help="path of the engine's control.sock")
    parser.add_argument(
        "--once",
        action="store_true",
        help="print the status and recent events as plain text and exit",
    )
    parser.add_argument(
        "--read-only", action="store_true", help="grey out and refuse every operator action"
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="serve: port on localhost (default 8000)"
    )
    parser.add_argument(
        "--allow-actions",
        action="store_true",
        help="serve: let browser sessions act (default: read-only)",
    )
    from hatui.backends.pacemaker.cli import add_arguments

    add_arguments(parser)
    return parser


def socket_from_args(args: argparse.Namespace) -> Path:
    """The control socket named by ``--socket`` or ``--state-dir`` (or the default)."""
    if args.socket is not None:
        return Path(args.socket)
    return default_socket_path(args.state_dir)


ONCE_TIMELINE = 15
"""Timeline entries ``--once`` prints (the newest; the engine keeps its last 50)."""


async def fetch_picture_data(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Status document and recent timeline, as the console gets them: one ``subscribe``."""
    reply = await call_once(path, "subscribe")
    status = reply.get("snapshot") if isinstance(reply, dict) else None
    if not isinstance(status, dict):
        raise ControlError("bad_reply", "subscribe reply has no status document")
    timeline = reply.get("timeline")
    entries = [e for e in timeline if isinstance(e, dict)] if isinstance(timeline, list) else []
    return status, entries


def print_once(path: Path) -> int:
    """``--once``: the same picture as the console, as text; 1 when unreachable."""
    try:
        status, timeline = asyncio.run(fetch_picture_data(path))
    except (OSError, ControlError) as exc:
        print(f"hatui: cannot read status from {path}: {describe_error(exc)}", file=sys.stderr)
        return 1
    sys.stdout.write(render_once(status, timeline))
    return 0


def render_once(status: dict[str, Any], timeline: list[dict[str, Any]]) -> str:
    """The ``--once`` text of a status document and its recent timeline (any back end)."""
    now = time.monotonic()
    picture = build_picture(status, Connection(LinkState.CONNECTED), now, now, now)
    rows = [timeline_row(entry) for entry in timeline[-ONCE_TIMELINE:]]
    return render_text(picture, rows)


def run_tool(args: argparse.Namespace) -> int:
    """``hatui setup`` (wizard or ``--answers``) and ``hatui logs FILE...``."""
    if args.command == "logs":
        from hatui.logs.screen import run_logs

        return run_logs(args.files)
    if args.answers is not None:
        from hatui.wizard.answers import run_answers

        return run_answers(args.answers, args.config_dir, yes=args.yes)
    if not sys.stdin.isatty():
        print("hatui setup: needs a terminal; use --answers FILE for automation", file=sys.stderr)
        return 2
    from hatui.wizard.screens import run_setup

    return run_setup(args.config_dir, args.bind_address)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hatui`` script."""
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from hatui.demo import run_demo

        return run_demo()
    if args.command in ("setup", "logs"):
        return run_tool(args)
    if args.pacemaker:
        from hatui.backends.pacemaker.cli import run_pacemaker

        return run_pacemaker(args)
    path = socket_from_args(args)
    if args.command == "serve":
        from hatui.serve import run_serve

        return run_serve(path, args.port, allow_actions=args.allow_actions)
    if args.once:
        return print_once(path)
    from hatui.app import HaTuiApp

    if args.read_only:
        from hatui.serve import ReadOnlyApp

        ReadOnlyApp(path).run()
        return 0
    HaTuiApp(path).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
