"""The ``ha.cf`` parser (spec §2.1-§2.4, §5).

Rules of this module: one pass, line by line, in file order, exactly like Heartbeat's
``parse_config``; each directive goes through the table ``_DIRECTIVES`` to one handler.
Handlers check their own arguments and record a raw ``hbparameter`` value; nothing here
compares two directives with each other (that is ``validate``'s job), except the
ordering rules Heartbeat itself applies while reading (``udpport``/``baud`` after media,
``nice_failback`` after ``auto_failback``). Every problem becomes an ``Issue`` with the
file and line; parsing never stops early so that all problems are reported at once.
"""

from __future__ import annotations

import ipaddress
import os
import pwd
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine.config.hatuiconf import HATUI_CONF, Key
from engine.config.model import (
    ApiAuthSpec,
    AutoFailback,
    ChildSpec,
    Issue,
    MediumKind,
    MediumSpec,
    Severity,
    SourceRef,
    StonithSpec,
    runs_builtin_ipfail,
)
from engine.config.monitor import MONITOR_KEYS
from engine.config.timeparse import BOOLEAN_HINT, parse_bool, parse_time_ms, time_hint

Resolver = Callable[[str], str]
"""Turns a host name into an IPv4 address text; raises ``OSError`` when it cannot."""

MAX_NODES = 100
DEFAULT_UDPPORT = 694
BAUD_RATES = (9600, 19200, 38400, 57600, 115200, 230400, 460800)
SYSLOG_FACILITIES = frozenset(
    {
        "auth",
        "authpriv",
        "cron",
        "daemon",
        "ftp",
        "kern",
        "lpr",
        "mail",
        "news",
        "syslog",
        "user",
        "uucp",
        *(f"local{n}" for n in range(8)),
    }
)
CRM_ON_WORDS = frozenset({"respawn", "minimal", "manual", "valgrind", "ccm-only"})

# ``heartbeat -D``: defaults recorded as parameters when the directive is absent.
PARAMETER_DEFAULTS: tuple[tuple[str, str], ...] = (
    ("cluster", "linux-ha"),
    ("hopfudge", "1"),
    ("keepalive", "1000ms"),
    ("deadtime", "30000ms"),
    ("baud", "19200"),
    ("auto_failback", "legacy"),
    ("hbgenmethod", "file"),
    ("realtime", "true"),
    ("msgfmt", "classic"),
    ("conn_logd_time", "60"),
    ("log_badpack", "true"),
    ("syslogmsgfmt", "true"),
    ("coredumps", "true"),
    ("pacemaker", "false"),
    ("autojoin", "none"),
    ("uuidfrom", "file"),
    ("compression", "zlib"),
    ("compression_threshold", "2"),
    ("traditional_compression", "no"),
    ("max_rexmit_delay", "250"),
    ("record_config_changes", "on"),
    ("record_pengine_inputs", "on"),
    ("enable_config_writes", "on"),
    ("memreserve", "6500"),
)

_LIST_SPLIT = re.compile(r"[ \t,\r\n\f]+")
_NODE_NAME = re.compile(r"[a-z0-9_][a-z0-9_.-]*")
_HOST_LABEL = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOTTED = re.compile(r"[0-9.]+")


@dataclass
class ParsedHaCf:
    """What one pass over ``ha.cf`` produced; ``None`` means "directive absent"."""

    path: str
    opened: bool = True
    """False when the file could not be read (then ``issues`` holds that one error)."""
    nodes: list[str] = field(default_factory=list)
    times: dict[str, int] = field(default_factory=dict)
    """keepalive/deadtime/warntime/initdead/deadping in ms (last value wins)."""
    refs: dict[str, SourceRef] = field(default_factory=dict)
    """Line of the last occurrence of each directive."""
    udpport: int = DEFAULT_UDPPORT
    baud: int = 19200
    media: list[MediumSpec] = field(default_factory=list)
    unacted_media: list[str] = field(default_factory=list)
    auto_failback: AutoFailback = AutoFailback.LEGACY
    stonith: list[StonithSpec] = field(default_factory=list)
    children: list[ChildSpec] = field(default_factory=list)
    apiauth: list[ApiAuthSpec] = field(default_factory=list)
    logfile: str = ""
    debugfile: str = ""
    logfacility: str = ""
    use_logd: bool | None = None
    debug: int = 0
    syslogmsgfmt: bool = True
    log_badpack: bool = True
    hopfudge: int = 1
    hbgenmethod: str = "file"
    uuidfrom: str = "file"
    realtime: bool = True
    rtprio: int = 0
    msgfmt: str = "classic"
    max_rexmit_delay_ms: int = 250
    cluster: str = "linux-ha"
    watchdog: str = ""
    env: list[tuple[str, str]] = field(default_factory=list)
    crm: bool = False
    autojoin: str = "none"
    parameters: dict[str, str] = field(default_factory=dict)
    not_acted_on: list[str] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    def ref(self, directive: str) -> SourceRef:
        """Where ``directive`` was last set, or the whole file when it was not."""
        return self.refs.get(directive, SourceRef(self.path))


def _only_blank_controls(line: str) -> bool:
    """True when the only non-printable characters are blanks (TAB, FF, VT)."""
    return all(ch.isprintable() or ch in "\t\f\v" for ch in line)


def valid_interface_name(name: str, allow_alias: bool = False) -> bool:
    """Linux ``dev_valid_name``: 1-15 bytes, not ``.``/``..``, no ``/``, ``:`` or blanks.

    ``bcast`` accepts an alias label such as ``eth0:1`` (``allow_alias``).
    """
    if not 0 < len(name.encode()) < 16 or name in (".", ".."):
        return False
    forbidden = "/" if allow_alias else "/:"
    return not any(ch in forbidden or ch.isspace() or not ch.isprintable() for ch in name)


def valid_host_name(name: str) -> bool:
    """True for a syntactically plausible DNS host name (letters, digits, ``-``, ``_``)."""
    if not name or len(name) > 253 or _DOTTED.fullmatch(name):
        return False
    return all(_HOST_LABEL.fullmatch(label) for label in name.rstrip(".").split("."))


def ipv4_literal(text: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address ``text`` spells in dotted-quad form, else None."""
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        return None


def default_udpport() -> int:
    """Heartbeat's fallback: ``/etc/services`` ``ha-cluster/udp``, else 694."""
    try:
        return socket.getservbyname("ha-cluster", "udp")
    except OSError:
        return DEFAULT_UDPPORT


class _HaCfParser:
    """One run over one file; handlers are ``_d_<directive>`` methods."""

    def __init__(self, path: str, node_name: str, resolve: Resolver) -> None:
        self.out = ParsedHaCf(path=path)
        self.node_name = node_name
        self.resolve = resolve
        self.udpport_set = False
        self.baud_set = False
        self.nice_failback_mode = False

    # -- issue helpers -------------------------------------------------------------

    def error(self, where: SourceRef, message: str, hint: str = "") -> None:
        self.out.issues.append(Issue(Severity.ERROR, where, message, hint))

    def warn(self, where: SourceRef, message: str, hint: str = "") -> None:
        self.out.issues.append(Issue(Severity.WARNING, where, message, hint))

    def info(self, where: SourceRef, message: str, hint: str = "") -> None:
        self.out.issues.append(Issue(Severity.INFO, where, message, hint))

    def error_count(self) -> int:
        return sum(1 for issue in self.out.issues if issue.severity is Severity.ERROR)

    def record(self, name: str, value: str, where: SourceRef) -> None:
        """Keep the raw text for ``hbparameter`` and the line for later messages."""
        self.out.parameters[name] = value
        self.out.refs[name] = where

    def not_acted_on(self, name: str) -> None:
        if name not in self.out.not_acted_on:
            self.out.not_acted_on.append(name)

    # -- the line loop ---------------------------------------------------------------

    def parse_text(self, text: str) -> None:
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0].strip(" \t\r\n\f\v")
            if line:
                self.parse_line(line, SourceRef(self.out.path, number))

    def parse_line(self, line: str, where: SourceRef) -> None:
        if not _only_blank_controls(line):
            self.error(
                where,
                "Line contains control characters",
                "remove the invisible characters (NUL, escape...) from this line",
            )
            return
        parts = line.split(None, 1)
        name = parts[0]
        rest = parts[1].strip() if len(parts) > 1 else ""
        if name == "udp":
            self.warn(where, "directive 'udp' replaced by 'bcast'", "write 'bcast' instead")
            name = "bcast"
        if name in MOVED_TO_HATUI_CONF:
            self.moved_to_hatui_conf(MOVED_TO_HATUI_CONF[name], rest, where)
            return
        entry = _DIRECTIVES.get(name)
        if entry is None:
            self.error(
                where,
                f"Illegal directive [{name}] in {self.out.path}",
                "check the spelling; directive names are case-sensitive (see ha.cf(5))",
            )
            return
        whole_line, handler = entry
        usage = _USAGE.get(name, f"write '{name} <value>' (see ha.cf(5))")
        if not rest:
            self.error(where, f"Directive [{name}] needs a value", usage)
            return
        tokens = [rest] if whole_line else [tok for tok in _LIST_SPLIT.split(rest) if tok]
        for token in tokens:
            try:
                handler(self, token, where)
            except (ValueError, OSError, UnicodeError) as exc:
                self.error(where, f"Cannot use [{token}] for {name}: {exc}", usage)

    def moved_to_hatui_conf(self, key: Key, value: str, where: SourceRef) -> None:
        """A hatui setting written as a ha.cf directive: refused, with the line to write.

        Earlier versions read ``monitor_*`` from ha.cf; accepting them silently would
        leave monitoring off without a word, so the line is an error that says where
        it goes now.
        """
        target = Path(self.out.path).with_name(HATUI_CONF)
        self.error(
            where,
            f"{key.name} moved to hatui.conf: ha.cf takes only Heartbeat's directives "
            "(real Heartbeat 3.0.6 refuses this one: Illegal directive)",
            f"remove this line and write '{key.name} = {value or key.example}' in {target}",
        )

    # -- value helpers ---------------------------------------------------------------

    def int_value(self, name: str, token: str, low: int, high: int, where: SourceRef) -> int | None:
        if token.isdigit() and low <= int(token) <= high:
            return int(token)
        self.error(
            where, f"Invalid {name} value [{token}]", f"write an integer from {low} to {high}"
        )
        return None

    def bool_value(self, name: str, token: str, where: SourceRef) -> bool | None:
        value = parse_bool(token)
        if value is None:
            self.error(where, f"Invalid boolean value [{token}] for {name}", BOOLEAN_HINT)
        return value

    def choice(self, name: str, token: str, choices: tuple[str, ...], where: SourceRef) -> bool:
        if token in choices:
            return True
        self.error(where, f"Invalid {name} value [{token}]", "write one of: " + ", ".join(choices))
        return False

    def time_value(self, name: str, token: str, where: SourceRef, *, positive: bool) -> None:
        millis = parse_time_ms(token)
        if millis is None:
            self.error(where, f"Invalid {name} time [{token}]", time_hint(token))
            return
        if positive and millis <= 0:
            label = "Warn time" if name == "warntime" else f"{name.capitalize()} time"
            self.error(where, f"{label} [{token}] is invalid.", f"{name} must be more than 0")
            return
        self.out.times[name] = millis
        self.record(name, token, where)

    def add_medium(self, spec: MediumSpec) -> None:
        self.out.media.append(spec)

    # -- nodes and timing ------------------------------------------------------------

    def _d_node(self, token: str, where: SourceRef) -> None:
        name = token.lower()
        if not _NODE_NAME.fullmatch(name) or len(name) > 100:
            self.error(
                where,
                f"Invalid node name [{token}]",
                "node names are host names: letters, digits, '.', '-', '_'",
            )
        elif name in self.out.nodes:
            first = self.out.refs.get(f"node:{name}")
            self.error(
                where,
                f"Node [{name}] is declared twice"
                + (f" (first at line {first.line})" if first else ""),
                "remove the duplicate 'node' line; node lists must be identical on every node",
            )
        elif len(self.out.nodes) >= MAX_NODES:
            self.error(
                where,
                f"Too many nodes: [{name}] would be node {MAX_NODES + 1}",
                f"Heartbeat supports at most {MAX_NODES} nodes",
            )
        else:
            self.out.nodes.append(name)
            self.out.refs.setdefault(f"node:{name}", where)

    def _d_keepalive(self, token: str, where: SourceRef) -> None:
        self.time_value("keepalive", token, where, positive=True)

    def _d_deadtime(self, token: str, where: SourceRef) -> None:
        self.time_value("deadtime", token, where, positive=False)

    def _d_warntime(self, token: str, where: SourceRef) -> None:
        self.time_value("warntime", token, where, positive=True)

    def _d_initdead(self, token: str, where: SourceRef) -> None:
        self.time_value("initdead", token, where, positive=False)

    def _d_deadping(self, token: str, where: SourceRef) -> None:
        self.time_value("deadping", token, where, positive=False)

    def _d_conn_logd_time(self, token: str, where: SourceRef) -> None:
        if (millis := parse_time_ms(token)) is None or millis <= 0:
            self.error(where, f"Invalid conn_logd_time time [{token}]", time_hint(token))
            return
        self.record("conn_logd_time", token, where)
        self.not_acted_on("conn_logd_time")

    # -- ports and media -------------------------------------------------------------

    def _d_udpport(self, token: str, where: SourceRef) -> None:
        port = self.int_value("udpport", token, 1, 65535, where)
        if port is None:
            return
        try:
            service = socket.getservbyport(port, "udp")
        except OSError:
            service = "ha-cluster"
        if service != "ha-cluster":
            self.warn(
                where,
                f'udp port {port} reserved for service "{service}".',
                "pick a port that no other service uses (694 is Heartbeat's)",
            )
        if any(m.kind in (MediumKind.UCAST, MediumKind.BCAST) for m in self.out.media):
            self.warn(
                where,
                "udpport setting must precede media statements",
                "move 'udpport' above the ucast/bcast lines; it is applied to them anyway",
            )
        self.out.udpport = port
        self.udpport_set = True
        self.record("udpport", token, where)

    def _d_baud(self, token: str, where: SourceRef) -> None:
        if self.baud_set:
            self.error(where, "Baudrate multiply specified.", "keep a single 'baud' line")
            return
        if not token.isdigit() or int(token) not in BAUD_RATES:
            rates = " ".join(str(rate) for rate in BAUD_RATES)
            self.error(where, f"Invalid baud rate [{token}]", f"write one of: {rates}")
            return
        if any(m.kind is MediumKind.SERIAL for m in self.out.media):
            self.warn(
                where,
                "baud setting should precede serial statements",
                "move 'baud' above the serial lines; it is applied to them anyway",
            )
        self.out.baud = int(token)
        self.baud_set = True
        self.record("baud", token, where)

    def _d_bcast(self, token: str, where: SourceRef) -> None:
        if not valid_interface_name(token, allow_alias=True):
            self.error(
                where,
                f"bcast: invalid interface name [{token}]",
                "write a network interface name such as eth0 (at most 15 characters)",
            )
            return
        self.add_medium(MediumSpec(MediumKind.BCAST, token, where, dev=token))

    def _d_ucast(self, rest: str, where: SourceRef) -> None:
        tokens = rest.split()
        dev = tokens[0]
        if not valid_interface_name(dev):
            self.error(
                where,
                f"ucast: invalid interface name [{dev}]",
                "write 'ucast <interface> <peer-address>', e.g. 'ucast eth0 10.0.0.2'",
            )
            return
        if len(tokens) < 2:
            self.error(
                where,
                f"ucast [{dev}] has no peer address",
                "write 'ucast <interface> <peer-address>', one peer per line",
            )
            return
        if len(tokens) > 2:
            self.warn(
                where,
                f"ucast [{dev}]: extra words ignored: {' '.join(tokens[2:])}",
                "write one 'ucast' line per peer",
            )
        address = self.resolve_peer("ucast", dev, tokens[1], where)
        if address is not None:
            self.add_medium(MediumSpec(MediumKind.UCAST, dev, where, dev=dev, peer=address))

    def resolve_peer(self, kind: str, dev: str, peer: str, where: SourceRef) -> str | None:
        """IPv4 text for ``peer`` (a literal or a resolvable host name), else an error."""
        literal = ipv4_literal(peer)
        if literal is not None:
            return str(literal)
        if ":" in peer:
            self.error(
                where,
                f"{kind} [{dev}]: IPv6 peer [{peer}] is not supported",
                "use an IPv4 address (ucast6 is not implemented)",
            )
            return None
        if not valid_host_name(peer):
            self.error(
                where,
                f"{kind} [{dev}]: invalid peer address [{peer}]",
                "write an IPv4 address such as 10.0.0.2 or a host name",
            )
            return None
        try:
            return self.resolve(peer)
        except (OSError, UnicodeError) as exc:
            self.error(
                where,
                f"{kind}: cannot resolve hostname [{peer}]: {exc}",
                "use an IPv4 address or add the name to /etc/hosts",
            )
            return None

    def _d_mcast(self, rest: str, where: SourceRef) -> None:
        tokens = rest.split()
        usage = (
            "write 'mcast <dev> <group> <port> <ttl> <loop>', e.g. 'mcast eth0 239.0.0.1 694 1 0'"
        )
        if len(tokens) < 5:
            self.error(where, f"mcast: too few arguments [{rest}]", usage)
            return
        dev, group, port, ttl, loop = tokens[:5]
        if len(tokens) > 5:
            self.warn(where, f"mcast [{dev}]: extra words ignored: {' '.join(tokens[5:])}", usage)
        before = self.error_count()
        if not valid_interface_name(dev):
            self.error(where, f"mcast: invalid interface name [{dev}]", usage)
        address = ipv4_literal(group)
        if address is None or not address.is_multicast:
            self.error(
                where,
                f"mcast [{dev}] bad addr [{group}]",
                "the group must be an IPv4 multicast address (224.0.0.0-239.255.255.255)",
            )
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            self.error(where, f"mcast [{dev}] bad port [{port}]", "write a port from 1 to 65535")
        if not ttl.isdigit() or not 0 <= int(ttl) <= 4:
            self.error(where, f"mcast [{dev}] bad ttl [{ttl}]", "write a ttl from 0 to 4")
        if loop not in ("0", "1"):
            self.error(where, f"mcast [{dev}] bad loop [{loop}]", "write 0 or 1")
        if self.error_count() == before:
            self.add_medium(
                MediumSpec(
                    MediumKind.MCAST,
                    dev,
                    where,
                    dev=dev,
                    group=group,
                    port=int(port),
                    ttl=int(ttl),
                    loop=loop == "1",
                )
            )

    def _d_serial(self, token: str, where: SourceRef) -> None:
        if not token.startswith("/"):
            self.error(
                where,
                f"Serial port not full pathname [{token}]",
                "write the absolute device path, e.g. /dev/ttyS0",
            )
            return
        self.add_medium(MediumSpec(MediumKind.SERIAL, token, where, dev=token))

    def _d_ping(self, token: str, where: SourceRef) -> None:
        name = token.lower()
        if ipv4_literal(name) is None and not valid_host_name(name):
            self.error(
                where, f"ping: invalid address [{token}]", "write an IPv4 address or a host name"
            )
            return
        self.add_medium(MediumSpec(MediumKind.PING, name, where, members=(name,)))

    def _d_ping_group(self, rest: str, where: SourceRef) -> None:
        tokens = rest.split()
        name = tokens[0].lower()
        usage = "write 'ping_group <name> <address> [<address>...]'"
        if not _NODE_NAME.fullmatch(name):
            self.error(where, f"ping_group: invalid group name [{tokens[0]}]", usage)
            return
        members = [tok.lower() for tok in tokens[1:]]
        if not members:
            self.error(where, f"ping_group [{name}] has no addresses", usage)
            return
        bad = [m for m in members if ipv4_literal(m) is None and not valid_host_name(m)]
        for member in bad:
            self.error(where, f"ping_group [{name}]: invalid address [{member}]", usage)
        if not bad:
            self.add_medium(MediumSpec(MediumKind.PING_GROUP, name, where, members=tuple(members)))

    # -- failback --------------------------------------------------------------------

    def _d_auto_failback(self, token: str, where: SourceRef) -> None:
        if token.lower() == "legacy":
            self.out.auto_failback = AutoFailback.LEGACY
            self.nice_failback_mode = False
        else:
            value = parse_bool(token)
            if value is None:
                self.error(
                    where, f"Invalid auto_failback value [{token}]", "write on, off or legacy"
                )
                return
            self.out.auto_failback = AutoFailback.ON if value else AutoFailback.OFF
            self.nice_failback_mode = True
        self.record("auto_failback", token, where)

    def _d_nice_failback(self, token: str, where: SourceRef) -> None:
        """Heartbeat's mapping ignores the value: nice mode already on → off, else legacy."""
        if self.bool_value("nice_failback", token, where) is None:
            return
        if self.nice_failback_mode:
            self.out.auto_failback = AutoFailback.OFF
            hint = f"'nice_failback {token}' has been changed to 'auto_failback off'"
        else:
            self.out.auto_failback = AutoFailback.LEGACY
            hint = "nice_failback flag has been changed to 'auto_failback legacy'"
        self.warn(
            where,
            "nice_failback flag is obsolete. Use auto_failback {on, off, legacy} instead.",
            hint,
        )
        self.record("auto_failback", self.out.auto_failback.value, where)

    # -- whole-line directives ------------------------------------------------------

    def _d_stonith(self, rest: str, where: SourceRef) -> None:
        tokens = rest.split()
        if len(tokens) < 2:
            self.error(
                where,
                f"Invalid Stonith configuration [{rest}]",
                "write 'stonith <type> <configfile>'",
            )
            return
        plugin, configfile = tokens[0], tokens[1]
        if not os.path.isfile(configfile):
            self.error(
                where,
                f"Invalid Stonith config file [{configfile}]",
                "the file must exist; its first non-comment line holds the parameters",
            )
            return
        self.out.stonith.append(StonithSpec("stonith", "*", plugin, configfile, where))

    def _d_stonith_host(self, rest: str, where: SourceRef) -> None:
        parts = rest.split(None, 2)
        if len(parts) < 2:
            self.error(
                where,
                "No Stonith type given",
                "write 'stonith_host <hostfrom|*> <type> <parameters...>'",
            )
            return
        host_from = parts[0].lower()
        params = parts[2] if len(parts) > 2 else ""
        if host_from in ("*", self.node_name):
            self.out.stonith.append(StonithSpec("stonith_host", host_from, parts[1], params, where))

    def _d_respawn(self, rest: str, where: SourceRef) -> None:
        self.child(rest, where, failfast=False)

    def _d_failfast(self, rest: str, where: SourceRef) -> None:
        self.child(rest, where, failfast=True)

    def child(self, rest: str, where: SourceRef, *, failfast: bool) -> None:
        parts = rest.split(None, 1)
        kind = "failfast" if failfast else "respawn"
        if len(parts) < 2:
            self.error(
                where,
                f"{kind}: no command given [{rest}]",
                f"write '{kind} <user> /absolute/path [args...]'",
            )
            return
        user, command = parts
        # ipfail is built in: nothing is run, so its binary and user need not exist.
        builtin = runs_builtin_ipfail(command, failfast)
        if not builtin and not self.child_user_exists(user, where):
            return
        program = command.split()[0]
        if not program.startswith("/"):
            self.error(
                where,
                f"Client child command [{program}] is not full pathname",
                "write the absolute path of the program",
            )
        elif builtin:
            self.out.children.append(ChildSpec(user, command, failfast, where))
        elif not (os.path.isfile(program) and os.access(program, os.X_OK)):
            self.error(
                where,
                f"Client child command [{program}] is not executable",
                "check the path and run 'chmod +x' on the program",
            )
        else:
            self.out.children.append(ChildSpec(user, command, failfast, where))

    def child_user_exists(self, user: str, where: SourceRef) -> bool:
        try:
            pwd.getpwnam(user)
        except KeyError:
            self.error(
                where,
                f"Invalid uid [{user}] specified for client child",
                "name an existing user account, e.g. hacluster",
            )
            return False
        return True

    def _d_apiauth(self, rest: str, where: SourceRef) -> None:
        self.not_acted_on("apiauth")  # no Heartbeat client API (use hactl); parsed only
        usage = "write 'apiauth <client> [uid=user1,user2] [gid=group1,group2]'"
        tokens = rest.split()
        client = tokens[0]
        lists: dict[str, tuple[str, ...]] = {}
        for token in tokens[1:]:
            key, sep, value = token.partition("=")
            names = tuple(value.split(","))
            if not sep or key not in ("uid", "gid") or not all(names):
                self.error(where, f"Invalid apiauth directive [{rest}]", usage)
                return
            if key in lists:
                self.error(where, f"Duplicate {key} list in apiauth [{rest}]", usage)
                return
            lists[key] = names
        if not lists:
            self.error(where, f"Invalid apiauth directive [{rest}]: no uid or gid list", usage)
            return
        if any(spec.client == client for spec in self.out.apiauth):
            self.error(
                where,
                f"Duplicate apiauth directive for API client {client}",
                "merge the two lines into one",
            )
            return
        self.out.apiauth.append(
            ApiAuthSpec(client, lists.get("uid", ()), lists.get("gid", ()), where)
        )

    # -- logging -----------------------------------------------------------------------

    def _d_logfile(self, token: str, where: SourceRef) -> None:
        self.out.logfile = token
        self.record("logfile", token, where)

    def _d_debugfile(self, token: str, where: SourceRef) -> None:
        self.out.debugfile = token
        self.record("debugfile", token, where)

    def _d_logfacility(self, token: str, where: SourceRef) -> None:
        if token != "none" and token not in SYSLOG_FACILITIES:
            self.error(
                where,
                f"Log facility({token}) not valid",
                "write none or a syslog facility such as daemon, local0..local7",
            )
            return
        self.out.logfacility = "" if token == "none" else token
        self.record("logfacility", token, where)

    def _d_use_logd(self, token: str, where: SourceRef) -> None:
        if (value := self.bool_value("use_logd", token, where)) is not None:
            self.out.use_logd = value
            if value:
                self.not_acted_on("use_logd")  # there is no logd: we write the files
            self.record("use_logd", token, where)

    def _d_debug(self, token: str, where: SourceRef) -> None:
        if (value := self.int_value("debug", token, 0, 255, where)) is not None:
            self.out.debug = value
            self.record("debug", token, where)

    def _d_syslogmsgfmt(self, token: str, where: SourceRef) -> None:
        if (value := self.bool_value("syslogmsgfmt", token, where)) is not None:
            self.out.syslogmsgfmt = value
            self.record("syslogmsgfmt", token, where)

    def _d_log_badpack(self, token: str, where: SourceRef) -> None:
        if (value := self.bool_value("log_badpack", token, where)) is not None:
            self.out.log_badpack = value
            self.record("log_badpack", token, where)

    # -- protocol and process knobs ---------------------------------------------------

    def _d_hopfudge(self, token: str, where: SourceRef) -> None:
        if (value := self.int_value("hopfudge", token, 0, 255, where)) is not None:
            self.out.hopfudge = value
            self.record("hopfudge", token, where)

    def _d_hbgenmethod(self, token: str, where: SourceRef) -> None:
        if token not in ("file", "time"):
            self.error(where, f"Illegal hb generation method [{token}]", "write file or time")
            return
        self.out.hbgenmethod = token
        self.record("hbgenmethod", token, where)

    def _d_uuidfrom(self, token: str, where: SourceRef) -> None:
        if self.choice("uuidfrom", token, ("file", "nodename"), where):
            self.out.uuidfrom = token
            self.record("uuidfrom", token, where)

    def _d_realtime(self, token: str, where: SourceRef) -> None:
        if (value := self.bool_value("realtime", token, where)) is not None:
            self.out.realtime = value
            self.record("realtime", token, where)

    def _d_rtprio(self, token: str, where: SourceRef) -> None:
        if not token.isdigit() or not 1 <= int(token) <= 99:
            self.error(
                where,
                f"Illegal realtime priority [{token}]",
                "write a SCHED_FIFO priority from 1 to 99",
            )
            return
        self.out.rtprio = int(token)
        self.record("rtprio", token, where)

    def _d_msgfmt(self, token: str, where: SourceRef) -> None:
        if self.choice("msgfmt", token, ("classic", "netstring"), where):
            self.out.msgfmt = token
            self.record("msgfmt", token, where)

    def _d_max_rexmit_delay(self, token: str, where: SourceRef) -> None:
        value = self.int_value("max_rexmit_delay", token, 1, 3_600_000, where)
        if value is not None:
            self.out.max_rexmit_delay_ms = value
            self.record("max_rexmit_delay", token, where)

    def _d_cluster(self, token: str, where: SourceRef) -> None:
        self.out.cluster = token
        self.record("cluster", token, where)

    def _d_env(self, token: str, where: SourceRef) -> None:
        name, sep, value = token.partition("=")
        if not sep or not _ENV_NAME.fullmatch(name):
            self.error(
                where,
                f"Invalid env setting [{token}]",
                "write 'env NAME=value' (exported to scripts as HA_NAME)",
            )
            return
        self.out.env.append((name, value))

    def _d_watchdog(self, token: str, where: SourceRef) -> None:
        self.not_acted_on("watchdog")
        if self.out.watchdog:
            self.error(
                where,
                f"Watchdog device multiply specified [{token}]",
                "keep a single 'watchdog' line",
            )
            return
        if not token.startswith("/"):
            self.error(
                where,
                f"Watchdog device not full pathname [{token}]",
                "write the absolute device path, e.g. /dev/watchdog",
            )
            return
        self.out.watchdog = token
        self.record("watchdog", token, where)

    def _d_autojoin(self, token: str, where: SourceRef) -> None:
        if self.choice("autojoin", token, ("none", "other", "any"), where):
            self.out.autojoin = token
            self.record("autojoin", token, where)

    def _d_crm(self, token: str, where: SourceRef) -> None:
        self.crm("crm", token, where)

    def _d_pacemaker(self, token: str, where: SourceRef) -> None:
        self.crm("pacemaker", token, where)

    def crm(self, name: str, token: str, where: SourceRef) -> None:
        value = True if token.lower() in CRM_ON_WORDS else parse_bool(token)
        if value is None:
            self.error(
                where,
                f"Invalid {name} value [{token}]",
                "write on or off (Pacemaker mode is not supported; use off)",
            )
            return
        self.out.crm = value
        self.record(name, token, where)


def _unacted(kind: str) -> Callable[[_HaCfParser, str, SourceRef], None]:
    """Handler for accepted directives we do not act on; ``kind`` checks the value."""

    def handler(parser: _HaCfParser, value: str, where: SourceRef) -> None:
        name = _NAME_OF[handler]
        if kind == "bool" and parser.bool_value(name, value, where) is None:
            return
        if kind == "int" and parser.int_value(name, value, 1, 2**31 - 1, where) is None:
            return
        if kind == "medium":
            parser.out.unacted_media.append(name)
        else:
            parser.record(name, value, where)
        parser.not_acted_on(name)

    return handler


_Handler = Callable[[_HaCfParser, str, SourceRef], None]
_NAME_OF: dict[_Handler, str] = {}

_UNACTED: dict[str, tuple[bool, str]] = {
    "mcast6": (True, "medium"),
    "ucast6": (True, "medium"),
    "ping6": (False, "medium"),
    "compression": (False, "any"),
    "compression_threshold": (False, "int"),
    "traditional_compression": (False, "bool"),
    "coredumps": (False, "bool"),
    "coreroot": (False, "any"),
    "memreserve": (False, "int"),
    "use_apphbd": (False, "bool"),
    "normalpoll": (False, "bool"),
    "quorum_server": (False, "any"),
    "crm_daemon_dir": (False, "any"),
    "crmd_spawns_pengine": (False, "bool"),
    "record_config_changes": (False, "bool"),
    "record_pengine_inputs": (False, "bool"),
    "enable_config_writes": (False, "bool"),
}

_WHOLE_LINE = frozenset(
    {"stonith", "stonith_host", "apiauth", "respawn", "failfast", "mcast", "ucast", "ping_group"}
)


def _build_table() -> dict[str, tuple[bool, _Handler]]:
    table: dict[str, tuple[bool, _Handler]] = {}
    for attr in dir(_HaCfParser):
        if attr.startswith("_d_"):
            name = attr[3:]
            table[name] = (name in _WHOLE_LINE, getattr(_HaCfParser, attr))
    for name, (whole_line, kind) in _UNACTED.items():
        handler = _unacted(kind)
        _NAME_OF[handler] = name
        table[name] = (whole_line, handler)
    return table


_DIRECTIVES = _build_table()

_USAGE = {
    "ucast": "write 'ucast <interface> <peer-address>'",
    "mcast": "write 'mcast <dev> <group> <port> <ttl> <loop>'",
    "ping_group": "write 'ping_group <name> <address>...'",
    "stonith": "write 'stonith <type> <configfile>'",
    "stonith_host": "write 'stonith_host <hostfrom|*> <type> <parameters...>'",
    "respawn": "write 'respawn <user> /absolute/path [args...]'",
    "failfast": "write 'failfast <user> /absolute/path [args...]'",
    "apiauth": "write 'apiauth <client> [uid=...] [gid=...]'",
}

KNOWN_DIRECTIVES = frozenset(_DIRECTIVES) | {"udp"}
"""Every directive name ``ha.cf`` accepts (spec §2.4 plus the Debian HBcomm plugins)."""

MOVED_TO_HATUI_CONF: dict[str, Key] = {key.name: key for key in MONITOR_KEYS}
"""hatui settings that earlier versions read from ha.cf; now an error naming the line to
write in hatui.conf (never silently accepted: monitoring would be off unannounced)."""


def _finish(parser: _HaCfParser) -> ParsedHaCf:
    """Apply defaults that depend on the whole file; make link names unique."""
    out = parser.out
    if not parser.udpport_set:
        out.udpport = default_udpport()
        out.parameters.setdefault("udpport", str(out.udpport))
    for name, value in PARAMETER_DEFAULTS:
        if name == "pacemaker" and "crm" in out.parameters:
            continue
        out.parameters.setdefault(name, value)
    out.parameters.setdefault("debug", str(out.debug))
    out.media = _number_duplicates(parser, out.media)
    return out


def _number_duplicates(parser: _HaCfParser, media: list[MediumSpec]) -> list[MediumSpec]:
    """Give ports/baud to media and suffix ``#2``, ``#3`` to repeated link names.

    Several ``ucast`` lines on one device are one link (``engine.core.linkplan`` merges
    them), so they share the first one's name: no suffix, nothing to report.
    """
    seen: dict[str, int] = {}
    ucast_names: dict[str, str] = {}
    result: list[MediumSpec] = []
    out = parser.out
    for spec in media:
        port = spec.port
        if spec.kind in (MediumKind.UCAST, MediumKind.BCAST):
            port = out.udpport
        count = 0
        if spec.kind is MediumKind.UCAST and spec.dev in ucast_names:
            name = ucast_names[spec.dev]
        else:
            count = seen.get(spec.name, 0) + 1
            seen[spec.name] = count
            name = spec.name if count == 1 else f"{spec.name}#{count}"
        if spec.kind is MediumKind.UCAST:
            ucast_names.setdefault(spec.dev, name)
        if count > 1:
            parser.info(
                spec.where,
                f"Link name [{spec.name}] is used again; this link is [{name}]",
                "links are told apart by name; the suffix keeps them distinct",
            )
        result.append(
            MediumSpec(
                spec.kind,
                name,
                spec.where,
                dev=spec.dev,
                peer=spec.peer,
                group=spec.group,
                port=port,
                ttl=spec.ttl,
                loop=spec.loop,
                members=spec.members,
                baud=out.baud,
            )
        )
    return result


def parse_hacf_text(
    text: str,
    path: str,
    node_name: str,
    resolve: Resolver = socket.gethostbyname,
) -> ParsedHaCf:
    """Parse ``ha.cf`` text; ``node_name`` selects the ``stonith_host`` lines that apply."""
    parser = _HaCfParser(path, node_name, resolve)
    parser.parse_text(text)
    return _finish(parser)


def parse_hacf(path: Path, node_name: str, resolve: Resolver = socket.gethostbyname) -> ParsedHaCf:
    """Read and parse ``path``; an unreadable file gives one error and nothing else."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        out = ParsedHaCf(path=str(path), opened=False)
        out.issues.append(
            Issue(
                Severity.ERROR,
                SourceRef(str(path)),
                f"Cannot open config file [{path}]: {exc.strerror or exc}",
                "An annotated sample ha.cf file is provided in the documentation; "
                "copy it there, read it, customize it, and try again",
            )
        )
        return out
    return parse_hacf_text(text, str(path), node_name, resolve)
