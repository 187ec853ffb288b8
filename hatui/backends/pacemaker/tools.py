"""Running Pacemaker's and Corosync's tools: the back end's one door to programs.

Every command goes through ``engine.process.runner.run_program`` (own session, timeout,
output captured in files) behind an optional command prefix: the console normally runs
on the node itself, and ``--pcmk-exec 'nsenter --net=… --mount=… --'`` (or ``ssh
node``) makes it talk to another node's daemons the same way.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from engine.process.runner import ProgramResult, run_program
from hatui.backends.pacemaker.cmap import ICMAP_KEYS, KNET_STATS

CRM_MON = ("crm_mon", "--one-shot", "--output-as=xml", "--inactive", "--exclude=operations")
"""The status query: one shot, XML, stopped resources too, without the per-node
operation history (the largest part, and not shown)."""
XML_LIMIT = 16 << 20
"""Bytes of XML kept (the runner keeps 64 KiB by default: enough for a log tail, not
for a large cluster's status)."""
POLL_TIMEOUT_S = 10.0
ACTION_TIMEOUT_S = 60.0


class ToolError(Exception):
    """A tool failed; ``message`` is the operator-facing reason."""

    def __init__(self, message: str, result: ProgramResult | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.result = result


def describe_failure(result: ProgramResult, tool: str = "") -> str:
    """``crm_mon: Connection to cluster failed: Transport endpoint…`` (or the exit);
    ``tool`` names the program behind a prefix (else the program run is named)."""
    said = result.last_line() or result.describe()
    name = tool or result.program
    return said if said.startswith(f"{name}:") else f"{name}: {said}"


@dataclass(frozen=True, slots=True)
class Tools:
    """The commands the back end runs, behind ``prefix``."""

    prefix: tuple[str, ...] = ()

    @classmethod
    def from_prefix(cls, text: str) -> Tools:
        """``--pcmk-exec`` text, split like a shell would (no shell runs it)."""
        return cls(tuple(shlex.split(text)))

    async def run(
        self,
        argv: Sequence[str],
        timeout: float = POLL_TIMEOUT_S,
        log: bool = False,
        output_limit: int = XML_LIMIT,
    ) -> ProgramResult:
        """Run ``argv`` (behind the prefix); never raises for a failing program."""
        return await run_program(
            [*self.prefix, *argv], timeout=timeout, log=log, output_limit=output_limit
        )

    async def output(self, argv: Sequence[str], timeout: float = POLL_TIMEOUT_S) -> str:
        """stdout of a query that must succeed.

        Raises:
            ToolError: it could not run, timed out or exited non-zero (crm_mon exits
                non-zero when it cannot reach the cluster).
        """
        result = await self.run(argv, timeout)
        if not result.ok:
            raise ToolError(describe_failure(result, argv[0]), result)
        return result.stdout

    async def crm_mon(self) -> str:
        """The cluster status as XML; also when crm_mon fails but says why in XML (not
        connected: ``<status code="102" message="Not connected">`` with its errors),
        so that the reason shown is crm_mon's own, not its last line of XML."""
        result = await self.run(CRM_MON)
        if result.ok or result.stdout.lstrip().startswith("<pacemaker-result"):
            return result.stdout
        raise ToolError(describe_failure(result, CRM_MON[0]), result)

    async def icmap(self) -> str:
        """The icmap keys the console reads (nodelist, runtime token, logging)."""
        return await self.output(["corosync-cmapctl", *ICMAP_KEYS])

    async def knet_stats(self) -> str:
        """knet's per-link statistics (stats map)."""
        return await self.output(["corosync-cmapctl", "-m", "stats", KNET_STATS])

    async def constraints(self) -> str:
        """The CIB's constraints section as XML."""
        return await self.output(["cibadmin", "--query", "--scope", "constraints"])

    async def act(self, argv: Sequence[str], timeout: float = ACTION_TIMEOUT_S) -> ProgramResult:
        """An operator action: logged, with its own (longer) timeout."""
        return await self.run(argv, timeout, log=True)
