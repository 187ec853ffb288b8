"""Configuration reload: validate a changed config dir and apply what is safe, live.

Rules of this module:
1. The running configuration stays in force unless the new one validates completely
   (``engine.config.load_config``); an invalid one is rejected with every issue.
2. ``plan_reload`` is pure: it compares two configurations and decides, part by part,
   what may change without dropping the cluster. Parts that cannot change live (media,
   ports, a group someone holds, ...) are refused with a reason; the rest is applied.
3. Triggers: a change in the config DIRECTORY (watchfiles, in a thread of its own;
   editors write a temporary file and rename it) and SIGHUP. Both end in
   ``ReloadPipeline.request`` on the loop.
4. The loop never waits for a reload: ``ReloadPipeline`` reads and probes through
   ``engine.shell.configload.load_checked`` (the same path as start-up), one reload at a
   time, and applies the plan on the loop when it has answered. Triggers that arrive
   meanwhile make one more reload afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.config.hatuiconf import HATUI_CONF, known_keys
from engine.config.model import ClusterConfig, GroupSpec, HatuiConf, Severity
from engine.config.reloadconf import config_read_timeout
from engine.config.report import monitor_text
from engine.shell.configload import CheckedConfig, load_checked

if TYPE_CHECKING:
    from engine.core.policy import ResourcePolicy
    from engine.resources.actions import ActionWorker

logger = logging.getLogger(__name__)

WATCHED_FILES = frozenset({"ha.cf", "authkeys", "haresources", HATUI_CONF})
WATCH_DEBOUNCE_MS = 300
WATCH_STEP_MS = 1000
"""How often the watcher thread looks for the stop event."""
LIVE_FIELDS = frozenset(
    {
        "timing",
        "auth",
        "nodes",
        "groups",
        "config_dir",
        "parameters",
        "not_acted_on",
        "monitor",
        "hatui",
    }
)
"""Fields ``plan_reload`` applies (or partly refuses) live; ``parameters`` is the raw
directive list ``cl_status hbparameter`` reads, so it follows the new files; ``monitor``
(hatui's resource monitoring) takes effect at the next check; ``hatui`` (hatui.conf)
changes live for the keys declared ``live``, the others keep their running values."""


@dataclass(frozen=True)
class ReloadPlan:
    """What a reload decided.

    Attributes:
        config: the configuration to run from now on (None: rejected, keep the old one).
        errors: why the new configuration was rejected (every issue, with file:line).
        applied: human-readable changes that take effect.
        refused: changes that were NOT applied, each with its reason.
        auth_changed: a new Authenticator is needed.
        added_nodes: nodes the membership gains.
        changed_groups: group keys whose haresources lines change (added, removed, edited).
    """

    config: ClusterConfig | None
    errors: list[str] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    auth_changed: bool = False
    added_nodes: tuple[str, ...] = ()
    changed_groups: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        """True when the new configuration validated (parts may still be refused)."""
        return self.config is not None

    def summary(self) -> str:
        """One line for the log and the console timeline."""
        if self.config is None:
            return "configuration reload rejected, old configuration stays: " + "; ".join(
                self.errors
            )
        parts = []
        if self.applied:
            parts.append("applied: " + "; ".join(self.applied))
        if self.refused:
            parts.append("refused: " + "; ".join(self.refused))
        return "configuration reloaded, " + (" | ".join(parts) or "nothing changed")


def plan_reload(
    old: ClusterConfig,
    new: ClusterConfig | None,
    issues: Iterable[object] = (),
    held_by: Mapping[str, str | None] | None = None,
) -> ReloadPlan:
    """Decide what a reload may change.

    Args:
        old: the running configuration.
        new: the freshly loaded configuration, None when it did not validate.
        issues: the loader's issues (errors are the rejection reasons).
        held_by: group key -> node holding it now (None when nobody does).
    """
    if new is None:
        errors = [str(i) for i in issues if getattr(i, "severity", None) is Severity.ERROR]
        return ReloadPlan(None, errors=errors or ["configuration did not validate"])
    applied: list[str] = []
    refused: list[str] = []
    merged = new
    merged, nodes_added = _plan_nodes(old, merged, applied, refused)
    merged = _plan_restart_only(old, merged, refused)
    merged = _plan_hatui(old, merged, refused)
    merged, changed = _plan_groups(old, merged, held_by or {}, applied, refused)
    if old.timing != merged.timing:
        applied.append(f"timing {_timing_text(old)} -> {_timing_text(merged)}")
    if old.monitor != merged.monitor:
        applied.append(
            f"resource monitoring ({monitor_text(old.monitor)}) -> ({monitor_text(merged.monitor)})"
        )
    auth_changed = old.auth != merged.auth
    if auth_changed:
        keys = ", ".join(f"{k.index} {k.method}" for k in merged.auth.keys)
        applied.append(f"authkeys: signing with key {merged.auth.send_index}, accepting {keys}")
    return ReloadPlan(
        merged,
        applied=applied,
        refused=refused,
        auth_changed=auth_changed,
        added_nodes=nodes_added,
        changed_groups=changed,
    )


def _timing_text(config: ClusterConfig) -> str:
    t = config.timing
    return (
        f"(keepalive {t.keepalive_ms} ms, warntime {t.warntime_ms} ms, "
        f"deadtime {t.deadtime_ms} ms, initdead {t.initdead_ms} ms)"
    )


def _plan_nodes(
    old: ClusterConfig, new: ClusterConfig, applied: list[str], refused: list[str]
) -> tuple[ClusterConfig, tuple[str, ...]]:
    """Nodes may be added live; removing one needs a restart (its state is in use)."""
    added = tuple(n for n in new.nodes if n not in old.nodes)
    removed = [n for n in old.nodes if n not in new.nodes]
    if added:
        applied.append(f"node(s) added: {', '.join(added)} (initdead applies to them)")
    if removed:
        refused.append(
            f"node(s) removed: {', '.join(removed)}: removing a node needs a restart "
            "of the engine; it stays a member"
        )
        nodes = tuple(old.nodes) + added
        new = dataclasses.replace(new, nodes=nodes)
    return new, added


def _plan_restart_only(old: ClusterConfig, new: ClusterConfig, refused: list[str]) -> ClusterConfig:
    """Everything not in LIVE_FIELDS keeps its running value; changes are reported."""
    keep: dict[str, object] = {}
    for item in dataclasses.fields(ClusterConfig):
        name = item.name
        if name in LIVE_FIELDS:
            continue
        if getattr(old, name) != getattr(new, name):
            keep[name] = getattr(old, name)
            refused.append(f"{name} changed: needs a restart of the engine; old value stays")
    return dataclasses.replace(new, **keep) if keep else new  # type: ignore[arg-type]


def _plan_hatui(old: ClusterConfig, new: ClusterConfig, refused: list[str]) -> ClusterConfig:
    """hatui.conf keys not declared ``live`` (the STONITH knobs) keep their running
    values until a restart; the live ones (``monitor_*``) go through ``monitor``."""
    fixed = [key.name for key in known_keys() if not key.live]
    changed = [name for name in fixed if old.hatui.written([name]) != new.hatui.written([name])]
    if not changed:
        return new
    for name in changed:
        before = _values_text(old.hatui, name)
        after = _values_text(new.hatui, name)
        refused.append(
            f"{HATUI_CONF} {name} {before} -> {after}: needs a restart of the engine; "
            "old value stays"
        )
    kept = [s for s in old.hatui.settings if s.key in changed]
    settings = (*new.hatui.without(changed), *kept)
    return dataclasses.replace(new, hatui=HatuiConf(new.hatui.path, settings))


def _values_text(conf: HatuiConf, name: str) -> str:
    texts = [s.text for s in conf.settings if s.key == name]
    return ", ".join(texts) if texts else "(default)"


def _plan_groups(
    old: ClusterConfig,
    new: ClusterConfig,
    held_by: Mapping[str, str | None],
    applied: list[str],
    refused: list[str],
) -> tuple[ClusterConfig, tuple[str, ...]]:
    """haresources lines change only for groups nobody holds now."""
    old_groups = {g.key: g for g in old.groups}
    new_groups = {g.key: g for g in new.groups}
    result: list[GroupSpec] = []
    changed: list[str] = []
    for key in list(old_groups) + [k for k in new_groups if k not in old_groups]:
        before, after = old_groups.get(key), new_groups.get(key)
        if before is not None and after is not None and before.canonical == after.canonical:
            result.append(after)
            continue
        holder = held_by.get(key)
        what = _group_change_text(before, after)
        if holder:
            refused.append(f"{what}: refused, the group is held by {holder}; release it first")
            if before is not None:
                result.append(before)
            continue
        applied.append(what)
        changed.append(key)
        if after is not None:
            result.append(after)
    return dataclasses.replace(new, groups=tuple(result)), tuple(changed)


def _group_change_text(before: GroupSpec | None, after: GroupSpec | None) -> str:
    if before is None and after is not None:
        return f"group added: {after.canonical}"
    if after is None and before is not None:
        return f"group removed: {before.canonical}"
    assert before is not None and after is not None
    return f"group changed: {before.canonical} -> {after.canonical}"


class ReloadPipeline:
    """One reload at a time, off the loop: read and probe (``load_checked``), then
    ``apply(trigger, checked)`` on the loop; heartbeats go on meanwhile.

    Args:
        current: the configuration in force (read when a reload starts).
        apply: plans and applies a checked configuration (``Engine.apply_reload``).
    """

    def __init__(
        self,
        current: Callable[[], ClusterConfig],
        apply: Callable[[str, CheckedConfig], None],
    ) -> None:
        self._current = current
        self._apply = apply
        self._task: asyncio.Task[None] | None = None
        self._again: list[str] = []

    @property
    def busy(self) -> bool:
        """True while a reload is being read or probed."""
        return self._task is not None

    def request(self, trigger: str) -> None:
        """A trigger (file change, SIGHUP): reload now, or once more after the one that
        runs (its files may be older than this trigger)."""
        if self._task is not None:
            if trigger not in self._again:
                self._again.append(trigger)
            return
        self._task = asyncio.get_running_loop().create_task(self._reload(trigger))

    async def _reload(self, trigger: str) -> None:
        try:
            config = self._current()
            checked = await load_checked(
                Path(config.config_dir),
                config.node_name,
                read_timeout=config_read_timeout(config.hatui),
                running=config,
            )
            self._apply(trigger, checked)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception(
                "reload (%s) failed inside the engine; configuration unchanged", trigger
            )
        finally:
            self._task = None
        if self._again:
            triggers, self._again = self._again, []
            self.request(", then ".join(triggers))

    async def close(self) -> None:
        """Abandon a reload in progress (shutdown)."""
        self._again.clear()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


class ConfigReloader:
    """Watches the config directory and turns changes or SIGHUP into reloads.

    The watch runs in a thread of its own (watchfiles' Rust watcher, through its plain
    ``watch`` generator): the loop only gets the names of the changed files. Through
    ``awatch`` every change cost the loop a task step of anyio machinery, and the first
    one imported anyio's backend there (25-45 ms on the loop, issue 15's loop-lag
    suite); watchfiles itself is imported when the reloader is built, before the engine
    heartbeats.

    Args:
        config_dir: the directory holding ha.cf, authkeys, haresources and hatui.conf.
        reload: called on the event loop with the trigger when a reload is due
            (``ReloadPipeline.request``); it must return at once.
    """

    def __init__(self, config_dir: Path, reload: Callable[[str], None]) -> None:
        self.config_dir = config_dir
        self._reload = reload
        self._watch_files = _watchfiles()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Start watching (no-op when watchfiles is missing: SIGHUP still works)."""
        if self._watch_files is None:
            logger.warning("watchfiles missing: config changes apply on SIGHUP only")
            return
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(
            target=self._watch, args=(self._watch_files,), name="config-watch", daemon=True
        )
        self._thread.start()

    async def close(self) -> None:
        """Stop watching: the thread ends at its next look at the stop event (within
        ``WATCH_STEP_MS``) and hands nothing more to the loop."""
        self._stop.set()
        self._thread = None

    def on_sighup(self) -> None:
        """SIGHUP handler body (the loop calls it; signal context is not used)."""
        self._reload("SIGHUP")

    def _changed(self, names: list[str]) -> None:
        """On the loop: files changed."""
        if not self._stop.is_set():
            self._reload(f"changed {', '.join(names)}")

    def _watch(self, watch: _Watch) -> None:
        """The watcher thread: blocks in Rust (without the interpreter lock) between
        changes, and posts each batch to the loop."""
        try:
            for changes in watch(
                self.config_dir,
                stop_event=self._stop,
                debounce=WATCH_DEBOUNCE_MS,
                # The watcher wakes every ``step`` ms to look for the stop event (with
                # the interpreter lock): 50 ms cost as much CPU as heartbeating.
                step=WATCH_STEP_MS,
                rust_timeout=0,  # no periodic return: only a change or the stop ends a wait
                recursive=False,
                raise_interrupt=False,
                watch_filter=lambda _change, path: Path(path).name in WATCHED_FILES,
            ):
                self._post(self._changed, sorted({Path(path).name for _change, path in changes}))
        except Exception as exc:  # the watch is gone; SIGHUP still reloads
            text = f"cannot watch {self.config_dir}: {exc}; SIGHUP still reloads"
            self._post(logger.error, text)

    def _post(self, callback: Callable[[Any], None], arg: Any) -> None:
        """Run ``callback(arg)`` on the loop (logging too: the log's ring buffer and the
        console's subscribers belong to the loop); nothing once stopped."""
        loop = self._loop
        if loop is None or self._stop.is_set():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(callback, arg)


_Watch = Callable[..., Iterator[set[tuple[Any, str]]]]
"""watchfiles' ``watch`` generator."""


def _watchfiles() -> _Watch | None:
    """watchfiles' ``watch``, imported once (at engine start, before any heartbeat);
    None when watchfiles is not installed."""
    try:
        from watchfiles import watch
    except ImportError:
        return None
    return watch


def apply_groups(
    policy: ResourcePolicy | None, actions: ActionWorker, config: ClusterConfig
) -> None:
    """Hand changed haresources groups to the policy and the action worker.

    Only groups nobody holds reach this point (``plan_reload``).
    """
    if policy is not None:
        policy.replace_groups(config)
    actions.replace_groups(config)
