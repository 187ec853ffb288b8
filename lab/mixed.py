"""Two-node clusters whose members are real Heartbeat 3.0.6 or hatui, in any mix.

Both implementations get byte-identical ``ha.cf``/``authkeys``/``haresources`` (only the
directory differs: ``/etc/ha.d`` of the real node's mount namespace, ``--config-dir`` for
ours) and the same ``hbweb`` service. A :class:`Member` hides which one runs a node, so
the interop tests and the side-by-side benchmark drive both through one API.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from lab.cluster import Timers, ucast_lines
from lab.engine import DEFAULT_KEY, EngineHandle, node_state, write_config
from lab.hbweb import PORT, hbweb_script
from lab.netns import Lab, VipSampler, wait_until
from lab.realhb import RealNode

logger = logging.getLogger(__name__)

Kind = Literal["heartbeat", "hatui"]
VIP = "10.99.0.10"
HARESOURCES = f"alpha IPaddr2::{VIP}/24/eth0 hbweb\n"
MCAST_GROUP = "239.99.0.1"
AUTHS: dict[str, tuple[str, str]] = {
    "sha1": ("sha1", DEFAULT_KEY),
    "md5": ("md5", DEFAULT_KEY),
    "crc": ("crc", ""),
}
MEDIA = ("ucast", "bcast", "mcast")
PROFILES: dict[str, Timers] = {
    "1s/3s": Timers("1", "3", "2", "6"),
    "200ms/1s": Timers("200ms", "1", "600ms", "3"),
    "100ms/500ms": Timers("100ms", "500ms", "300ms", "2"),
}


def media_lines(lab: Lab, media: str) -> list[str]:
    """The ``ha.cf`` media lines for ``ucast``, ``bcast`` or ``mcast`` on every network;
    ``ucast+bcast`` is ucast on the first network and bcast on the others."""
    lines: list[str] = []
    for net in range(lab.networks):
        ifname = f"eth{net}"
        if media == "ucast+bcast":
            lines += ucast_lines(lab, ifname, net) if net == 0 else [f"bcast {ifname}"]
        elif media == "ucast":
            lines += ucast_lines(lab, ifname, net)
        elif media == "bcast":
            lines.append(f"bcast {ifname}")
        elif media == "mcast":
            lines.append(f"mcast {ifname} {MCAST_GROUP} 694 1 0")
        else:
            raise ValueError(f"unknown media {media!r} (ucast, bcast or mcast)")
    return lines


class Member:
    """One cluster node, whichever implementation runs it."""

    kind: Kind
    name: str
    config_dir: Path
    state_dir: Path

    def start(self) -> None:
        """Start the daemon (returns once it answers its admin interface)."""
        raise NotImplementedError

    def stop(self) -> None:
        """Graceful stop: resources released, peers told we leave."""
        raise NotImplementedError

    def sees(self, peer: str) -> str | None:
        """The status this node reports for ``peer`` (active/up/dead/init) or None."""
        raise NotImplementedError

    def admin_nodestatus(self, peer: str) -> str | None:
        """Same as :meth:`sees` through the admin CLI (``cl_status`` / ``hactl``)."""
        raise NotImplementedError

    def standby(self) -> None:
        """Give the resources to the peer (``hb_standby`` / ``hactl standby``)."""
        raise NotImplementedError

    def running(self) -> bool:
        """True while the daemon runs."""
        raise NotImplementedError

    def rscstatus(self) -> str | None:
        """``rscstatus`` (none/local/foreign/all/transition) through the admin CLI."""
        raise NotImplementedError

    def daemon_pids(self) -> list[int]:
        """The implementation's own processes (for CPU and RSS)."""
        raise NotImplementedError

    def log_lines(self) -> list[str]:
        """``logfile`` lines."""
        path = self.state_dir / "ha-log"
        return path.read_text(errors="replace").splitlines() if path.exists() else []

    def debug_lines(self) -> list[str]:
        """``debugfile`` lines."""
        path = self.state_dir / "ha-debug"
        return path.read_text(errors="replace").splitlines() if path.exists() else []


class RealMember(Member):
    """A node run by the real Heartbeat 3.0.6."""

    kind: Kind = "heartbeat"

    def __init__(self, lab: Lab, name: str) -> None:
        self.real = RealNode(lab, name)
        self.name = name
        self.config_dir = self.real.config_dir
        self.state_dir = self.real.state_dir

    def prepare(self) -> None:
        """Namespaces and the copied trees (before the configuration is written)."""
        self.real.prepare()

    def start(self) -> None:
        """See :meth:`Member.start`."""
        self.real.start()

    def stop(self) -> None:
        """See :meth:`Member.stop`."""
        self.real.stop()

    def sees(self, peer: str) -> str | None:
        """See :meth:`Member.sees`."""
        return self.real.nodestatus(peer)

    def admin_nodestatus(self, peer: str) -> str | None:
        """See :meth:`Member.admin_nodestatus`."""
        return self.real.nodestatus(peer)

    def standby(self) -> None:
        """See :meth:`Member.standby`."""
        proc = self.real.hb_standby()
        if proc.returncode != 0:
            raise RuntimeError(f"hb_standby failed: {proc.stderr.strip()}")

    def running(self) -> bool:
        """See :meth:`Member.running`."""
        return bool(self.real.heartbeat_pids())

    def rscstatus(self) -> str | None:
        """See :meth:`Member.rscstatus`."""
        return self.real.rscstatus()

    def daemon_pids(self) -> list[int]:
        """See :meth:`Member.daemon_pids`."""
        return self.real.heartbeat_pids()

    def close(self) -> None:
        """Release the namespaces."""
        self.real.close()


class HatuiMember(Member):
    """A node run by our engine (``python -m engine.programs.haengine``)."""

    kind: Kind = "hatui"

    def __init__(self, lab: Lab, name: str) -> None:
        self.lab = lab
        self.name = name
        self.config_dir, self.state_dir = lab.node_dirs(name)
        self.handle: EngineHandle | None = None

    def prepare(self) -> None:
        """Nothing to do: the config dir exists."""

    def start(self) -> None:
        """See :meth:`Member.start`."""
        handle = self.lab.start_engine(self.name, self.config_dir, self.state_dir)
        self.handle = handle
        wait_until(handle.try_status, 40, 0.05, f"{self.name}: engine control socket")

    def stop(self) -> None:
        """See :meth:`Member.stop`."""
        if self.handle is not None:
            self.handle.stop()

    def sees(self, peer: str) -> str | None:
        """See :meth:`Member.sees`."""
        if self.handle is None:
            return None
        status = self.handle.try_status()
        return None if status is None else node_state(status, peer)

    def admin_nodestatus(self, peer: str) -> str | None:
        """See :meth:`Member.admin_nodestatus`."""
        if self.handle is None:
            return None
        proc = self.handle.hactl("nodestatus", peer)
        return proc.stdout.strip() or None

    def standby(self) -> None:
        """See :meth:`Member.standby`."""
        if self.handle is None:
            raise RuntimeError(f"{self.name}: engine not started")
        proc = self.handle.hactl("standby")
        if proc.returncode != 0:
            raise RuntimeError(f"hactl standby failed: {proc.stderr.strip()}")

    def running(self) -> bool:
        """See :meth:`Member.running`."""
        return self.handle is not None and self.handle.alive()

    def rscstatus(self) -> str | None:
        """See :meth:`Member.rscstatus`."""
        if self.handle is None:
            return None
        return self.handle.hactl("rscstatus").stdout.strip() or None

    def daemon_pids(self) -> list[int]:
        """See :meth:`Member.daemon_pids`."""
        return [self.handle.pid] if self.running() and self.handle is not None else []

    def close(self) -> None:
        """Nothing to release (the lab kills the engine)."""


@dataclass
class MixedCluster:
    """alpha + bravo with ``alpha IPaddr2::VIP/24/eth0 hbweb``, each of a chosen kind."""

    lab: Lab
    kinds: Mapping[str, Kind]
    media: str = "ucast"
    auth: str = "sha1"
    timers: Timers = field(default_factory=lambda: PROFILES["200ms/1s"])
    haresources: str = HARESOURCES
    auto_failback: str = "on"
    extra: str = "crm no"
    members: dict[str, Member] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in self.lab.nodes:
            kind = self.kinds[name]
            member: Member = (
                RealMember(self.lab, name) if kind == "heartbeat" else HatuiMember(self.lab, name)
            )
            self.members[name] = member

    def __enter__(self) -> MixedCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getitem__(self, name: str) -> Member:
        return self.members[name]

    @property
    def names(self) -> list[str]:
        """Node names in configuration order."""
        return list(self.lab.nodes)

    def peer_of(self, name: str) -> str:
        """The other node of the pair."""
        return next(other for other in self.names if other != name)

    def configure(self) -> None:
        """Write identical configuration files (and hbweb) for every member."""
        for member in self.members.values():
            if isinstance(member, (RealMember, HatuiMember)):
                member.prepare()
            write_config(
                member.config_dir,
                self.names,
                media_lines(self.lab, self.media),
                keepalive=self.timers.keepalive,
                deadtime=self.timers.deadtime,
                warntime=self.timers.warntime,
                initdead=self.timers.initdead,
                auth=AUTHS[self.auth],
                haresources=self.haresources,
                extra=self.extra,
                log_dir=member.state_dir,
                auto_failback=self.auto_failback,
            )
            scripts = member.config_dir / "resource.d"
            scripts.mkdir(exist_ok=True)
            (scripts / "hbweb").write_text(hbweb_script())
            (scripts / "hbweb").chmod(0o755)

    def start(self, names: Sequence[str] | None = None) -> None:
        """Start the members (all by default), in order."""
        for name in names or self.names:
            self.members[name].start()

    def wait_mutual(self, state: str, timeout: float, names: Sequence[str] = ()) -> float:
        """Wait until every member reports every other as ``state``; returns the time."""
        who = list(names or self.names)

        def mutual() -> bool:
            return all(self.members[a].sees(b) == state for a in who for b in self.names if a != b)

        wait_until(mutual, timeout, 0.05, f"{who} see each other {state}")
        return time.monotonic()

    def wait_stable(self, timeout: float) -> float:
        """Wait until no member's resources are in ``transition`` (standby is refused then)."""

        def stable() -> bool:
            return all(
                (member.rscstatus() or "transition") != "transition"
                for member in self.members.values()
            )

        wait_until(stable, timeout, 0.2, "resources settled on every member")
        return time.monotonic()

    def served_by(self, timeout: float = 0.2) -> str | None:
        """Which node answers HTTP on the VIP (None: nobody)."""
        reply = self.lab.http_get(VIP, PORT, timeout=timeout)
        return None if reply is None or reply.status != 200 else reply.body

    def wait_served_by(self, name: str, timeout: float, interval: float = 0.02) -> float:
        """Probe HTTP (overlapping probes) until ``name`` answers on the VIP; returns the
        monotonic time of that answer."""
        return self.lab.wait_http_body(VIP, PORT, name, timeout, interval)

    def sampler(self) -> VipSampler:
        """A started VIP sampler (stop it or use it as a context manager)."""
        sampler = self.lab.vip_sampler(VIP)
        sampler.start()
        return sampler

    def crash(self, name: str) -> float:
        """SIGKILL everything in the node and take its links down; returns the crash time."""
        return self.lab.kill_node(name)

    def revive(self, name: str) -> None:
        """ "Reboot" a crashed node: drop the VIP it kept, links up, start the daemon."""
        self.lab.revive_node(name, forget=[VIP])
        self.members[name].start()

    def diagnostics(self) -> str:
        """The last log lines of every member (for assertion messages)."""
        parts: list[str] = []
        for member in self.members.values():
            tail = "\n".join(member.log_lines()[-25:])
            parts.append(f"--- {member.name} ({member.kind}) ha-log ---\n{tail}")
        return "\n".join(parts)

    def close(self) -> None:
        """Stop nothing gracefully; release the real nodes' namespaces."""
        for member in self.members.values():
            with contextlib.suppress(Exception):
                if isinstance(member, (RealMember, HatuiMember)):
                    member.close()
