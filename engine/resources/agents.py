"""Find and run the program behind one haresources token.

Rules of this module: lookup follows ResourceManager (``CONFIG_DIR/resource.d/S``, then
``/etc/init.d/S``), then two additions of ours: the OCF agent
``OCF_ROOT/resource.d/heartbeat/S`` run directly (so ``IPaddr2::10.0.0.5/24/eth0``
works with only resource-agents installed; positional arguments are mapped exactly as
the heartbeat wrappers in resource.d map them) and ``systemd:UNIT``. Which of them
runs a token is decided in ``resolve.py``. Every call goes
through :func:`engine.process.runner.run_program` with a timeout. Heartbeat-style ``status`` is
judged by the text it prints, not by its exit code (spec §7.2).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from engine.config.model import ClusterConfig, ResourceSpec
from engine.errors import ResourceError
from engine.process.runner import ProgramResult, run_program
from engine.resources.model import ActionResult, ResourceState

logger = logging.getLogger(__name__)

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
HEARTBEAT_PATH = "/usr/libexec/heartbeat:/usr/sbin:/usr/share/heartbeat"
"""What shellfuncs puts in front of PATH for every script."""
DEFAULT_RSCTMP = Path("/run/resource-agents")
"""Where resource-agents keep run-time state; must be on a tmpfs cleared at boot."""

OCF_SUCCESS = 0
OCF_NOT_RUNNING = 7
OCF_RUNNING_PROMOTED = 8
OCF_EXIT_NAMES = {
    1: "generic error",
    2: "invalid argument",
    3: "unimplemented feature",
    4: "insufficient privileges",
    5: "not installed",
    6: "not configured",
    7: "not running",
    8: "running promoted",
    9: "failed promoted",
}

_NOT_RUNNING = re.compile(r"[Nn][Oo][Tt] .*[Rr]unning", re.DOTALL)
_RUNNING = re.compile(r"[Rr]unning|OK")


@dataclass(frozen=True, slots=True)
class AgentOptions:
    """How agents run: environment, timeouts and (for tests) a command prefix."""

    env: Mapping[str, str] = field(default_factory=dict)
    """Base environment of every call (see :func:`script_environment`); empty means a
    minimal one with PATH only."""
    start_timeout: float = 60.0
    stop_timeout: float = 60.0
    status_timeout: float = 20.0
    kill_grace: float = 2.0
    command_prefix: tuple[str, ...] = ()
    """Prepended to every argv, e.g. ``("ip", "netns", "exec", "ns1")`` in tests."""

    def timeout_for(self, action: str) -> float:
        """The timeout of one action (``status``/``monitor`` use the status timeout)."""
        if action == "start":
            return self.start_timeout
        if action == "stop":
            return self.stop_timeout
        return self.status_timeout

    def base_env(self) -> dict[str, str]:
        """A copy of the base environment, never without PATH."""
        env = dict(self.env)
        env.setdefault("PATH", f"{HEARTBEAT_PATH}:{DEFAULT_PATH}")
        return env


def judge_status_text(output: str) -> ResourceState:
    """Heartbeat's verdict on a ``status`` output (ResourceManager ``we_own_resource``).

    ``*[Nn][Oo][Tt] *[Rr]unning*`` means not running; else ``*[Rr]unning*`` or ``*OK*``
    means running; anything else (including no output) means not running.
    """
    text = output.rstrip("\n")
    if _NOT_RUNNING.search(text):
        return ResourceState.STOPPED
    if _RUNNING.search(text):
        return ResourceState.RUNNING
    return ResourceState.STOPPED


def _failure_detail(result: ProgramResult) -> str:
    """``exit 1: <last stderr line>`` or ``timed out after 60.0 s`` for one run."""
    detail = result.describe()
    last = result.last_line()
    return f"{detail}: {last}" if last and not result.error else detail


def instance_name(token: str) -> str:
    """An ``OCF_RESOURCE_INSTANCE`` value derived from a token (safe in file names)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", token)


class Agent(ABC):
    """One resource's program: start it, stop it, ask whether it runs."""

    def __init__(self, spec: ResourceSpec, options: AgentOptions) -> None:
        self.spec = spec
        self.options = options

    @property
    def name(self) -> str:
        """The resource token as written in haresources."""
        return self.spec.token

    @property
    @abstractmethod
    def path(self) -> str:
        """The program shown in ``Running``/``Return code`` log lines."""

    @abstractmethod
    def argv(self, action: str) -> list[str]:
        """The command line of ``action`` (without the command prefix)."""

    def environment(self, action: str) -> dict[str, str]:
        """The environment of ``action``."""
        env = self.options.base_env()
        env["OCF_RESOURCE_INSTANCE"] = instance_name(self.spec.token)
        return env

    def display(self, action: str) -> str:
        """``<path> <args> <action>`` as Heartbeat logs it (two spaces when no args)."""
        return f"{self.path} {' '.join(self.spec.args)} {action}"

    async def start(self) -> ActionResult:
        """Start the resource; success is exit code 0."""
        result = await self._call("start", announce=True)
        state = ResourceState.RUNNING if result.ok else ResourceState.FAILED
        return ActionResult("start", result.ok, state, _outcome_text(result), result)

    async def stop(self) -> ActionResult:
        """Stop the resource; success is exit code 0 (also when already stopped)."""
        result = await self._call("stop", announce=True)
        state = ResourceState.STOPPED if result.ok else ResourceState.FAILED
        return ActionResult("stop", result.ok, state, _outcome_text(result), result)

    @abstractmethod
    async def status(self) -> ActionResult:
        """Ask whether the resource runs: state RUNNING, STOPPED or FAILED (unknown)."""

    async def _call(self, action: str, *, announce: bool) -> ProgramResult:
        """Run one action with its timeout; log it as ResourceManager does."""
        if announce:
            logger.info("Running %s", self.display(action))
        else:
            logger.debug("Running %s", self.display(action))
        argv = [*self.options.command_prefix, *self.argv(action)]
        result = await run_program(
            argv,
            env=self.environment(action),
            timeout=self.options.timeout_for(action),
            kill_grace=self.options.kill_grace,
        )
        self._log_failure(action, result)
        return result

    def _log_failure(self, action: str, result: ProgramResult) -> None:
        """``Return code N from <path>`` and friends, for the operator's log."""
        if result.error:
            logger.error("Cannot run %s for %s: %s", self.path, action, result.error)
        elif result.timed_out:
            logger.error("%s %s %s", self.path, action, result.describe())
        elif result.returncode != 0 and not self._expected_code(action, result):
            logger.error("Return code %s from %s", result.returncode, self.path)

    def _expected_code(self, action: str, result: ProgramResult) -> bool:
        """True for a non-zero code that is a normal answer (e.g. OCF monitor 7)."""
        return False


def _outcome_text(result: ProgramResult) -> str:
    """Empty for success, else the failure detail."""
    return "" if result.ok else _failure_detail(result)


class HeartbeatScript(Agent):
    """A resource.d or init.d script: ``path args... action``, status judged by text."""

    def __init__(self, spec: ResourceSpec, script: Path, options: AgentOptions) -> None:
        super().__init__(spec, options)
        self.script = script

    @property
    def path(self) -> str:
        """The script path."""
        return str(self.script)

    def argv(self, action: str) -> list[str]:
        """``path arg1 arg2 ... action``."""
        return [str(self.script), *self.spec.args, action]

    async def status(self) -> ActionResult:
        """Run ``status`` and judge its stdout (exit code ignored, as Heartbeat does)."""
        result = await self._call("status", announce=False)
        if result.error or result.timed_out:
            return ActionResult(
                "status", False, ResourceState.FAILED, _failure_detail(result), result
            )
        state = judge_status_text(result.stdout)
        detail = result.last_line() if result.stdout.strip() else "no status output"
        return ActionResult("status", True, state, detail, result)

    def _expected_code(self, action: str, result: ProgramResult) -> bool:
        """A status exit code means nothing here; only its text counts."""
        return action == "status"


class OcfAgent(Agent):
    """An OCF resource agent run directly: ``path action`` with ``OCF_RESKEY_*``."""

    def __init__(
        self,
        spec: ResourceSpec,
        script: Path,
        options: AgentOptions,
        *,
        params: Mapping[str, str],
        ocf_root: Path,
        instance: str,
        provider: str = "heartbeat",
    ) -> None:
        super().__init__(spec, options)
        self.script = script
        self.params = dict(params)
        self.ocf_root = ocf_root
        self.instance = instance
        self.provider = provider

    @property
    def path(self) -> str:
        """The agent path."""
        return str(self.script)

    def argv(self, action: str) -> list[str]:
        """``path action`` (``status`` becomes ``monitor``)."""
        return [str(self.script), "monitor" if action == "status" else action]

    def environment(self, action: str) -> dict[str, str]:
        """Base environment plus the OCF variables and ``OCF_RESKEY_<param>``."""
        env = self.options.base_env()
        env.update(
            OCF_ROOT=str(self.ocf_root),
            OCF_FUNCTIONS_DIR=str(self.ocf_root / "lib" / "heartbeat"),
            OCF_RA_VERSION_MAJOR="1",
            OCF_RA_VERSION_MINOR="0",
            OCF_RESOURCE_INSTANCE=self.instance,
            OCF_RESOURCE_TYPE=self.script.name,
            OCF_RESOURCE_PROVIDER=self.provider,
        )
        env.update({f"OCF_RESKEY_{key}": value for key, value in self.params.items()})
        return env

    async def status(self) -> ActionResult:
        """Run ``monitor``: 0 (or 8) running, 7 not running, anything else failed."""
        result = await self._call("status", announce=False)
        code = result.returncode
        if result.error or result.timed_out or code is None:
            state, detail = ResourceState.FAILED, _failure_detail(result)
        elif code in (OCF_SUCCESS, OCF_RUNNING_PROMOTED):
            state, detail = ResourceState.RUNNING, "monitor: running"
        elif code == OCF_NOT_RUNNING:
            state, detail = ResourceState.STOPPED, "monitor: not running"
        else:
            meaning = OCF_EXIT_NAMES.get(code, "unknown error")
            state, detail = ResourceState.FAILED, f"monitor exit {code} ({meaning})"
            last = result.last_line()
            detail = f"{detail}: {last}" if last else detail
        ok = state is not ResourceState.FAILED
        return ActionResult("status", ok, state, detail, result)

    def _expected_code(self, action: str, result: ProgramResult) -> bool:
        """Monitor exit 7 is the normal answer for a stopped resource."""
        return action == "status" and result.returncode == OCF_NOT_RUNNING


class SystemdUnit(Agent):
    """``systemd:UNIT``: ``systemctl start|stop|is-active UNIT``."""

    def __init__(self, spec: ResourceSpec, unit: str, options: AgentOptions) -> None:
        super().__init__(spec, options)
        self.unit = unit

    @property
    def path(self) -> str:
        """``systemctl``."""
        return "systemctl"

    def argv(self, action: str) -> list[str]:
        """``systemctl <verb> UNIT``."""
        verb = "is-active" if action == "status" else action
        return ["systemctl", verb, self.unit]

    def display(self, action: str) -> str:
        """``systemctl start UNIT``."""
        return " ".join(self.argv(action))

    async def status(self) -> ActionResult:
        """``is-active`` prints active/inactive/failed/...; map that to a state."""
        result = await self._call("status", announce=False)
        if result.error or result.timed_out:
            return ActionResult(
                "status", False, ResourceState.FAILED, _failure_detail(result), result
            )
        word = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
        state = {
            "active": ResourceState.RUNNING,
            "reloading": ResourceState.RUNNING,
            "activating": ResourceState.STARTING,
            "deactivating": ResourceState.STOPPING,
            "inactive": ResourceState.STOPPED,
        }.get(word, ResourceState.FAILED)
        ok = state is not ResourceState.FAILED or word == "failed"
        return ActionResult("status", ok, state, f"unit is {word or 'unknown'}", result)

    def _expected_code(self, action: str, result: ProgramResult) -> bool:
        """``is-active`` exits non-zero for every state but active."""
        return action == "status"


def map_ipaddr_args(spec: ResourceSpec) -> dict[str, str]:
    """``ip[/cidr[/nic[/broadcast]|/broadcast]]`` → ip, cidr_netmask, nic, broadcast.

    Same splitting as the IPaddr/IPaddr2 wrappers in resource.d: a third component
    that starts with a digit is a broadcast address, not an interface.
    """
    if len(spec.args) != 1:
        raise ResourceError(
            f"{spec.token}: {spec.script} takes one argument "
            "ip[/cidr[/nic[/broadcast]]], e.g. IPaddr2::10.0.0.5/24/eth0"
        )
    parts = spec.args[0].split("/")
    ip, rest = parts[0], [p for p in parts[1:] if p]
    _check_ip(spec, ip)
    params = {"ip": ip}
    if rest:
        params["cidr_netmask"] = _check_netmask(spec, rest[0])
    if len(rest) > 1:
        if rest[1][0].isdigit():
            params["broadcast"] = rest[1]
        else:
            params["nic"] = rest[1]
            if len(rest) > 2:
                params["broadcast"] = rest[2]
    return params


def _check_ip(spec: ResourceSpec, ip: str) -> None:
    """Refuse a first component that is not an IP address."""
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        raise ResourceError(f"{spec.token}: {ip!r} is not an IP address") from None


def _check_netmask(spec: ResourceSpec, mask: str) -> str:
    """A prefix length (``24``) or a dotted netmask (``255.255.255.0``)."""
    if mask.isdigit() and 0 <= int(mask) <= 128:
        return mask
    try:
        ipaddress.IPv4Address(mask)
    except ValueError:
        raise ResourceError(
            f"{spec.token}: {mask!r} is not a netmask (use a prefix length such as 24)"
        ) from None
    return mask


def map_filesystem_args(spec: ResourceSpec) -> dict[str, str]:
    """``device::directory[::fstype[::options]]`` → device, directory, fstype, options."""
    if not 2 <= len(spec.args) <= 4:
        raise ResourceError(
            f"{spec.token}: Filesystem takes device::directory[::fstype[::options]]"
        )
    names = ("device", "directory", "fstype", "options")
    return dict(zip(names, spec.args, strict=False))


# --- environment ------------------------------------------------------------------


def script_environment(
    config: ClusterConfig, state_dir: Path, *, rsctmp: Path | None = None
) -> dict[str, str]:
    """The environment Heartbeat gives every script it runs (spec §9.1).

    Args:
        config: the loaded configuration (node name, log directives, ``env`` lines).
        state_dir: our persistent state directory, exported as ``HA_VARLIB``.
        rsctmp: run-time state of resource agents (``HA_RSCTMP``); defaults to
            resource-agents' own ``/run/resource-agents``, which must not survive a
            reboot (agents such as Dummy keep their "running" mark there).
    """
    config_dir = config.config_dir.rstrip("/") or "/"
    funcs = Path(config_dir) / "shellfuncs"
    env = {
        "PATH": f"{HEARTBEAT_PATH}:{os.environ.get('PATH', DEFAULT_PATH)}",
        "HA_CURHOST": config.node_name,
        "HA_DIR": f"{config_dir}/",
        "HA_DATEFMT": "%Y/%m/%d_%T\t",
        "HA_FUNCS": str(funcs if funcs.exists() else Path("/etc/ha.d/shellfuncs")),
        "OCF_ROOT": "/usr/lib/ocf",
        "HA_RSCTMP": str(rsctmp or DEFAULT_RSCTMP),
        "HA_VARLIB": str(state_dir),
    }
    logging_vars = {
        "HA_LOGFILE": config.log.logfile,
        "HA_DEBUGLOG": config.log.debugfile,
        "HA_LOGFACILITY": config.log.logfacility,
    }
    env.update({name: value for name, value in logging_vars.items() if value})
    if config.log.debug > 0:
        env["HA_debug"] = str(config.log.debug)
    for name, value in config.env:
        env[f"HA_{name}"] = value
    for name in ("LANG", "TZ"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env
