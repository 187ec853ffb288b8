"""hactl: the admin CLI of haengine, a pure client of the control socket.

The cl_status-compatible verbs print exactly what Heartbeat 3.0.6's ``cl_status`` prints
and exit with the same codes (spec §9.3), so existing scripts keep working: 0 ok, 1 a
"normal" failure (node/link down, engine stopped, parameter unset), 11 bad parameters,
12 timeout, 13 other error. ``standby``/``takeover`` exit 1 when refused, 4 when the
caller is not allowed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from engine.control import schema
from engine.control.client import ControlClient, default_socket_path
from engine.control.schema import ControlError
from engine.control.status import (
    Group,
    Node,
    OneWayGuard,
    ResourceMonitor,
    StatusDoc,
    find_link,
    find_node,
    held_resources,
    is_up,
    parse_status,
    state_word,
)

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
EXIT_FORBIDDEN = 4
EXIT_PARAMETER = 11
EXIT_TIMEOUT = 12
EXIT_UNKNOWN = 13
DEFAULT_TIMEOUT = 5.0
HOLD_SETS = ("all", "foreign", "local", "failback")

CL_STATUS_VERBS = frozenset(
    {
        "hbstatus",
        "listnodes",
        "nodestatus",
        "nodetype",
        "nodeweight",
        "nodesite",
        "listhblinks",
        "hblinkstatus",
        "rscstatus",
        "hbparameter",
    }
)

_EPILOG = """\
cl_status-compatible verbs (hbstatus, listnodes, nodestatus, nodetype, nodeweight,
nodesite, listhblinks, hblinkstatus, rscstatus, hbparameter) print exactly what
Heartbeat's cl_status prints and use its exit codes: 0 ok, 1 node/link down or engine
stopped or parameter unset, 11 bad parameters, 12 timeout (5 s), 13 other error.
Like cl_status, listnodes and listhblinks list nodes and links in REVERSE
configuration order (a quirk of the original client library, kept on purpose).
standby/takeover exit 1 when the engine refuses and 4 when you are not root, not the
user the engine runs as, and not in group haclient.
"""

_MAY_ACT = "needs root, the engine's user or group haclient"

Verb = Callable[[ControlClient, argparse.Namespace], Awaitable[int]]


class _Done(Exception):
    """Stop a verb early with an exit code (after its message was printed)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _out(text: str = "") -> None:
    print(text)


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def _cl_error(*lines: str) -> None:
    """cl_status logs its errors to stderr as ``ERROR: ...`` lines."""
    for line in lines:
        _err(f"ERROR: {line}")


# --------------------------------------------------------------------------- status doc


def _ms(value: Any) -> str:
    if value is None:
        return "never"
    if isinstance(value, float):
        return f"{value:.0f} ms ago"
    return f"{value} ms ago"


def _or_unknown(value: Any) -> Any:
    return "?" if value is None else value


def format_status(raw: Mapping[str, Any]) -> str:
    """Human-readable ``hactl status``: this node, every node and link, every group."""
    doc = parse_status(raw)
    lines = [
        f"Node {doc.node}: {doc.status} (generation {_or_unknown(doc.generation)}, "
        f"cluster {doc.cluster}, haengine {doc.version}, pid {_or_unknown(doc.pid)})"
    ]
    resources = doc.resources
    if resources is not None and resources.keys:
        stable = "stable" if resources.stable else "in transition"
        lines.append(
            f"auto_failback {doc.auto_failback}, mode {resources.mode}, "
            f"holding {_or_unknown(resources.i_hold)} resources ({stable})"
        )
        lines += _format_one_way(resources.one_way)
    lines += ["", "Nodes:"]
    width = max([7, *(len(state_word(node)) for node in doc.nodes)])
    for node in doc.nodes:
        lines += _format_node(node, width)
    lines += ["", "Groups:"]
    if not doc.groups:
        lines.append("  (none)")
    for group in doc.groups:
        lines += _format_group(group)
    last = doc.last_change
    if last is not None and last.what:
        lines += ["", f"Last change: {last.what} ({last.reason})"]
    return "\n".join(lines)


def _format_one_way(view: OneWayGuard | None) -> list[str]:
    """Groups released because the peer took them over without hearing us (issue 15.3)."""
    if view is None or view.state == "watching":
        return []
    groups = ", ".join(view.groups) or "?"
    return [f"one-way loss: {view.state} {groups}: {view.reason.removeprefix('one-way loss: ')}"]


def _format_node(node: Node, width: int) -> list[str]:
    """One node's line, its state padded to ``width`` so every node's columns line up
    (``up (unconfirmed)`` is longer than ``active``)."""
    if node.is_self:
        detail = "this node"
    else:
        detail = f"generation {_or_unknown(node.generation)}, last heard {_ms(node.last_heard_ms)}"
    lines = [f"  {node.name:<16} {state_word(node):<{width}} {node.type:<7} {detail}"]
    if node.confirmed is False and node.freshness and not node.is_self:
        lines.append(f"    {node.freshness}")
    for link in node.links:
        extra = ""
        if link.max_gap_ms is not None:
            extra = (
                f" (max gap {link.max_gap_ms} ms, jitter {_or_unknown(link.jitter_ms)} ms,"
                f" late {link.late})"
            )
        lines.append(
            f"    link {link.name:<12} {link.status:<5} last heard {_ms(link.last_heard_ms)}{extra}"
        )
    return lines


def _format_group(group: Group) -> list[str]:
    lines = [
        f"  {group.key}  {group.state}  held by {group.held_by or 'nobody'} (home {group.home})"
    ]
    for resource in group.resources:
        lines.append(f"    {resource.name}  {resource.state}" + _monitor_result(resource.monitor))
    if group.reason:
        lines.append(f"    reason: {group.reason}")
    monitor = group.monitor
    if monitor is not None and monitor.enabled:
        text = f"    monitor: {monitor.failures} failure(s) in the window"
        if monitor.recovery != "none":
            text += f", recovery {monitor.recovery}: {monitor.reason}"
        lines.append(text)
    return lines


def _monitor_result(monitor: ResourceMonitor | None) -> str:
    """``  (monitor ok 3 s ago)`` after a resource, or nothing when never checked."""
    if monitor is None or monitor.result is None:
        return ""
    when = monitor.time
    ago = f" {max(0.0, time.time() - when):.0f} s ago" if when is not None else ""
    detail = f": {monitor.reason}" if monitor.result != "ok" and monitor.reason else ""
    return f"  (monitor {monitor.result}{ago}{detail})"


def rsc_status(raw: Mapping[str, Any]) -> str:
    """What ``cl_status rscstatus`` says: none/local/foreign/all/transition."""
    return held_resources(parse_status(raw))


# --------------------------------------------------------------------------- verbs


async def _status(client: ControlClient, opts: argparse.Namespace) -> int:
    doc = await client.call("status")
    _out(json.dumps(doc, indent=2, sort_keys=False) if opts.json else format_status(doc))
    return EXIT_OK


async def _hbstatus(client: ControlClient, opts: argparse.Namespace) -> int:
    if not opts.verbose:
        await client.call("ping")
        _out("Heartbeat is running on this machine.")
        return EXIT_OK
    version = await _parameter_or_none(client, "hbversion") or "unknown"
    if opts.m:
        _out(f"Heartbeat version {version}")
        _out('Resources controlled by "haresources"')
    else:
        _out(f"version:\t{version}")
        _out('managed by:\t"haresources"')
    _print_nodes(parse_status(await client.call("status")), verbose=True, human=opts.m)
    return EXIT_OK


async def _listnodes(client: ControlClient, opts: argparse.Namespace) -> int:
    doc = parse_status(await client.call("status"))
    normal_only, ping_only = opts.n, opts.p
    if normal_only and ping_only:
        normal_only = ping_only = False
    _print_nodes(
        doc, verbose=opts.verbose, human=opts.m, normal_only=normal_only, ping_only=ping_only
    )
    return EXIT_OK


def _print_nodes(
    doc: StatusDoc,
    *,
    verbose: bool,
    human: bool,
    normal_only: bool = False,
    ping_only: bool = False,
) -> None:
    if human:
        _out("The nodes are as follow:")
    for node in reversed(doc.nodes):
        kind = node.type
        if (normal_only and kind != "normal") or (ping_only and kind != "ping"):
            continue
        if verbose:
            _out(f"\n{node.name}\t{node.status}\t(nodetype: {kind})")
            _print_links(node, verbose=True, human=human)
        else:
            _out(node.name)


def _print_links(node: Node, *, verbose: bool, human: bool) -> None:
    if human:
        _out("\tthis node has the following heartbeat links:")
    for link in reversed(node.links):
        if verbose:
            _out(f"\t{link.name}\t{link.status}")
        else:
            _out(f"\t{link.name}")


async def _known_node(client: ControlClient, name: str | None, missing: str, unknown: str) -> Node:
    """Fetch the status and find ``name``, failing the cl_status way."""
    if name is None:
        _err(missing)
        raise _Done(EXIT_PARAMETER)
    node = find_node(parse_status(await client.call("status")), name)
    if node is None:
        _err(unknown)
        raise _Done(EXIT_PARAMETER)
    return node


async def _nodestatus(client: ControlClient, opts: argparse.Namespace) -> int:
    node = await _known_node(
        client, opts.node, "Not enough parameters.", "Error. May be due to incorrect node name"
    )
    _out(f"The cluster node {opts.node} is {node.status}" if opts.m else node.status)
    return EXIT_OK if is_up(node) else EXIT_FAIL


async def _nodetype(client: ControlClient, opts: argparse.Namespace) -> int:
    node = await _known_node(
        client, opts.node, "No enough parameter.", "Error. May be due to incorrect node name"
    )
    kind = node.type
    _out(f"The node {opts.node}'s type: {kind}" if opts.m else kind)
    return EXIT_OK


async def _nodeweight(client: ControlClient, opts: argparse.Namespace) -> int:
    node = await _known_node(
        client, opts.node, "Not enough parameters.", "Error. Maybe due to incorrect node name."
    )
    weight = int(node.weight)
    _out(f"The weight of the cluster node {opts.node} is {weight}" if opts.m else str(weight))
    return EXIT_OK


async def _nodesite(client: ControlClient, opts: argparse.Namespace) -> int:
    node = await _known_node(
        client, opts.node, "Not enough parameters.", "Error. May be due to incorrect node name"
    )
    site = node.site
    _out(f"The site of the cluster node {opts.node} is {site}" if opts.m else site)
    return EXIT_OK


async def _listhblinks(client: ControlClient, opts: argparse.Namespace) -> int:
    if opts.node is None:
        _err("No enough parameter.")
        return EXIT_PARAMETER
    node = find_node(parse_status(await client.call("status")), opts.node)
    if node is None:
        _cl_error(
            "Cannot start heartbeat link interface walk.",
            f"REASON: unknown node {opts.node!r}",
        )
        return EXIT_UNKNOWN
    _print_links(node, verbose=opts.verbose, human=opts.m)
    return EXIT_OK


async def _hblinkstatus(client: ControlClient, opts: argparse.Namespace) -> int:
    if opts.node is None or opts.link is None:
        _err("No enough parameter.")
        return EXIT_PARAMETER
    node = find_node(parse_status(await client.call("status")), opts.node)
    link = None if node is None else find_link(node, opts.link)
    if link is None:
        what = f"unknown node {opts.node!r}" if node is None else f"unknown link {opts.link!r}"
        _cl_error("Cannot get heartbeat link status", f"REASON: {what}")
        return EXIT_UNKNOWN
    status = link.status
    if opts.m:
        _out(f"The node {opts.node}'s heartbeat link {opts.link} is {status}")
    else:
        _out(status)
    return EXIT_OK if status == "up" else EXIT_FAIL


async def _rscstatus(client: ControlClient, opts: argparse.Namespace) -> int:
    held = rsc_status(await client.call("status"))
    _out(f"This node is holding {held} resources." if opts.m else held)
    return EXIT_OK


async def _parameter_or_none(client: ControlClient, name: str) -> str | None:
    try:
        result = await client.call("hbparameter", name=name)
    except ControlError as exc:
        if exc.code == schema.DISCONNECTED:
            raise
        return None
    value = result.get("value") if isinstance(result, dict) else result
    return None if value is None else str(value)


async def _hbparameter(client: ControlClient, opts: argparse.Namespace) -> int:
    if opts.param is None:
        _cl_error("parameter name required")
        return EXIT_PARAMETER
    try:
        result = await client.call("hbparameter", name=opts.param)
        value = result.get("value") if isinstance(result, dict) else result
        reason = ""
    except ControlError as exc:
        if exc.code == schema.DISCONNECTED:
            raise
        value, reason = None, exc.message
    if value is None:
        _cl_error(f"Cannot get parameter {opts.param}'s value", f"REASON: {reason}")
        return EXIT_FAIL
    _out(f"Heartbeat parameter {opts.param}'s value: {value}" if opts.m else str(value))
    return EXIT_OK


async def _hold_request(client: ControlClient, opts: argparse.Namespace) -> int:
    try:
        result = await client.call(opts.verb, which=opts.which)
    except ControlError as exc:
        if exc.code == schema.FORBIDDEN:
            _err(f"hactl: {exc.message}")
            return EXIT_FORBIDDEN
        if exc.code == schema.REFUSED:
            _err(f"hactl: {opts.verb} {opts.which} refused: {exc.message}")
            return EXIT_FAIL
        raise
    message = result.get("message") if isinstance(result, dict) else None
    _out(str(message) if message else f"{opts.verb} {opts.which}: requested")
    return EXIT_OK


async def _stonith(client: ControlClient, opts: argparse.Namespace) -> int:
    return await _stonith_call(client, "stonith", opts.node)


async def _meatware(client: ControlClient, opts: argparse.Namespace) -> int:
    return await _stonith_call(client, "meatware_confirm", opts.node)


async def _stonith_call(client: ControlClient, cmd: str, node: str) -> int:
    try:
        result = await client.call(cmd, node=node)
    except ControlError as exc:
        if exc.code == schema.FORBIDDEN:
            _err(f"hactl: {exc.message}")
            return EXIT_FORBIDDEN
        if exc.code == schema.REFUSED:
            _err(f"hactl: {cmd} {node} refused: {exc.message}")
            return EXIT_FAIL
        raise
    if cmd == "stonith":
        device = result.get("device", "?") if isinstance(result, dict) else "?"
        _out(f"STONITH of {node} started with [{device}]; see the log for the result")
    else:
        _out(f"Meatware reset of {node} confirmed.")
    return EXIT_OK


def list_stonith_types() -> int:
    """``hactl stonith --list``: built-in, external, cluster-glue and fence-agents types."""
    from engine.stonith.base import PluginContext
    from engine.stonith.registry import list_types

    for name, provider in asyncio.run(list_types(PluginContext())):
        _out(f"{name:<32} {provider}")
    return EXIT_OK


VERBS: dict[str, Verb] = {
    "status": _status,
    "hbstatus": _hbstatus,
    "listnodes": _listnodes,
    "nodestatus": _nodestatus,
    "nodetype": _nodetype,
    "nodeweight": _nodeweight,
    "nodesite": _nodesite,
    "listhblinks": _listhblinks,
    "hblinkstatus": _hblinkstatus,
    "rscstatus": _rscstatus,
    "hbparameter": _hbparameter,
    "standby": _hold_request,
    "takeover": _hold_request,
    "stonith": _stonith,
    "meatware": _meatware,
}


# --------------------------------------------------------------------------- parsing


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree of hactl (one sub-parser per verb)."""
    parser = argparse.ArgumentParser(
        prog="hactl",
        description="Query and steer a running haengine through its control socket.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--state-dir", type=Path, help="engine state directory (has control.sock)")
    where.add_argument("--socket", type=Path, help="control socket path")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="seconds to wait for the engine (default 5; exit 12 on timeout, as cl_status)",
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    status = verbs.add_parser("status", help="cluster status (human or --json)")
    status.add_argument("--json", action="store_true", help="the status document as JSON")
    _add_cl_status_verbs(verbs)
    _add_export_verb(verbs)
    for verb, text in (
        ("standby", "give resources to the peer"),
        ("takeover", "take resources from the peer"),
    ):
        sub = verbs.add_parser(verb, help=f"{text} ({_MAY_ACT})")
        sub.add_argument("which", nargs="?", default="all", choices=HOLD_SETS)
    stonith = verbs.add_parser("stonith", help="fence (power-reset) NODE, or --list types")
    stonith.add_argument("node", nargs="?", help=f"node to reset ({_MAY_ACT})")
    stonith.add_argument("--list", action="store_true", help="list the usable STONITH types")
    meat = verbs.add_parser("meatware", help="confirm a manual (meatware) reset")
    meat.add_argument("action", choices=("confirm",))
    meat.add_argument("node", help="the node you power-cycled")
    return parser


def _add_export_verb(verbs: Any) -> None:
    sub = verbs.add_parser(
        "export", help="export pacemaker: ha.cf + haresources as a Pacemaker configuration"
    )
    sub.add_argument("target", choices=("pacemaker",), help="what to export to")
    sub.add_argument(
        "--format", dest="fmt", choices=("cib", "pcs", "crm"), default="cib",
        help="CIB XML (default), pcs commands, or crm configure input",
    )  # fmt: skip
    sub.add_argument(
        "--config-dir", type=Path, default=Path("/etc/ha.d"),
        help="directory with ha.cf, authkeys, haresources (default /etc/ha.d)",
    )  # fmt: skip
    sub.add_argument("--node", help="read the files as this node (default: uname -n or first)")
    sub.add_argument(
        "-w", "--wrappers", type=Path, metavar="DIR",
        help="also write the init-script wrappers Heartbeat scripts need (e.g. /etc/init.d)",
    )  # fmt: skip


def _export(opts: argparse.Namespace) -> int:
    """``hactl export pacemaker``: reads the files directly, no engine needed."""
    from engine.export import export_pacemaker, write_wrappers

    result = export_pacemaker(opts.config_dir, opts.fmt, opts.node)
    if result.text is None:
        _err(f"hactl: export pacemaker: {result.error}")
        return EXIT_FAIL
    if opts.wrappers is not None:
        try:
            for path in write_wrappers(result.wrappers, opts.wrappers):
                _err(f"hactl: wrote {path}")
        except OSError as exc:
            _err(f"hactl: export pacemaker: cannot write wrappers to {opts.wrappers}: {exc}")
            return EXIT_FAIL
    sys.stdout.write(result.text)
    return EXIT_OK


def _add_cl_status_verbs(verbs: Any) -> None:
    def add(name: str, text: str, *positionals: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = verbs.add_parser(name, help=f"cl_status {name}: {text}")
        sub.add_argument("-m", action="store_true", help="human-readable output")
        for positional in positionals:
            sub.add_argument(positional, nargs="?")
        return sub

    add("hbstatus", "is the engine running").add_argument(
        "-v", dest="verbose", action="store_true", help="also version, nodes and links"
    )
    listnodes = add("listnodes", "nodes, in reverse configuration order")
    listnodes.add_argument("-n", action="store_true", help="normal nodes only")
    listnodes.add_argument("-p", action="store_true", help="ping nodes only")
    listnodes.add_argument("-v", dest="verbose", action="store_true", help="with links")
    add("nodestatus", "init/up/active/dead/ping", "node")
    add("nodetype", "normal/ping", "node")
    add("nodeweight", "node weight", "node")
    add("nodesite", "node site", "node")
    add("listhblinks", "links of a node, in reverse configuration order", "node").add_argument(
        "-v", dest="verbose", action="store_true", help="with link status"
    )
    add("hblinkstatus", "up/dead", "node", "link")
    add("rscstatus", "none/local/foreign/all/transition")
    add("hbparameter", "an ha.cf parameter as written").add_argument(
        "-p", dest="param", metavar="NAME", help="parameter name"
    )


def _parse(argv: list[str]) -> argparse.Namespace | int:
    """Parsed options, or the exit code when argparse already printed help or an error."""
    try:
        return build_parser().parse_args(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else EXIT_USAGE
        if code == EXIT_USAGE and any(arg in CL_STATUS_VERBS for arg in argv):
            return EXIT_PARAMETER
        return code


# --------------------------------------------------------------------------- running


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _unreachable(opts: argparse.Namespace, path: Path, exc: OSError) -> int:
    if opts.verb == "hbstatus":
        if isinstance(exc, PermissionError):
            _out("Heartbeat is apparently running on this machine, but refuses my connection")
            code = EXIT_OK
        else:
            _out("Heartbeat is stopped on this machine.")
            code = EXIT_FAIL
        if opts.verbose:
            _out(f"({_reason(exc)})")
        return code
    _err(
        f"hactl: cannot reach the engine at {path}: {_reason(exc)} "
        "(is haengine running? see --state-dir)"
    )
    return EXIT_FAIL


async def _run(opts: argparse.Namespace, path: Path) -> int:
    client = ControlClient()
    try:
        async with asyncio.timeout(opts.timeout):
            try:
                await client.connect(path)
            except OSError as exc:
                return _unreachable(opts, path, exc)
            return await VERBS[opts.verb](client, opts)
    except TimeoutError:
        _err(f"hactl: no answer from the engine at {path} within {opts.timeout:g} s")
        return EXIT_TIMEOUT
    except _Done as done:
        return done.code
    except ControlError as exc:
        _err(f"hactl: {opts.verb} failed: {exc.message} ({exc.code})")
        return EXIT_UNKNOWN if opts.verb in CL_STATUS_VERBS else EXIT_FAIL
    finally:
        await client.aclose()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``hactl``; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    opts = _parse(args)
    if isinstance(opts, int):
        return opts
    if opts.verb is None:
        build_parser().print_help(sys.stderr)
        return EXIT_USAGE
    if opts.verb == "stonith" and (opts.list or not opts.node):
        if not opts.list:
            _err("hactl: stonith needs a NODE or --list")
            return EXIT_USAGE
        return list_stonith_types()
    if opts.verb == "export":
        return _export(opts)
    path = opts.socket or default_socket_path(opts.state_dir)
    return asyncio.run(_run(opts, path))


if __name__ == "__main__":
    sys.exit(main())
