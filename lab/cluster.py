"""A configured cluster of engines inside a Lab: config per node, start, wait, inspect."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lab.engine import DEFAULT_KEY, EngineHandle, link_state, node_state, write_config
from lab.netns import Lab, wait_until


class EngineDied(AssertionError):
    """An engine process exited while the test expected it to run."""


@dataclass(frozen=True)
class Timers:
    """Heartbeat timers as written in ha.cf plus their values in seconds for assertions."""

    keepalive: str = "200ms"
    deadtime: str = "1"
    warntime: str = "600ms"
    initdead: str = "3"

    @staticmethod
    def seconds(text: str) -> float:
        """``"200ms"`` → 0.2, ``"1"`` → 1.0, ``"1s"`` → 1.0."""
        value = text.strip().lower()
        if value.endswith("ms"):
            return float(value[:-2]) / 1000
        if value.endswith("s"):
            value = value[:-1]
        return float(value)

    @property
    def keepalive_s(self) -> float:
        """keepalive in seconds."""
        return self.seconds(self.keepalive)

    @property
    def deadtime_s(self) -> float:
        """deadtime in seconds."""
        return self.seconds(self.deadtime)


def ucast_lines(lab: Lab, ifname: str, network: int) -> list[str]:
    """One ``ucast IF ADDR`` line per node (own address included: harmless, Heartbeat §5.3)."""
    return [f"ucast {ifname} {node.address(network)}" for node in lab.nodes.values()]


@dataclass
class Cluster:
    """Engines for every lab node with one shared configuration."""

    lab: Lab
    media: Sequence[str]
    timers: Timers = field(default_factory=Timers)
    haresources: str = ""
    extra: str = ""
    auto_failback: str = "on"
    scripts: Mapping[str, str] = field(default_factory=dict)
    """``resource.d`` scripts: name → text (each node gets its own copy)."""
    hatui_conf: str = ""
    """``hatui.conf`` text (hatui-only settings: monitoring, STONITH knobs); "" = none."""
    node_media: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Media lines of one node only, after ``media`` (e.g. its own end of a serial cable)."""
    auth: tuple[str, str] = ("sha1", DEFAULT_KEY)
    """The ``authkeys`` entry ``(method, secret)`` of every node."""
    engines: dict[str, EngineHandle] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Node names in configuration order."""
        return list(self.lab.nodes)

    def configure(self, name: str) -> None:
        """Write the node's config dir (ha.cf, authkeys, haresources, hatui.conf,
        resource.d)."""
        config_dir, state_dir = self.lab.node_dirs(name)
        write_config(
            config_dir,
            self.names,
            [*self.media, *self.node_media.get(name, ())],
            keepalive=self.timers.keepalive,
            deadtime=self.timers.deadtime,
            warntime=self.timers.warntime,
            initdead=self.timers.initdead,
            auth=self.auth,
            haresources=self.haresources,
            extra=self.extra,
            log_dir=state_dir,
            auto_failback=self.auto_failback,
        )
        if self.hatui_conf:
            (config_dir / "hatui.conf").write_text(self.hatui_conf)
        if self.scripts:
            scripts_dir = config_dir / "resource.d"
            scripts_dir.mkdir(exist_ok=True)
            for script, text in self.scripts.items():
                path = scripts_dir / script
                path.write_text(text)
                path.chmod(0o755)

    def start(self, name: str, extra_args: Sequence[str] = ()) -> EngineHandle:
        """Configure (first time) and start the engine of ``name`` (``extra_args``: more
        command-line options, e.g. ``--metrics``)."""
        config_dir, state_dir = self.lab.node_dirs(name)
        if not (config_dir / "ha.cf").exists():
            self.configure(name)
        engine = self.lab.start_engine(name, config_dir, state_dir, extra_args)
        self.engines[name] = engine
        return engine

    def start_all(self) -> float:
        """Start every engine in order; returns ``time.monotonic()`` after the last start."""
        for name in self.names:
            self.start(name)
        return time.monotonic()

    def check_alive(self, names: Sequence[str] | None = None) -> None:
        """Raise EngineDied with the engine's output if one of ``names`` has exited."""
        for name in names or list(self.engines):
            engine = self.engines[name]
            if not engine.alive():
                tail = "\n".join(engine.output().splitlines()[-25:])
                log = "\n".join(engine.log_lines()[-15:])
                code = engine.proc.returncode
                raise EngineDied(
                    f"engine {name} exited with {code}:\n{tail}\n--- ha-log ---\n{log}"
                )

    def status(self, name: str) -> dict[str, Any] | None:
        """Status of ``name``'s engine (None while not answering; raises if it died)."""
        self.check_alive([name])
        return self.engines[name].try_status()

    def everyone_sees(
        self, state: str, about: Sequence[str], observers: Sequence[str] | None = None
    ) -> bool:
        """True when every observer reports every node in ``about`` as ``state``."""
        for observer in observers or list(self.engines):
            status = self.status(observer)
            if status is None:
                return False
            if any(node_state(status, name) != state for name in about):
                return False
        return True

    def wait_all_active(self, timeout: float, observers: Sequence[str] | None = None) -> float:
        """Wait until every observer sees every node active; returns the monotonic time."""
        who = list(observers or self.engines)
        wait_until(
            lambda: self.everyone_sees("active", who, who),
            timeout=timeout,
            interval=0.02,
            what=f"{', '.join(who)} all active",
        )
        return time.monotonic()

    def wait_settled(self, timeout: float = 12.0) -> None:
        """Wait until every engine applies the configured deadtime to every peer.

        Heartbeat advertises deadtime + 2 s for the first 5 s after start (spec §6.2,
        reproduced by the engine); failure timings are only meaningful afterwards.
        """
        wanted = round(self.timers.deadtime_s * 1000)

        def settled() -> bool:
            for observer in self.engines:
                status = self.status(observer)
                if status is None:
                    return False
                for entry in status.get("nodes", []):
                    if entry.get("self") or entry.get("status") == "dead":
                        continue
                    if entry.get("deadtime_ms") != wanted:
                        return False
            return True

        wait_until(settled, timeout=timeout, interval=0.1, what=f"every peer at dt={wanted} ms")

    def links(self, observer: str) -> dict[tuple[str, str], str]:
        """``{(node, link): status}`` as ``observer`` reports it."""
        status = self.status(observer) or {}
        result: dict[tuple[str, str], str] = {}
        for entry in status.get("nodes", []):
            for link in entry.get("links", []):
                result[(str(entry["name"]), str(link.get("name")))] = str(link.get("status"))
        return result

    def link_is(self, observer: str, node: str, link: str, state: str) -> bool:
        """True when ``observer`` reports ``node``'s ``link`` as ``state``."""
        status = self.status(observer)
        return status is not None and link_state(status, node, link) == state

    def stop_all(self) -> None:
        """Gracefully stop every running engine."""
        for engine in self.engines.values():
            if engine.alive():
                engine.stop()
