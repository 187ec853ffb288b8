"""The setup wizard's answers as one plain value, checked step by step.

Rules of this module: no Textual, no I/O except the final ``validate`` (which renders
the three files into a temporary directory and runs the engine's own ``load_config`` on
it, so the wizard and ``haengine --check-config`` can never disagree). Every ``check_*``
method returns ``Issue`` values; a step is refused while any of them is an ERROR.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from engine.config import (
    ENCRYPTING,
    MIN_ENCRYPTING_SECRET,
    Issue,
    Severity,
    SourceRef,
    check_resource,
    check_timing,
    load_config,
    parse_time_ms,
    resource_from_token,
)
from hatui.wizard.scratch import scratch_copy, target_prefix, unscratch

logger = logging.getLogger(__name__)

HACF, AUTHKEYS, HARESOURCES = "ha.cf", "authkeys", "haresources"
MEDIUM_KINDS = ("ucast", "bcast", "mcast", "serial")
AUTH_METHODS = ("sha256", "sha1", "aes256gcm")
"""sha256 by default; sha1 when a real Heartbeat node will join (it knows no other of
these); aes256gcm encrypts every datagram and suits clusters of hatui nodes only."""
NODE_NAME = re.compile(r"[a-z0-9_][a-z0-9_.-]*")
INTERFACE = re.compile(r"[A-Za-z0-9_.:@-]{1,15}")
HOST_NAME = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?")
Resolver = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class TimingPreset:
    """A named set of the four timers, with the reason to pick it."""

    name: str
    label: str
    keepalive: str
    warntime: str
    deadtime: str
    initdead: str
    why: str


PRESETS: dict[str, TimingPreset] = {
    "lan": TimingPreset(
        "lan", "LAN default", "1", "5", "15", "60",
        "one heartbeat a second; a node is dead after 15 s of silence",
    ),
    "fast": TimingPreset(
        "fast", "fast", "200ms", "600ms", "1", "10",
        "sub-second failover on a quiet, dedicated network; more false alarms under load",
    ),
    "wan": TimingPreset(
        "wan", "WAN-tolerant", "2", "10", "30", "120",
        "long gaps and jitter tolerated; failover takes half a minute",
    ),
}  # fmt: skip

TIMING_RULES = (
    "deadtime must be more than 2 × keepalive (Heartbeat refuses to start otherwise); "
    "warntime between keepalive and deadtime (≈ 2 × keepalive) reports late heartbeats; "
    "initdead ≥ deadtime and ≥ 10 s covers slow network start-up (advised: 2 × deadtime). "
    "A bare number is seconds; write 500ms for milliseconds."
)


def wizard_issue(step: str, message: str, hint: str = "", *, warn: bool = False) -> Issue:
    """An ``Issue`` that points at a wizard step instead of a file line."""
    severity = Severity.WARNING if warn else Severity.ERROR
    return Issue(severity, SourceRef(f"step {step}"), message, hint)


def errors_of(issues: list[Issue]) -> list[Issue]:
    """Only the issues that refuse the step."""
    return [issue for issue in issues if issue.severity is Severity.ERROR]


def new_key() -> str:
    """A strong random shared secret (256 bits, hex)."""
    return secrets.token_hex(32)


@dataclass
class Medium:
    """One heartbeat medium as the wizard asks for it."""

    kind: str
    dev: str
    peer: str = ""
    """ucast: one node's address (the wizard writes one line per node, ours too)."""
    group: str = ""
    """mcast: the group address."""
    port: int = 694
    ttl: int = 1
    loop: bool = False

    def line(self) -> str:
        """The ``ha.cf`` line."""
        if self.kind == "ucast":
            return f"ucast {self.dev} {self.peer}"
        if self.kind == "mcast":
            return f"mcast {self.dev} {self.group} {self.port} {self.ttl} {int(self.loop)}"
        return f"{self.kind} {self.dev}"


@dataclass
class Group:
    """One ``haresources`` line: the preferred node and its resources in start order."""

    node: str
    resources: list[str] = field(default_factory=list)

    def line(self) -> str:
        """The ``haresources`` line."""
        return " ".join([self.node, *self.resources])


@dataclass
class Stonith:
    """One ``stonith_host`` line; parameters are checked by the engine at review."""

    type: str
    params: str = ""
    host: str = "*"

    def line(self) -> str:
        """The ``ha.cf`` line."""
        return " ".join(p for p in ("stonith_host", self.host, self.type, self.params) if p)


@dataclass(frozen=True, slots=True)
class RenderedFiles:
    """The text of the three configuration files."""

    hacf: str
    authkeys: str
    haresources: str

    def by_name(self) -> dict[str, str]:
        """File name → text, in writing order."""
        return {HACF: self.hacf, AUTHKEYS: self.authkeys, HARESOURCES: self.haresources}


@dataclass
class WizardState:
    """Everything the wizard asks, with the defaults it proposes."""

    node: str = ""
    peers: list[str] = field(default_factory=list)
    media: list[Medium] = field(default_factory=list)
    udpport: int = 694
    preset: str = "lan"
    keepalive: str = PRESETS["lan"].keepalive
    warntime: str = PRESETS["lan"].warntime
    deadtime: str = PRESETS["lan"].deadtime
    initdead: str = PRESETS["lan"].initdead
    auth_method: str = "sha256"
    auth_key: str = field(default_factory=new_key)
    auto_failback: str = "on"
    groups: list[Group] = field(default_factory=list)
    stonith: list[Stonith] = field(default_factory=list)
    logfile: str = "/var/log/ha-log"
    debugfile: str = "/var/log/ha-debug"
    logfacility: str = "local0"
    cluster_name: str = ""

    # ------------------------------------------------------------------ helpers

    @property
    def nodes(self) -> list[str]:
        """This node, then the peers (the ``node`` lines)."""
        return [self.node, *(p for p in self.peers if p != self.node)]

    def apply_preset(self, name: str) -> None:
        """Copy a timing preset's values in."""
        preset = PRESETS[name]
        self.preset = name
        self.keepalive, self.warntime = preset.keepalive, preset.warntime
        self.deadtime, self.initdead = preset.deadtime, preset.initdead

    def timing_ms(self) -> dict[str, int | None]:
        """The four timers in ms (None where the text is not a valid time)."""
        texts = {
            "keepalive": self.keepalive,
            "warntime": self.warntime,
            "deadtime": self.deadtime,
            "initdead": self.initdead,
        }
        return {name: parse_time_ms(text) for name, text in texts.items()}

    def cluster_ips(self) -> list[tuple[str, str]]:
        """(address, interface or "") of every IP the resource groups bring up."""
        found: list[tuple[str, str]] = []
        for group in self.groups:
            for token in group.resources:
                spec = resource_from_token(token)
                if spec.script not in ("IPaddr", "IPaddr2") or len(spec.args) != 1:
                    continue
                parts = spec.args[0].split("/")
                nic = parts[2] if len(parts) > 2 and not parts[2][:1].isdigit() else ""
                if _ipv4(parts[0]) is not None:
                    found.append((parts[0], nic.split(":")[0]))
        return found

    # ------------------------------------------------------------------ step checks

    def check_node(self, uname: str | None = None) -> list[Issue]:
        """This node's name: a valid host name; a warning when it is not ``uname -n``."""
        name = self.node.strip().lower()
        host = (uname if uname is not None else os.uname().nodename).lower()
        if not name:
            return [wizard_issue("node", "The node name is empty", f"this machine is {host}")]
        if not NODE_NAME.fullmatch(name) or len(name) > 100:
            return [
                wizard_issue(
                    "node",
                    f"Invalid node name [{self.node}]",
                    "node names are host names: letters, digits, '.', '-', '_'",
                )
            ]
        if name != host:
            return [
                wizard_issue(
                    "node",
                    f"Node name [{name}] is not this machine's uname -n [{host}]",
                    f"start the engine with --node {name} or write {name} in nodeinfo",
                    warn=True,
                )
            ]
        return []

    def check_peers(self) -> list[Issue]:
        """At least one peer; valid, distinct names; never this node."""
        issues: list[Issue] = []
        if not self.peers:
            issues.append(wizard_issue("peers", "No peer nodes", "a cluster needs two nodes"))
        seen: set[str] = set()
        for peer in self.peers:
            if not NODE_NAME.fullmatch(peer) or len(peer) > 100:
                issues.append(
                    wizard_issue(
                        "peers",
                        f"Invalid node name [{peer}]",
                        "node names are host names: letters, digits, '.', '-', '_'",
                    )
                )
            elif peer == self.node:
                issues.append(
                    wizard_issue("peers", f"[{peer}] is this node", "list only the other nodes")
                )
            elif peer in seen:
                issues.append(wizard_issue("peers", f"Peer [{peer}] listed twice"))
            seen.add(peer)
        return issues

    def check_media(self, local: Collection[str] | None = None) -> list[Issue]:
        """Every medium well-formed; addresses are IPv4 literals in the right range;
        each ucast device lists every node's address, so one ha.cf serves all nodes.

        ``local`` (this machine's addresses, when known) warns about a device none of
        whose addresses is ours: the peers' copies would have no line to this node.
        """
        issues: list[Issue] = []
        if not self.media:
            issues.append(
                wizard_issue(
                    "media", "No heartbeat media defined", "add e.g. 'ucast eth0 <peer-address>'"
                )
            )
        if not 1 <= self.udpport <= 65535:
            issues.append(
                wizard_issue("media", f"Bad udpport [{self.udpport}]", "write a port 1-65535")
            )
        for medium in self.media:
            issues.extend(_medium_issues(medium))
        if not errors_of(issues):
            issues.extend(self._ucast_coverage(local))
        return issues

    def ucast_devices(self) -> dict[str, list[str]]:
        """ucast device → the addresses listed on it, in order."""
        found: dict[str, list[str]] = {}
        for medium in self.media:
            if medium.kind == "ucast":
                found.setdefault(medium.dev, []).append(medium.peer)
        return found

    def _ucast_coverage(self, local: Collection[str] | None) -> list[Issue]:
        issues: list[Issue] = []
        count = len(self.nodes)
        for dev, addresses in self.ucast_devices().items():
            twice = sorted({a for a in addresses if addresses.count(a) > 1})
            if twice:
                message = f"ucast {dev}: {', '.join(twice)} listed twice"
                issues.append(wizard_issue("media", message, "list each node's address once"))
            elif len(addresses) < count:
                issues.append(
                    wizard_issue(
                        "media",
                        f"ucast {dev}: {len(addresses)} address(es) for {count} nodes",
                        f"list every node's address on {dev}, this node's too: the same "
                        "ha.cf then works on every node (a node skips its own address)",
                    )
                )
            elif local is not None and not set(addresses) & set(local):
                issues.append(
                    wizard_issue(
                        "media",
                        f"ucast {dev}: none of {', '.join(addresses)} is this machine's",
                        f"this machine has {', '.join(sorted(local)) or 'no IPv4 address'}; "
                        "the peers' copies of ha.cf would have no line to this node",
                        warn=True,
                    )
                )
        return issues

    def check_timing(self) -> list[Issue]:
        """Time syntax, then the engine's own cross-timer rules (spec §2.5)."""
        values = self.timing_ms()
        bad = [name for name, ms in values.items() if ms is None]
        if bad:
            return [
                wizard_issue(
                    "timing",
                    f"Bad {name} [{getattr(self, name)}]",
                    "a bare number is seconds; write e.g. 2, 1.5 or 500ms",
                )
                for name in bad
            ]
        keepalive, warntime = values["keepalive"] or 0, values["warntime"] or 0
        deadtime, initdead = values["deadtime"] or 0, values["initdead"] or 0
        typed = {name: getattr(self, name) for name in values}
        found = check_timing(
            keepalive, deadtime, warntime, initdead, fallback=SourceRef("step timing"),
            texts=typed,
        )  # fmt: skip
        return [Issue(i.severity, SourceRef("step timing"), i.message, i.hint) for i in found]

    def check_auth(self) -> list[Issue]:
        """A keyed method and a secret long enough to matter (an encrypting method
        refuses a shorter one: the engine would)."""
        issues: list[Issue] = []
        if self.auth_method not in AUTH_METHODS:
            issues.append(
                wizard_issue(
                    "auth",
                    f"Unsupported method [{self.auth_method}]",
                    "use sha256, sha1 when a peer runs real Heartbeat, or aes256gcm when "
                    "every node runs hatui",
                )
            )
        key = self.auth_key.strip()
        if not key or any(ch.isspace() for ch in key):
            issues.append(
                wizard_issue("auth", "The key is empty or has blanks", "generate a new key")
            )
        elif self.auth_method in ENCRYPTING and len(key) < MIN_ENCRYPTING_SECRET:
            issues.append(
                wizard_issue(
                    "auth",
                    f"The key has {len(key)} characters; {self.auth_method} needs at least "
                    f"{MIN_ENCRYPTING_SECRET}",
                    "generate a new key (64 random hex digits)",
                )
            )
        elif len(key) < 16:
            issues.append(
                wizard_issue(
                    "auth", f"The key is short ({len(key)} characters)", "use 32 or more",
                    warn=True,
                )
            )  # fmt: skip
        return issues

    def check_resources(self) -> list[Issue]:
        """Every group's node is a cluster node; group keys are unique; IPs are valid."""
        issues: list[Issue] = []
        keys: set[str] = set()
        nodes = set(self.nodes)
        for group in self.groups:
            if group.node not in nodes:
                issues.append(
                    wizard_issue(
                        "resources",
                        f"Bad nodename in haresources [{group.node}]",
                        f"the preferred node must be one of: {', '.join(self.nodes)}",
                    )
                )
            if not group.resources:
                issues.append(wizard_issue("resources", f"Group of [{group.node}] is empty"))
                continue
            if group.resources[0] in keys:
                issues.append(
                    wizard_issue(
                        "resources",
                        f"Resource group key [{group.resources[0]}] used twice",
                        "the first resource names the group and must be unique",
                    )
                )
            keys.add(group.resources[0])
            issues.extend(_resource_issues(group.resources))
        return issues

    def check_stonith(self) -> list[Issue]:
        """A warning without STONITH; host selectors must be cluster nodes or ``*``."""
        if not self.stonith:
            return [
                wizard_issue(
                    "stonith",
                    "No STONITH device configured",
                    "without fencing a split brain can run resources twice",
                    warn=True,
                )
            ]
        issues: list[Issue] = []
        for device in self.stonith:
            if not re.fullmatch(r"[A-Za-z0-9_./-]+", device.type):
                issues.append(wizard_issue("stonith", f"Bad STONITH type [{device.type}]"))
            if device.host != "*" and device.host not in self.nodes:
                issues.append(
                    wizard_issue(
                        "stonith",
                        f"Unknown node [{device.host}] for stonith_host",
                        "write * or a cluster node name",
                    )
                )
        return issues

    def check_logging(self) -> list[Issue]:
        """Log files are absolute paths (or none); the facility is checked by the engine."""
        issues: list[Issue] = []
        for name in ("logfile", "debugfile"):
            path = getattr(self, name)
            if path and (not path.startswith("/") or any(ch.isspace() for ch in path)):
                hint = "write an absolute path, or leave it empty"
                issues.append(wizard_issue("logging", f"Bad {name} [{path}]", hint))
        if not (self.logfile or self.debugfile or self.logfacility not in ("", "none")):
            hint = "keep /var/log/ha-log, or name a syslog facility"
            issues.append(wizard_issue("logging", "No log destination", hint))
        return issues

    def check_all(
        self, uname: str | None = None, local: Collection[str] | None = None
    ) -> list[Issue]:
        """Every step's checks, in step order."""
        return [
            *self.check_node(uname),
            *self.check_peers(),
            *self.check_media(local),
            *self.check_timing(),
            *self.check_auth(),
            *self.check_resources(),
            *self.check_stonith(),
            *self.check_logging(),
        ]

    # ------------------------------------------------------------------ files

    def render(self) -> RenderedFiles:
        """The three files' text: deterministic, commented, Heartbeat-compatible."""
        return RenderedFiles(self._render_hacf(), self._render_authkeys(), self._render_hares())

    def _render_hacf(self) -> str:
        lines = [
            "# ha.cf written by `hatui setup`: the same file serves every node",
            "# (a node skips the ucast line that names its own address).",
            f"logfile {self.logfile}" if self.logfile else "",
            f"debugfile {self.debugfile}" if self.debugfile else "",
            f"logfacility {self.logfacility or 'none'}",
            "# timers (a bare number is seconds)",
            f"keepalive {self.keepalive}",
            f"warntime {self.warntime}",
            f"deadtime {self.deadtime}",
            f"initdead {self.initdead}",
            "# udpport must come before the media lines",
            f"udpport {self.udpport}",
            *(medium.line() for medium in self.media),
            f"auto_failback {self.auto_failback}",
            *(device.line() for device in self.stonith),
            *(f"node {name}" for name in self.nodes),
        ]
        if self.cluster_name:
            lines.insert(1, f"cluster {self.cluster_name}")
        return "\n".join(line for line in lines if line) + "\n"

    def _render_authkeys(self) -> str:
        return f"auth 1\n1 {self.auth_method} {self.auth_key.strip()}\n"

    def _render_hares(self) -> str:
        head = "# haresources written by `hatui setup`; must be identical on every node.\n"
        return head + "".join(group.line() + "\n" for group in self.groups)

    def findings(
        self,
        uname: str | None = None,
        local: Collection[str] | None = None,
        *,
        config_dir: Path | None = None,
        resolve: Resolver | None = None,
    ) -> list[Issue]:
        """Every step's checks, then (only when they pass) the engine's validation.

        Each problem is reported once: the engine is not asked about files the step
        checks already refuse (its follow-ups, such as "No heartbeat media defined"
        after a refused medium, would only mislead), and a finding both make is kept
        once, the step's wording first.
        """
        issues = self.check_all(uname, local)
        if not errors_of(issues):
            timers = self._timer_lines()
            issues += [
                issue
                for issue in self.validate(resolve, config_dir=config_dir)
                if not (issue.where.path == HACF and issue.where.line in timers)
            ]
        seen: set[str] = set()
        unique = []
        for issue in issues:
            if issue.message not in seen:
                seen.add(issue.message)
                unique.append(issue)
        return unique

    def _timer_lines(self) -> set[int]:
        """ha.cf lines of the four timers (the timing step reports them in its units)."""
        names = ("keepalive ", "warntime ", "deadtime ", "initdead ")
        lines = self.render().hacf.splitlines()
        return {number for number, line in enumerate(lines, 1) if line.startswith(names)}

    def validate(
        self, resolve: Resolver | None = None, *, config_dir: Path | None = None
    ) -> list[Issue]:
        """Render into a private temp dir and run the engine's ``load_config`` on it.

        Paths in the issues are rewritten to the bare file names, so they read the
        same whatever the target directory is; hints name the target directory.
        ``config_dir``'s ``resource.d`` and ``hatui.conf`` are seen from the temp dir
        (``scratch_copy``).
        """
        with scratch_copy(self.render().by_name(), config_dir) as folder:
            if resolve is None:
                result = load_config(folder, self.node)
            else:
                result = load_config(folder, self.node, resolve=resolve)
            return [_relative(issue, folder, config_dir) for issue in result.issues]


def _relative(issue: Issue, folder: Path, config_dir: Path | None) -> Issue:
    path = unscratch(issue.where.path, folder)
    hint = unscratch(issue.hint, folder, target_prefix(config_dir))
    message = unscratch(issue.message, folder, target_prefix(config_dir))
    return Issue(issue.severity, SourceRef(path, issue.where.line), message, hint)


def _ipv4(text: str) -> ipaddress.IPv4Address | None:
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        return None


def _medium_issues(medium: Medium) -> list[Issue]:
    where = f"{medium.kind} {medium.dev}".strip()
    if medium.kind not in MEDIUM_KINDS:
        return [wizard_issue("media", f"Unknown medium [{medium.kind}]", "ucast/bcast/mcast")]
    if medium.kind == "serial":
        if not medium.dev.startswith("/dev/"):
            return [
                wizard_issue(
                    "media", f"Serial port not full pathname [{medium.dev}]", "e.g. /dev/ttyS0"
                )
            ]
        return []
    if not INTERFACE.fullmatch(medium.dev):
        return [wizard_issue("media", f"{where}: invalid interface name [{medium.dev}]")]
    if medium.kind == "ucast":
        address = _ipv4(medium.peer)
        if address is None and HOST_NAME.fullmatch(medium.peer) and not medium.peer[-1].isdigit():
            return [
                wizard_issue(
                    "media",
                    f"{where}: peer [{medium.peer}] is a host name",
                    "it is resolved when the engine starts; an address is more robust",
                    warn=True,
                )
            ]
        if address is None:
            return [
                wizard_issue(
                    "media",
                    f"{where}: bad IP address [{medium.peer}]",
                    "write the peer's IPv4 address, e.g. 10.0.0.2",
                )
            ]
        if address.is_multicast or address.is_unspecified:
            return [wizard_issue("media", f"{where}: [{medium.peer}] is not a host address")]
    if medium.kind == "mcast":
        return _mcast_issues(medium, where)
    return []


def _mcast_issues(medium: Medium, where: str) -> list[Issue]:
    issues: list[Issue] = []
    group = _ipv4(medium.group)
    if group is None or not group.is_multicast:
        issues.append(
            wizard_issue(
                "media",
                f"{where}: bad multicast group [{medium.group}]",
                "use 224.0.0.0-239.255.255.255; 239.x.x.x is for private use",
            )
        )
    if not 1 <= medium.port <= 65535:
        issues.append(wizard_issue("media", f"{where}: bad port [{medium.port}]", "1-65535"))
    if not 0 <= medium.ttl <= 4:
        issues.append(wizard_issue("media", f"{where}: bad ttl [{medium.ttl}]", "0 to 4"))
    return issues


def _resource_issues(tokens: list[str]) -> list[Issue]:
    """The engine's own per-token check (the same as ``--check-config``)."""
    return [
        wizard_issue("resources", message, hint)
        for token in tokens
        for message, hint in check_resource(resource_from_token(token))
    ]


IP_FORM = "IPaddr2"
FS_FORM = "Filesystem"


def resource_token(agent: str, args: list[str]) -> str:
    """The haresources token for ``agent`` with the form's arguments (blanks dropped).

    IPaddr2's fields are ip, cidr, nic (joined by '/'); Filesystem's are device,
    directory, fstype (one argument each); every other agent takes the words of its
    fields as '::' arguments: ``key=value`` words for ``ocf:`` agents, none for systemd.
    """
    given = [arg.strip() for arg in args if arg.strip()]
    if agent == IP_FORM:
        return f"{IP_FORM}::" + "/".join(given)
    words = given if agent == FS_FORM else [w for arg in given for w in arg.split()]
    return "::".join([agent, *words])


def form_problems(agent: str, args: list[str]) -> list[str]:
    """Why the resource form cannot be added as it is ([] when it can).

    The same per-token check as the review and ``--check-config``, plus the fields a
    form needs before it means anything (an IPaddr2 without its address).
    """
    given = [arg.strip() for arg in args]
    if agent == IP_FORM and not (given and given[0]):
        return ["IPaddr2 needs the IP address (first field)"]
    if agent == FS_FORM and not all(given[:3]):
        return ["Filesystem needs the device, the directory and the fstype"]
    token = resource_token(agent, args)
    return [f"{m} ({h})" if h else m for m, h in check_resource(resource_from_token(token))]
