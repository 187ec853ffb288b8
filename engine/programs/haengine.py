"""``haengine``: run one cluster node in the foreground, or check its configuration.

Exit codes follow Heartbeat's (LSB): 0 ok, 1 generic failure, 2 usage, 4 permission
denied, 6 not configured.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from engine import HEARTBEAT_VERSION, __version__
from engine.config import format_report
from engine.config.model import ClusterConfig, Severity
from engine.config.reloadconf import DEFAULT_CONFIG_READ_TIMEOUT_MS
from engine.control.client import default_socket_path
from engine.hblog import hb_log
from engine.shell.configload import CheckedConfig, load_checked
from engine.shell.logsetup import setup_logging
from engine.shell.metrics import parse_listen_address

logger = logging.getLogger("heartbeat")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_PERMISSION = 4
EXIT_NOT_CONFIGURED = 6
DEFAULT_CONFIG_DIR = Path("/etc/ha.d")
DEFAULT_STATE_DIR = Path("/var/lib/heartbeat")


def build_parser() -> argparse.ArgumentParser:
    """Command-line options of ``haengine``."""
    parser = argparse.ArgumentParser(
        prog="haengine",
        description="Heartbeat 3.0.6-compatible cluster engine (runs in the foreground).",
    )
    parser.add_argument(
        "--config-dir",
        type=Path,
        default=DEFAULT_CONFIG_DIR,
        help="directory with ha.cf, authkeys, haresources (default /etc/ha.d)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="generation file, uuid, peer generations (default /var/lib/heartbeat); "
        "also holds control.sock when given",
    )
    parser.add_argument(
        "--socket",
        type=Path,
        default=None,
        help="control socket path (default STATE_DIR/control.sock with --state-dir, "
        "else /run/hatui/control.sock; hactl and hatui use the same rule)",
    )
    parser.add_argument(
        "--metrics",
        metavar="ADDR:PORT",
        type=_metrics_address,
        default=None,
        help="serve Prometheus metrics at http://ADDR:PORT/metrics (off by default; "
        "a bare PORT binds 127.0.0.1)",
    )
    parser.add_argument("--node", help="this node's name (default: nodeinfo or uname -n)")
    parser.add_argument(
        "--check-config",
        action="store_true",
        help="validate the configuration, print every problem, and exit",
    )
    parser.add_argument(
        "--bind-address",
        default="",
        help="bind ucast/bcast receive sockets to this address instead of any "
        "(lets several engines share one machine, e.g. the demo)",
    )
    parser.add_argument(
        "--allow-fault-injection",
        action="store_true",
        help="enable the debug_link control verb (demo and tests only)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log to stderr")
    parser.add_argument("-d", "--debug", action="store_true", help="log debug lines to stderr")
    parser.add_argument(
        "-V",
        "--version",
        action="version",
        version=f"haengine {__version__} (Heartbeat {HEARTBEAT_VERSION} protocol)",
    )
    return parser


def _metrics_address(text: str) -> tuple[str, int]:
    try:
        return parse_listen_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def read_config(config_dir: Path, node: str | None) -> CheckedConfig:
    """Read and probe the configuration as a reload does (``load_checked``): the files
    in a worker thread within a timeout, the STONITH plugin through the runner."""
    timeout = DEFAULT_CONFIG_READ_TIMEOUT_MS / 1000.0
    return asyncio.run(load_checked(config_dir, node, read_timeout=timeout))


def check_config(config_dir: Path, node: str | None) -> int:
    """``--check-config``: print the report; 0 when usable, 6 otherwise."""
    result = read_config(config_dir, node)
    print(format_report(result.issues, result.config))
    return EXIT_OK if result.config is not None else EXIT_NOT_CONFIGURED


def _prepare_state_dir(state_dir: Path) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(state_dir, 0o755)


def _log_startup(config: ClusterConfig, issues: list[object]) -> None:
    for issue in issues:
        severity = getattr(issue, "severity", Severity.INFO)
        word = {"error": "ERROR", "warning": "WARN"}.get(str(severity), "info")
        where = getattr(issue, "where", "")
        hint = getattr(issue, "hint", "")
        text = f"{where}: {getattr(issue, 'message', issue)}" + (f" ({hint})" if hint else "")
        hb_log(word, text)
    if config.not_acted_on:
        hb_log(
            "WARN",
            "directives accepted but not acted on by this version: "
            + ", ".join(config.not_acted_on),
        )
    hb_log("info", "**************************")
    hb_log("info", f"Configuration validated. Starting heartbeat {HEARTBEAT_VERSION}")
    hb_log("info", f"heartbeat: version {HEARTBEAT_VERSION} (hatui engine {__version__})")


async def _run(args: argparse.Namespace, checked: CheckedConfig) -> int:
    from engine.shell.daemon import Engine

    config = checked.config
    assert config is not None
    ring = setup_logging(config.log, config.node_name, stderr=not args.quiet, debug=args.debug)
    _log_startup(config, list(checked.issues))
    engine = Engine(
        config,
        args.state_dir,
        ring,
        bind_address=args.bind_address,
        allow_fault_injection=args.allow_fault_injection,
        control_socket=args.socket,
        metrics_address=args.metrics,
        probe=checked.probe,
    )
    return await engine.run()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``haengine``."""
    args = build_parser().parse_args(argv)
    args.socket = args.socket or default_socket_path(args.state_dir)
    args.state_dir = args.state_dir or DEFAULT_STATE_DIR
    if args.check_config:
        return check_config(args.config_dir, args.node)
    result = read_config(args.config_dir, args.node)
    if result.config is None:
        print(format_report(result.issues, None), file=sys.stderr)
        print("ERROR: Configuration error, heartbeat not started.", file=sys.stderr)
        denied = any("permission" in str(i).lower() for i in result.issues)
        return EXIT_PERMISSION if denied else EXIT_NOT_CONFIGURED
    try:
        _prepare_state_dir(args.state_dir)
        args.socket.parent.mkdir(parents=True, exist_ok=True)
    except PermissionError as exc:
        print(f"ERROR: cannot use state directory {args.state_dir}: {exc}", file=sys.stderr)
        return EXIT_PERMISSION
    try:
        return asyncio.run(_run(args, result))
    except KeyboardInterrupt:
        return EXIT_OK
    except OSError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        logger.critical("cannot start: %s", exc)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
