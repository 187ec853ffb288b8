"""The plugin interface every fencing device implements, and what one operation returns.

Result codes are cluster-glue's (``stonith`` exit status, spec §8.3) so that a bridged
plugin and a built-in one report failures the same way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.config.stonithconf import DEFAULT_TIMEOUT
from engine.process.runner import ProgramResult, run_program

S_OK = 0
S_BADCONFIG = 1
S_ACCESS = 2
S_INVAL = 3
S_BADHOST = 4
S_RESETFAIL = 5
S_TIMEOUT = 6
S_ISOFF = 7
S_OOPS = 8

CODE_NAMES = {
    S_OK: "OK",
    S_BADCONFIG: "bad configuration",
    S_ACCESS: "access denied",
    S_INVAL: "invalid argument",
    S_BADHOST: "bad host",
    S_RESETFAIL: "reset failed",
    S_TIMEOUT: "timeout",
    S_ISOFF: "outlet off",
    S_OOPS: "oops",
}


@dataclass(frozen=True, slots=True)
class StonithResult:
    """The outcome of one device operation; ``reason`` is one line for the log."""

    ok: bool
    code: int = S_OK
    reason: str = ""
    output: str = ""

    @classmethod
    def success(cls, reason: str = "OK", output: str = "") -> StonithResult:
        """A successful operation."""
        return cls(True, S_OK, reason, output)

    @classmethod
    def failure(cls, code: int, reason: str, output: str = "") -> StonithResult:
        """A failed operation with a glue result code."""
        return cls(False, code, reason, output)

    @classmethod
    def from_program(cls, result: ProgramResult, what: str) -> StonithResult:
        """Map a finished program to a result: exit 0 is success, anything else says why."""
        output = result.stdout.strip()
        if result.ok:
            return cls.success(f"{what}: OK", output)
        detail = result.last_line()
        reason = f"{what}: {result.describe()}" + (f" ({detail})" if detail else "")
        if result.timed_out:
            return cls.failure(S_TIMEOUT, reason, output)
        code = result.returncode if result.returncode in CODE_NAMES else S_RESETFAIL
        return cls.failure(code or S_RESETFAIL, reason, output)


@dataclass(frozen=True, slots=True)
class PluginContext:
    """What a plugin may need from the node: where configs live, timeouts, search paths."""

    config_dir: Path = Path("/etc/ha.d")
    node_name: str = ""
    timeout: float = DEFAULT_TIMEOUT
    external_dirs: tuple[Path, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    """Extra environment for every program a plugin runs (PATH, for instance)."""


class StonithPlugin(ABC):
    """One configured fencing device.

    Subclasses set ``type_name`` at construction, implement the async operations and the
    class method ``parameter_names``. Plugins never raise for a device problem: every
    operation returns a StonithResult that says what went wrong.
    """

    def __init__(self, type_name: str, params: Mapping[str, str], ctx: PluginContext) -> None:
        self.type_name = type_name
        self.params = dict(params)
        self.ctx = ctx

    @classmethod
    async def parameter_names(cls, type_name: str, ctx: PluginContext) -> tuple[str, ...]:
        """The ordered parameter names (``stonith -t TYPE -n``); may run a program, so
        it is awaited (the probe, off the loop). The built-in types take ``hostlist``."""
        return ("hostlist",)

    @property
    def device_id(self) -> str:
        """The name Heartbeat logs: ``Resetting node X with [<device id>]``."""
        return f"{self.type_name} STONITH device"

    @abstractmethod
    async def reset(self, node: str) -> StonithResult:
        """Power-cycle ``node``; success means it is certainly not running any more."""

    async def status(self) -> StonithResult:
        """Is the device reachable (Heartbeat's hourly check)?"""
        return StonithResult.success(f"{self.device_id} OK")

    async def hosts(self) -> list[str] | None:
        """Nodes this device can reset, or None when it cannot tell."""
        hostlist = self.params.get("hostlist")
        return hostlist.lower().split() if hostlist is not None else None

    def describe(self) -> dict[str, object]:
        """For status --json: type, id and parameter names (values may be secrets)."""
        return {"type": self.type_name, "id": self.device_id, "params": sorted(self.params)}

    async def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        stdin: bytes | None = None,
        timeout: float | None = None,
    ) -> ProgramResult:
        """Run a helper program through the one executor module."""
        return await run_program(
            argv,
            env=env,
            stdin=stdin,
            timeout=self.ctx.timeout if timeout is None else timeout,
        )
