"""``hatui``: attach the console to an engine, print one picture, or run the demo."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

from engine.control.client import default_socket_path
from engine.control.schema import ControlError
from hatui.bridge import call_once, describe_error
from hatui.once import render_once

logger = logging.getLogger(__name__)


COMMANDS = ("attach", "demo", "setup", "logs", "serve")


def _add_where(parser: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    """``--state-dir`` / ``--socket``: which engine. ``suppress``: a subcommand's copy must
    not overwrite what was given before the subcommand with its default."""
    default = argparse.SUPPRESS if suppress else None
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--state-dir", type=Path, default=default, help="engine state dir (socket inside)"
    )
    where.add_argument(
        "--socket", type=Path, default=default, help="path of the engine's control.sock"
    )


def _add_attach_options(parser: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    default: Any = argparse.SUPPRESS if suppress else False
    parser.add_argument(
        "--once",
        action="store_true",
        default=default,
        help="print the status, recent events and recent log as plain text and exit",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        default=default,
        help="grey out and refuse every operator action",
    )


def build_parser() -> argparse.ArgumentParser:
    """``hatui [attach|demo|setup|logs|serve] ...``; without a command: attach.

    Each command has its own options and its own ``--help``; the attach options are
    also accepted without the word ``attach`` (``hatui --state-dir DIR --once``).
    """
    parser = argparse.ArgumentParser(
        prog="hatui",
        description="Operator console for the Heartbeat engine. "
        "Start with `hatui demo` (no root, no config needed). "
        "`hatui COMMAND --help` describes each command.",
    )
    _add_where(parser)
    _add_attach_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    attach = commands.add_parser(
        "attach", help="attach to a running engine (the default)", description=(
            "Attach the console to a running engine's control socket."
        ),
    )  # fmt: skip
    _add_where(attach, suppress=True)
    _add_attach_options(attach, suppress=True)
    commands.add_parser(
        "demo",
        help="start a two-node demo cluster on loopback and attach to it",
        description="Start two engines on loopback (no root, no configuration) and "
        "attach the console to alpha; k kills or restarts a node, c cuts a link.",
    )
    setup = commands.add_parser(
        "setup",
        help="guided first-time setup (writes ha.cf, authkeys, haresources)",
        description="Guided first-time setup: writes ha.cf, authkeys and haresources.",
    )
    setup.add_argument("--config-dir", type=Path, default=Path("/etc/ha.d"), help="where to write")
    setup.add_argument("--answers", type=Path, help="non-interactive answers (TOML/JSON)")
    setup.add_argument("--yes", action="store_true", help="replace differing files")
    setup.add_argument("--bind-address", default="0.0.0.0", help="local address for the live test")
    logs = commands.add_parser(
        "logs",
        help="watch log files (follows rotation, merges nodes' logs by time)",
        description="Watch Heartbeat log files: follows rotation, merges by time.",
    )
    logs.add_argument("files", nargs="*", type=Path, help="the log file(s) to watch")
    serve = commands.add_parser(
        "serve",
        help="serve the console to a browser on localhost (read-only by default)",
        description="Serve the console on http://localhost:PORT/ (reach it through "
        "ssh -L). Each browser tab runs its own read-only console, which exits when "
        "the tab goes; the page loads nothing from the internet. With --pacemaker "
        "(and its --pcmk-* options) the tabs show this Pacemaker node instead.",
    )
    _add_where(serve, suppress=True)
    serve.add_argument("--port", type=int, default=8000, help="port on localhost (default 8000)")
    serve.add_argument(
        "--allow-actions",
        action="store_true",
        help="let browser sessions act (default: read-only)",
    )
    from hatui.backends.pacemaker.cli import add_arguments

    add_arguments(parser)
    add_arguments(serve, suppress=True)
    return parser


def socket_from_args(args: argparse.Namespace) -> Path:
    """The control socket named by ``--socket`` or ``--state-dir`` (or the default)."""
    if args.socket is not None:
        return Path(args.socket)
    return default_socket_path(args.state_dir)


def _entries(reply: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = reply.get(key)
    return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []


async def fetch_picture_data(
    path: Path,
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """Status document, recent timeline and recent log, as the console gets them: one
    ``subscribe``."""
    reply = await call_once(path, "subscribe")
    status = reply.get("snapshot") if isinstance(reply, dict) else None
    if not isinstance(status, dict):
        raise ControlError("bad_reply", "subscribe reply has no status document")
    return status, _entries(reply, "timeline"), _entries(reply, "log")


def print_once(path: Path) -> int:
    """``--once``: the same picture as the console, as text; 1 when unreachable."""
    try:
        status, timeline, log = asyncio.run(fetch_picture_data(path))
    except (OSError, ControlError) as exc:
        print(f"hatui: cannot read status from {path}: {describe_error(exc)}", file=sys.stderr)
        return 1
    sys.stdout.write(render_once(status, timeline, log))
    return 0


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


def serve_attach(args: argparse.Namespace) -> list[str]:
    """What each browser tab's console of ``hatui serve`` attaches to: the engine's
    socket, or (``--pacemaker``) the Pacemaker node, with the same options."""
    if args.pacemaker:
        from hatui.backends.pacemaker.cli import attach_arguments

        return attach_arguments(args)
    from hatui.serve import engine_attach

    return engine_attach(socket_from_args(args))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hatui`` script."""
    args = build_parser().parse_args(argv)
    args.command = args.command or "attach"
    if args.command == "demo":
        from hatui.demo import run_demo

        return run_demo()
    if args.command in ("setup", "logs"):
        return run_tool(args)
    if args.command == "serve":
        from hatui.serve import run_serve

        return run_serve(serve_attach(args), args.port, allow_actions=args.allow_actions)
    if args.pacemaker:
        from hatui.backends.pacemaker.cli import run_pacemaker

        return run_pacemaker(args)
    path = socket_from_args(args)
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
