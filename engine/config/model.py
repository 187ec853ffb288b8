"""Frozen values that describe one node's view of the cluster configuration.

Rules of this module: plain data only. Parsing lives in ``hacf``, ``authkeys``,
``haresources`` and ``hatuiconf``; cross-field rules live in ``validate`` (and, for
hatui.conf, with each consumer's keys). Every value that came from a file keeps a
``SourceRef`` so a message can point at ``file:line``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    """How bad a configuration finding is; any ERROR stops the daemon from starting."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where a value came from: a file path and a 1-based line number (0 = whole file)."""

    path: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding of the configuration check: where, what is wrong, how to fix it."""

    severity: Severity
    where: SourceRef
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.where}: {self.severity.value}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


class MediumKind(StrEnum):
    """The HBcomm plugin a medium line names."""

    UCAST = "ucast"
    BCAST = "bcast"
    MCAST = "mcast"
    SERIAL = "serial"
    PING = "ping"
    PING_GROUP = "ping_group"


@dataclass(frozen=True, slots=True)
class MediumSpec:
    """One heartbeat medium (``ucast``/``bcast``/``mcast``/``serial``/``ping`` line item).

    ``name`` is the link name Heartbeat shows (interface or tty path); duplicates get a
    ``#2`` suffix so that every link of ours is distinct.
    """

    kind: MediumKind
    name: str
    where: SourceRef
    dev: str = ""
    """Interface (ucast/bcast/mcast) or tty path (serial)."""
    peer: str = ""
    """ucast peer address/host name."""
    group: str = ""
    """mcast group address."""
    port: int = 0
    """mcast port (from the line) or udpport (ucast/bcast)."""
    ttl: int = 1
    loop: bool = False
    members: tuple[str, ...] = ()
    """ping / ping_group target addresses."""
    baud: int = 19200


@dataclass(frozen=True, slots=True)
class Timing:
    """Heartbeat timers in milliseconds (``keepalive``, ``warntime``, ``deadtime``...)."""

    keepalive_ms: int = 1000
    deadtime_ms: int = 30000
    warntime_ms: int = 15000
    initdead_ms: int = 60000
    deadping_ms: int = 30000


class AutoFailback(StrEnum):
    """``auto_failback`` directive: ``on``/``off`` are nice_failback modes."""

    ON = "on"
    OFF = "off"
    LEGACY = "legacy"


@dataclass(frozen=True, slots=True)
class AuthKey:
    """One numbered ``authkeys`` entry (engine/config/authkeys.py checks it)."""

    index: int
    """0-15, the number a signature or sealed datagram names."""
    method: str
    """Heartbeat's signing methods ``crc``, ``md5`` and ``sha1``; ours: ``sha256``
    (signs, like sha1) and ``aes256gcm`` / ``chacha20poly1305`` (encrypt and authenticate
    whole datagrams, engine/protocol/aead.py; hatui-only clusters: Heartbeat 3.0.6
    refuses a file that names them)."""
    secret: bytes
    """Empty for ``crc``; the HMAC key of the signing methods; the encrypting methods
    derive their cipher key from it (HKDF-SHA256) and need at least 16 characters."""
    where: SourceRef


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """The parsed ``authkeys`` file."""

    send_index: int
    keys: tuple[AuthKey, ...]
    accept_indices: frozenset[int] = frozenset()
    """Indices accepted on receive. Real Heartbeat accepts every listed key; we refuse
    ``crc`` entries when a keyed method (signing or encrypting) is configured (downgrade
    hole, reliability §4.1). Empty: every listed key."""

    def key(self, index: int) -> AuthKey | None:
        """Return the entry with this number, if any."""
        for key in self.keys:
            if key.index == index:
                return key
        return None


@dataclass(frozen=True, slots=True)
class ResourceSpec:
    """One ``haresources`` token: ``name::arg1::arg2`` or an IP short form."""

    token: str
    """The token as written (and as used on the wire as a group key)."""
    script: str
    """Script name to resolve (``IPaddr`` for a bare dotted quad)."""
    args: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """One logical ``haresources`` line: a preferred node and its ordered resources."""

    node: str
    resources: tuple[ResourceSpec, ...]
    where: SourceRef

    @property
    def key(self) -> str:
        """The group key Heartbeat uses: the first resource token."""
        return self.resources[0].token

    @property
    def canonical(self) -> str:
        """``node r1 r2 ... rN`` as ResourceManager prints it in log lines."""
        return " ".join([self.node, *(r.token for r in self.resources)])


@dataclass(frozen=True, slots=True)
class StonithSpec:
    """A ``stonith`` or ``stonith_host`` line, kept raw until the STONITH layer reads it."""

    directive: str
    host_from: str
    plugin: str
    params: str
    where: SourceRef


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """A ``respawn``/``failfast`` helper process."""

    user: str
    command: str
    failfast: bool
    where: SourceRef

    @property
    def builtin_ipfail(self) -> bool:
        """True when the engine does this child's job itself (see ``runs_builtin_ipfail``)."""
        return runs_builtin_ipfail(self.command, self.failfast)


def runs_builtin_ipfail(command: str, failfast: bool) -> bool:
    """``respawn <user> .../ipfail``: ipfail's job is built into the engine.

    No program is run for it, so neither the binary nor its user need exist (a node
    without the Debian heartbeat package has neither). A ``failfast`` line is a real
    child: its death must mean something, so it needs its program.
    """
    words = command.split()
    return bool(words) and not failfast and words[0].rsplit("/", 1)[-1] == "ipfail"


@dataclass(frozen=True, slots=True)
class ApiAuthSpec:
    """An ``apiauth client [uid=a,b] [gid=c,d]`` line (who may use a client API name)."""

    client: str
    uids: tuple[str, ...]
    gids: tuple[str, ...]
    where: SourceRef


@dataclass(frozen=True, slots=True)
class LogConfig:
    """Logging directives (``logfile``, ``debugfile``, ``logfacility``...)."""

    logfile: str = ""
    debugfile: str = ""
    logfacility: str = ""
    use_logd: bool = False
    debug: int = 0
    syslogmsgfmt: bool = True
    log_badpack: bool = True


MONITOR_TIMEOUT_MS = 20_000
"""Default ``monitor_timeout``: Pacemaker's default operation timeout, and the timeout
our ``status`` calls already have."""
MONITOR_RESTARTS = 2
"""Default ``monitor_restarts``: two restarts in place, the third failure moves the group
(Pacemaker ``migration-threshold=3``)."""
MONITOR_WINDOW_MS = 600_000
"""Default ``monitor_window``: failures older than 10 minutes are forgotten (Pacemaker
``failure-timeout=10min``)."""


@dataclass(frozen=True, slots=True)
class MonitorConfig:
    """Resource monitoring (hatui only; the ``monitor_*`` keys of hatui.conf).

    Heartbeat 3.0.6 never checks a resource after it started (spec §12); with
    ``interval_ms`` > 0 every member of a group this node runs is checked that often
    with its ``status`` (OCF ``monitor``), and a failure is recovered: restarted here
    up to ``restarts`` times within ``window_ms``, then handed to the peer.
    """

    interval_ms: int = 0
    """0: monitoring off (Heartbeat's behaviour, the default)."""
    timeout_ms: int = MONITOR_TIMEOUT_MS
    restarts: int = MONITOR_RESTARTS
    window_ms: int = MONITOR_WINDOW_MS

    @property
    def enabled(self) -> bool:
        """True when resources are monitored."""
        return self.interval_ms > 0


Value = int | str
"""A parsed hatui.conf value: milliseconds (a time), a number or the text (a path)."""


@dataclass(frozen=True, slots=True)
class Setting:
    """One accepted line: the key, its parsed value and where it was written."""

    key: str
    value: Value
    where: SourceRef
    text: str = field(default="", compare=False)
    """The value as written (``500ms``), for messages."""


@dataclass(frozen=True, slots=True)
class HatuiConf:
    """The accepted lines of hatui.conf in file order (empty: no file, all defaults)."""

    path: str = ""
    settings: tuple[Setting, ...] = ()

    def values(self, key: str) -> tuple[Value, ...]:
        """Every value written for ``key`` (one for a key that is not repeatable)."""
        return tuple(s.value for s in self.settings if s.key == key)

    def get(self, key: str, default: Value | None = None) -> Value | None:
        """The value of ``key``, or ``default`` when the file does not set it."""
        found = self.values(key)
        return found[-1] if found else default

    def ref(self, key: str) -> SourceRef | None:
        """The line that sets ``key`` (the last one), or None."""
        refs = [s.where for s in self.settings if s.key == key]
        return refs[-1] if refs else None

    def written(self, keys: Iterable[str]) -> tuple[tuple[str, tuple[Value, ...]], ...]:
        """``(key, values)`` of the given keys the file sets: what a reload compares
        (lines moving or comments added change nothing)."""
        return tuple((key, self.values(key)) for key in keys if self.values(key))

    def without(self, keys: Collection[str]) -> tuple[Setting, ...]:
        """The settings of every other key."""
        return tuple(s for s in self.settings if s.key not in keys)


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """Everything this node needs from ``ha.cf``, ``authkeys``, ``haresources`` and
    ``hatui.conf``."""

    config_dir: str
    node_name: str
    """Local node name (``--node``, ``nodeinfo`` or ``uname -n``), lower-cased."""
    nodes: tuple[str, ...]
    """Normal cluster nodes in ``node`` directive order (lower-cased)."""
    timing: Timing
    media: tuple[MediumSpec, ...]
    auth: AuthConfig
    groups: tuple[GroupSpec, ...] = ()
    udpport: int = 694
    baud: int = 19200
    auto_failback: AutoFailback = AutoFailback.LEGACY
    stonith: tuple[StonithSpec, ...] = ()
    children: tuple[ChildSpec, ...] = ()
    log: LogConfig = field(default_factory=LogConfig)
    hopfudge: int = 1
    hbgenmethod: str = "file"
    uuidfrom: str = "file"
    realtime: bool = True
    rtprio: int = 0
    msgfmt: str = "classic"
    max_rexmit_delay_ms: int = 250
    cluster: str = "linux-ha"
    watchdog: str = ""
    env: tuple[tuple[str, str], ...] = ()
    crm: bool = False
    """``crm``/``pacemaker`` true: v1 resource management disabled."""
    parameters: tuple[tuple[str, str], ...] = ()
    """Raw recorded values for ``hbparameter`` (directive, text as written or default)."""
    not_acted_on: tuple[str, ...] = ()
    """Directives that were accepted but that this version does not act on yet."""
    apiauth: tuple[ApiAuthSpec, ...] = ()
    """``apiauth`` lines (parsed and validated; built-in defaults are not listed here)."""
    hatui: HatuiConf = field(default_factory=HatuiConf)
    """``hatui.conf`` as read (every consumer's keys); ``monitor`` is its monitoring
    view, the STONITH layer builds its own (``engine.stonith.config.stonith_settings``)."""
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    """Resource monitoring (hatui only, off by default; from hatui.conf)."""

    @property
    def peers(self) -> tuple[str, ...]:
        """Normal nodes other than this one."""
        return tuple(n for n in self.nodes if n != self.node_name)

    @property
    def ping_nodes(self) -> tuple[str, ...]:
        """Ping pseudo-node names (``ping`` addresses and ``ping_group`` names)."""
        names: list[str] = []
        for medium in self.media:
            if medium.kind is MediumKind.PING:
                names.extend(medium.members)
            elif medium.kind is MediumKind.PING_GROUP:
                names.append(medium.name)
        return tuple(names)

    def parameter(self, name: str) -> str | None:
        """Raw ``hbparameter`` value, or None when unset."""
        for key, value in self.parameters:
            if key == name:
                return value
        return None
