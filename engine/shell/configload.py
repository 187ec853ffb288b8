"""Read and probe the configuration without ever holding the loop: start-up, reload and
``--check-config`` share this one path (``load_checked``).

Rules of this module:
1. The files are read by ``engine.config.load_config`` (pure: it reads files and runs
   nothing) in a daemon worker thread, within a timeout. A config dir on a file
   system that hangs (NFS, FUSE) costs a refused reload with the reason, never a late
   heartbeat. One read at a time: a read still stuck refuses the next one at once
   instead of piling up threads; a daemon thread never holds the process at exit.
2. The STONITH plugin is probed by ``engine.stonith.config.probe_device``: programs
   through the runner, awaited, within ``stonith_timeout``. A reload probes only when
   the stonith lines or their settings changed (the running device stays until a
   restart anyway); start-up and ``--check-config`` always probe.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine.config import LoadResult, load_config
from engine.config.model import ClusterConfig, Issue, Severity, SourceRef
from engine.config.stonithconf import stonith_settings
from engine.stonith.config import DeviceProbe, context_for, probe_device


@dataclass(frozen=True)
class CheckedConfig:
    """A configuration read and probed.

    Attributes:
        config: the configuration, None when an issue refuses it.
        issues: the loader's issues, then the probe's.
        probe: what probing the STONITH lines found; None when nothing was probed.
        read_ms: how long reading the files took.
    """

    config: ClusterConfig | None
    issues: list[Issue] = field(default_factory=list)
    probe: DeviceProbe | None = None
    read_ms: float = 0.0

    @property
    def errors(self) -> list[Issue]:
        """The issues that refuse the configuration."""
        return [issue for issue in self.issues if issue.severity is Severity.ERROR]


class ReadTimedOut(Exception):
    """Reading the config dir did not finish in time; the message says what to check."""


class ConfigReader:
    """Runs ``load_config`` in a daemon thread, one read at a time, within a timeout."""

    def __init__(self, load: Callable[[Path, str | None], LoadResult] | None = None) -> None:
        self._load = load or load_config
        self._busy_since: float | None = None

    async def read(self, config_dir: Path, node_name: str | None, timeout: float) -> LoadResult:
        """The loader's result; raises ReadTimedOut (and leaves the thread to finish)."""
        if self._busy_since is not None:
            stuck = time.monotonic() - self._busy_since
            raise ReadTimedOut(
                f"the previous read of {config_dir} has not returned for {stuck:.0f} s "
                "(a hung file system?); this reload is refused"
            )
        loop = asyncio.get_running_loop()
        done: asyncio.Future[LoadResult] = loop.create_future()
        self._busy_since = time.monotonic()
        worker = threading.Thread(
            target=self._work,
            args=(loop, done, config_dir, node_name),
            name="hatui-config-read",
            daemon=True,
        )
        worker.start()
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.shield(done)
        except TimeoutError:
            raise ReadTimedOut(
                f"reading {config_dir} did not finish within {timeout:g} s (a slow or hung "
                "file system?)"
            ) from None

    def _work(
        self,
        loop: asyncio.AbstractEventLoop,
        done: asyncio.Future[LoadResult],
        config_dir: Path,
        node_name: str | None,
    ) -> None:
        """In the worker thread: load, then hand the result (or error) to the loop."""
        try:
            result = self._load(config_dir, node_name)
        except BaseException as exc:  # handed over, raised where the read is awaited
            self._finish(loop, done, None, exc)
        else:
            self._finish(loop, done, result, None)

    def _finish(
        self,
        loop: asyncio.AbstractEventLoop,
        done: asyncio.Future[LoadResult],
        result: LoadResult | None,
        error: BaseException | None,
    ) -> None:
        def deliver() -> None:
            self._busy_since = None
            if done.done():
                return  # nobody waits any more: the read timed out
            if error is not None:
                done.set_exception(error)
            elif result is not None:
                done.set_result(result)

        try:
            loop.call_soon_threadsafe(deliver)
        except RuntimeError:  # the loop is closed: the process is leaving
            pass


READER = ConfigReader()
"""The process's one reader (one read of the config dir at a time)."""


async def load_checked(
    config_dir: Path,
    node_name: str | None,
    *,
    read_timeout: float,
    running: ClusterConfig | None = None,
    reader: ConfigReader = READER,
) -> CheckedConfig:
    """Read ``config_dir`` off the loop, then probe its STONITH lines (if needed).

    Args:
        config_dir: the configuration directory.
        node_name: ``--node`` (None: nodeinfo or ``uname -n``).
        read_timeout: seconds the files may take to read.
        running: the configuration in force (a reload): its stonith lines are not probed
            again when unchanged. None (start-up, ``--check-config``) always probes.
        reader: the thread that reads.
    """
    started = time.monotonic()
    try:
        result = await reader.read(config_dir, node_name, read_timeout)
    except ReadTimedOut as exc:
        hint = "check the file system holding it (NFS mount, disk); the running "
        hint += "configuration stays" if running is not None else "configuration is unchanged"
        return CheckedConfig(
            None, [Issue(Severity.ERROR, SourceRef(str(config_dir)), str(exc), hint)]
        )
    read_ms = (time.monotonic() - started) * 1000.0
    config = result.config
    if config is None or not config.stonith or _same_stonith(running, config):
        return CheckedConfig(config, list(result.issues), None, read_ms)
    settings = stonith_settings(config.hatui)
    ctx = context_for(Path(config.config_dir), config.node_name, settings)
    probe = await probe_device(config.stonith, ctx)
    accepted = config if not probe.errors else None
    return CheckedConfig(accepted, [*result.issues, *probe.issues], probe, read_ms)


def _same_stonith(running: ClusterConfig | None, new: ClusterConfig) -> bool:
    """True when a reload leaves the stonith lines and their settings as they run."""
    if running is None:
        return False
    return running.stonith == new.stonith and stonith_settings(running.hatui) == stonith_settings(
        new.hatui
    )
