"""``hatui --pacemaker``: the options, the console, and ``--once``.

The console talks to the node it runs on. To watch another node, either run it
there (``ssh -t n1 hatui --pacemaker``, or ``nsenter … hatui --pacemaker`` into a lab
node's namespaces), or keep it here and reach the node's tools with ``--pcmk-exec``
(a command prefix such as ``ssh root@n1``) and its logs with ``--pcmk-log``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from engine.control.schema import ControlError
from hatui.backends.pacemaker.client import Options, PacemakerClient
from hatui.backends.pacemaker.tools import Tools
from hatui.once import render_once


def add_arguments(parser: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    """The ``--pacemaker`` option group. ``suppress``: a subcommand's copy (``hatui
    serve --pacemaker``) must not overwrite what was given before the subcommand."""

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("Pacemaker (hatui --pacemaker)")
    group.add_argument(
        "--pacemaker",
        action="store_true",
        default=default(False),
        help="attach to the Corosync/Pacemaker node this runs on instead of an engine",
    )
    group.add_argument(
        "--pcmk-exec",
        metavar="PREFIX",
        default=default(""),
        help="run Pacemaker's tools through this command prefix "
        "(e.g. 'ssh root@n1', or 'nsenter --net=… --mount=… --')",
    )
    group.add_argument(
        "--pcmk-log",
        action="append",
        type=Path,
        metavar="FILE",
        default=default(None),
        help="a log file to tail (repeatable; default /var/log/pacemaker/pacemaker.log "
        "and the file corosync's logging.logfile names)",
    )
    group.add_argument(
        "--pcmk-interval",
        type=float,
        default=default(1.0),
        metavar="SECONDS",
        help="seconds between two crm_mon polls (default 1)",
    )


def attach_arguments(args: argparse.Namespace) -> list[str]:
    """The options that make another console (each browser tab of ``hatui serve
    --pacemaker``) attach to the same node the same way."""
    argv = ["--pacemaker"]
    if args.pcmk_exec:
        argv += ["--pcmk-exec", args.pcmk_exec]
    for log in args.pcmk_log or ():
        argv += ["--pcmk-log", str(log)]
    return [*argv, "--pcmk-interval", f"{float(args.pcmk_interval):g}"]


def options_from_args(args: argparse.Namespace) -> Options:
    """The back end's options from the command line."""
    return Options(
        tools=Tools.from_prefix(args.pcmk_exec),
        logs=tuple(args.pcmk_log) if args.pcmk_log else None,
        interval_s=max(0.2, float(args.pcmk_interval)),
    )


def print_once(options: Options) -> int:
    """``--once``: the console's picture as text; 1 when the node cannot be read."""
    client = PacemakerClient(options)
    try:
        reply = asyncio.run(client.call("subscribe"))
    except ControlError as exc:
        print(f"hatui: cannot read the Pacemaker status: {exc.message}", file=sys.stderr)
        return 1
    finally:
        client.close()
    sys.stdout.write(render_once(reply["snapshot"], reply["timeline"], reply["log"]))
    return 0


def run_pacemaker(args: argparse.Namespace) -> int:
    """Run the console (or ``--once``) on a Pacemaker node."""
    options = options_from_args(args)
    if args.once:
        return print_once(options)
    from hatui.backends.pacemaker.app import PacemakerApp, ReadOnlyPacemakerApp

    app = ReadOnlyPacemakerApp(options) if args.read_only else PacemakerApp(options)
    app.run()
    return 0
