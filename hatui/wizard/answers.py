"""``hatui setup --answers FILE``: the wizard without a terminal, for automation.

The answers file (TOML, or JSON when it ends in ``.json``) fills the same
``WizardState`` the screens fill, runs the same step checks and the same engine
validation, and writes through the same ``write_files``; so for the same answers both
paths produce byte-identical files. Example::

    node = "alpha"
    peers = ["bravo"]
    udpport = 694
    timing = "lan"            # or a table: {keepalive = "1", deadtime = "15", ...}
    auto_failback = "on"
    media = [{kind = "ucast", dev = "eth0", addresses = ["10.0.0.1", "10.0.0.2"]}]
    auth = {method = "sha256", key = "..."}   # or sha1 (real Heartbeat), aes256gcm
    groups = [{node = "alpha", resources = ["IPaddr2::10.0.0.10/24/eth0", "apache2"]}]
    stonith = [{type = "external/ssh", params = "alpha bravo"}]
    log = {logfile = "/var/log/ha-log", logfacility = "local0"}
    skip_ip_check = false     # true: write even if a cluster IP answers (not advised)

A ucast medium lists every node's address (``addresses``; ``peer = "..."`` is one
line), so the same ha.cf works on every node. ``auth.method`` is ``sha256`` (the
default), ``sha1`` when a real Heartbeat node will join, or ``aes256gcm`` (every
datagram encrypted; hatui nodes only; a key of at least 16 characters). Without a key
the answers reuse the key of the ``authkeys`` already in the directory (so the same
answers give the same files on every run), else a random one is generated; either way
it is said.

Before writing, every cluster IP is probed as on the review page (arping -D on its
interface, else ping); one that answers refuses the write unless ``skip_ip_check``.
"""

from __future__ import annotations

import json
import logging
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from engine.config import Issue, Severity
from hatui.wizard.discover import check_cluster_ips, list_interfaces, local_addresses
from hatui.wizard.enginecheck import engine_check
from hatui.wizard.render import (
    OverwriteRefused,
    copy_instructions,
    existing_key,
    full_diff,
    plan_changes,
    write_files,
)
from hatui.wizard.state import PRESETS, Group, Medium, Stonith, WizardState

logger = logging.getLogger(__name__)

TOP_KEYS = frozenset(
    {"node", "peers", "udpport", "timing", "auto_failback", "media", "auth", "groups",
     "stonith", "log", "cluster", "skip_ip_check"}
)  # fmt: skip


class AnswersError(ValueError):
    """The answers file cannot be read or has a wrong key or type."""


def load_answers(path: Path) -> dict[str, Any]:
    """Read TOML (default) or JSON (``.json``); errors say which file and why."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise AnswersError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = json.loads(raw) if path.suffix == ".json" else tomllib.loads(raw.decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise AnswersError(f"{path}: not valid {_kind(path)}: {exc}") from None
    if not isinstance(data, dict):
        raise AnswersError(f"{path}: the top level must be a table/object")
    return data


def _kind(path: Path) -> str:
    return "JSON" if path.suffix == ".json" else "TOML"


def _get(data: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = data[key]
    if kind is int and isinstance(value, bool):
        raise AnswersError(f"{where}{key}: expected an integer, got {value!r}")
    if not isinstance(value, kind):
        raise AnswersError(f"{where}{key}: expected {kind.__name__}, got {value!r}")
    return value


def _table(value: Any, where: str, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise AnswersError(f"{where}: expected a table, got {value!r}")
    unknown = set(value) - allowed
    if unknown:
        raise AnswersError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    return value


def state_from_answers(data: Mapping[str, Any]) -> WizardState:
    """Fill a ``WizardState``; unknown keys and wrong types raise ``AnswersError``."""
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise AnswersError(f"unknown key(s): {', '.join(sorted(unknown))}")
    state = WizardState()
    if "node" in data:
        state.node = _get(data, "node", str, "").strip().lower()
    if "peers" in data:
        state.peers = [str(p).strip().lower() for p in _get(data, "peers", list, "")]
    if "udpport" in data:
        state.udpport = _get(data, "udpport", int, "")
    if "cluster" in data:
        state.cluster_name = _get(data, "cluster", str, "")
    if "auto_failback" in data:
        state.auto_failback = _get(data, "auto_failback", str, "")
    _timing(state, data.get("timing", "lan"))
    state.media = [
        medium
        for i, entry in enumerate(data.get("media", []))
        for medium in _media(entry, f"media[{i}]")
    ]
    _auth(state, data.get("auth", {}))
    state.groups = [_group(g, f"groups[{i}]") for i, g in enumerate(data.get("groups", []))]
    state.stonith = [_stonith(s, f"stonith[{i}]") for i, s in enumerate(data.get("stonith", []))]
    _log(state, data.get("log", {}))
    return state


def _timing(state: WizardState, value: Any) -> None:
    if isinstance(value, str):
        if value not in PRESETS:
            raise AnswersError(f"timing: unknown preset {value!r} (one of {', '.join(PRESETS)})")
        state.apply_preset(value)
        return
    table = _table(value, "timing", {"keepalive", "warntime", "deadtime", "initdead"})
    state.preset = "custom"
    for name, text in table.items():
        setattr(state, name, str(text))


def _media(value: Any, where: str) -> list[Medium]:
    """One medium, or one ucast line per address of ``addresses``."""
    allowed = {"kind", "dev", "peer", "addresses", "group", "port", "ttl", "loop"}
    table = _table(value, where, allowed)
    if "kind" not in table or "dev" not in table:
        raise AnswersError(f"{where}: 'kind' and 'dev' are required")
    peers = [str(table["peer"])] if "peer" in table else []
    if "addresses" in table:
        peers += [str(a) for a in _get(table, "addresses", list, f"{where}.")]
    return [
        Medium(
            str(table["kind"]),
            str(table["dev"]),
            peer=peer,
            group=str(table.get("group", "")),
            port=int(table.get("port", 694)),
            ttl=int(table.get("ttl", 1)),
            loop=bool(table.get("loop", False)),
        )
        for peer in peers or [""]
    ]


def _auth(state: WizardState, value: Any) -> None:
    table = _table(value, "auth", {"method", "key"})
    if "method" in table:
        state.auth_method = str(table["method"])
    if "key" in table:
        state.auth_key = str(table["key"])


def _group(value: Any, where: str) -> Group:
    table = _table(value, where, {"node", "resources"})
    resources = table.get("resources", [])
    if not isinstance(resources, list):
        raise AnswersError(f"{where}.resources: expected a list")
    return Group(str(table.get("node", "")).lower(), [str(r) for r in resources])


def _stonith(value: Any, where: str) -> Stonith:
    table = _table(value, where, {"type", "params", "host"})
    if "type" not in table:
        raise AnswersError(f"{where}: 'type' is required")
    return Stonith(str(table["type"]), str(table.get("params", "")), str(table.get("host", "*")))


def _log(state: WizardState, value: Any) -> None:
    table = _table(value, "log", {"logfile", "debugfile", "logfacility"})
    for name, text in table.items():
        setattr(state, name, str(text))


def _print_issues(issues: list[Issue], out: TextIO) -> None:
    for issue in issues:
        print(f"  {issue}", file=out)


def run_answers(
    answers: Path, config_dir: Path, *, yes: bool = False, out: TextIO | None = None
) -> int:
    """Check, validate and write; 0 written, 1 refused (with reasons), 2 bad answers."""
    out = out or sys.stdout
    try:
        data = load_answers(answers)
        state = state_from_answers(data)
        skip_ip_check = _get(data, "skip_ip_check", bool, "") if "skip_ip_check" in data else False
    except AnswersError as exc:
        print(f"hatui setup: {exc}", file=out)
        return 2
    if "key" not in data.get("auth", {}):
        print(f"hatui setup: {_choose_key(state, config_dir)}", file=out)
    local = local_addresses(list_interfaces())
    issues = state.findings(None, local, config_dir=config_dir)
    errors = [i for i in issues if i.severity is Severity.ERROR]
    if issues:
        print("hatui setup: findings:", file=out)
        _print_issues(issues, out)
    if errors or not _engine_accepts(state, config_dir, out):
        print("hatui setup: configuration refused; nothing written", file=out)
        return 1
    if not _cluster_ips_free(state, skip_ip_check, out):
        return 1
    files = state.render()
    print(full_diff(plan_changes(config_dir, files)), end="", file=out)
    try:
        report = write_files(config_dir, files, confirm=yes)
    except OverwriteRefused as exc:
        print(f"hatui setup: {exc} (use --yes)", file=out)
        return 1
    except OSError as exc:
        print(f"hatui setup: cannot write in {config_dir}: {exc}", file=out)
        return 1
    for path in report.written:
        print(f"wrote {path}", file=out)
    for path in report.backups:
        print(f"backup {path}", file=out)
    print("\n".join(copy_instructions(config_dir, state.peers)), file=out)
    return 0


def _choose_key(state: WizardState, config_dir: Path) -> str:
    """No key in the answers: the existing authkeys' key, else the random one."""
    existing = existing_key(config_dir)
    if existing is not None:
        state.auth_key = existing[1]
        return f"no key in the answers: reusing the key of {config_dir / 'authkeys'}"
    return ("no key in the answers: generated a new random key (the authkeys file "
            "goes to every node unchanged)")  # fmt: skip


def _engine_accepts(state: WizardState, config_dir: Path, out: TextIO) -> bool:
    """With a STONITH device: the engine's own check probes it, as the review page does."""
    if not state.stonith:
        return True
    verdict = engine_check(state.render().by_name(), state.node, config_dir)
    print(f"hatui setup: {verdict.describe()}", file=out)
    return bool(verdict.accepted)


def _cluster_ips_free(state: WizardState, skip: bool, out: TextIO) -> bool:
    """Probe the cluster IPs as the review page does; False refuses the write."""
    addresses = state.cluster_ips()
    if not addresses:
        return True
    if skip:
        print("hatui setup: cluster IPs not probed (skip_ip_check = true)", file=out)
        return True
    found = check_cluster_ips(addresses)
    for result in found:
        print(result.describe(), file=out)
    taken = [result.address for result in found if result.in_use]
    if taken:
        print(f"hatui setup: cluster IP {', '.join(taken)} already answers on the network: "
              "two hosts with one address break both; nothing written. Pick a free "
              "address, or set skip_ip_check = true in the answers file if this host "
              "is the one that will give it up.", file=out)  # fmt: skip
    return not taken
