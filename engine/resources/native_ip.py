"""Built-in ``IPaddr2``/``IPaddr`` for the explicit ``ip/cidr/nic`` form: the failover fast path.

The OCF agent is a long shell script (it sources ocf-shellfuncs, runs findif, several
``ip`` calls and a background send_arp): 100–300 ms per action, paid twice per takeover
(status, then start). The cluster IP is what clients wait for, so for the common form
``IPaddr2::10.0.0.5/24/eth0`` we do what the agent does directly: one ``ip addr add``,
then gratuitous ARPs (the first at once, the rest in the background, as send_arp does).
Anything else (no interface given, IPv6, options) still goes to the agent, and
``HATUI_NATIVE_IP=0`` in the engine's environment turns the fast path off. It stands in
for the OCF agent only: a ``resource.d`` or ``init.d`` script of that name comes first.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import shutil

from engine.config.model import ResourceSpec
from engine.process.runner import run_program
from engine.resources.agents import Agent, AgentOptions, map_ipaddr_args
from engine.resources.arp import send_gratuitous_arp
from engine.resources.model import ActionResult, ResourceState
from engine.resources.netlink import interface_has_address

logger = logging.getLogger("engine.resources.agents")

ARP_COUNT = 5
"""Gratuitous ARPs per takeover (IPaddr2's ``arp_count`` default)."""
ARP_INTERVAL = 0.2
"""Seconds between them (IPaddr2's ``arp_interval`` default, 200 ms)."""
_announcing: dict[tuple[str, str], asyncio.Task[object]] = {}
"""The ARP repeats still going out per (address, interface); a stop cancels them."""


def native_ip_agent(spec: ResourceSpec, options: AgentOptions) -> NativeIPAddr | None:
    """The fast-path agent for this token, or None when the OCF agent must run it."""
    if spec.script not in ("IPaddr2", "IPaddr") or os.environ.get("HATUI_NATIVE_IP") == "0":
        return None
    if shutil.which("ip") is None:
        return None
    try:
        params = map_ipaddr_args(spec)
    except Exception:
        return None
    nic = params.get("nic", "")
    if (
        not nic
        or ":" in nic
        or not isinstance(ipaddress.ip_address(params["ip"]), ipaddress.IPv4Address)
    ):
        return None
    return NativeIPAddr(spec, options, params)


class NativeIPAddr(Agent):
    """Adds/removes one IPv4 address on one interface and announces it by ARP."""

    def __init__(self, spec: ResourceSpec, options: AgentOptions, params: dict[str, str]) -> None:
        super().__init__(spec, options)
        self.ip = params["ip"]
        self.nic = params["nic"]
        self.cidr = params.get("cidr_netmask", "32")
        self.broadcast = params.get("broadcast", "+")

    @property
    def path(self) -> str:
        """Shown in ``Running`` lines."""
        return f"built-in {self.spec.script}"

    def argv(self, action: str) -> list[str]:
        """The ``ip`` command behind ``action``."""
        if action == "start":
            return [
                "ip",
                "-4",
                "addr",
                "add",
                f"{self.ip}/{self.cidr}",
                "brd",
                self.broadcast,
                "dev",
                self.nic,
            ]
        if action == "stop":
            return ["ip", "-4", "addr", "del", f"{self.ip}/{self.cidr}", "dev", self.nic]
        return ["ip", "-o", "-4", "addr", "show", "dev", self.nic]

    async def _ip(self, action: str) -> tuple[bool, str]:
        argv = [*self.options.command_prefix, *self.argv(action)]
        result = await run_program(
            argv, env=self.options.base_env(), timeout=self.options.timeout_for(action)
        )
        return result.ok, result.stderr.strip() or result.stdout.strip() or result.describe()

    async def _present(self) -> bool | None:
        if not self.options.command_prefix:
            found = interface_has_address(self.nic, self.ip)
            if found is not None:
                return found
        argv = [*self.options.command_prefix, *self.argv("status")]
        result = await run_program(
            argv, env=self.options.base_env(), timeout=self.options.timeout_for("status"), log=False
        )
        if not result.ok:
            return None
        return f" {self.ip}/" in result.stdout

    async def start(self) -> ActionResult:
        """Add the address (if missing) and send gratuitous ARPs."""
        logger.info("Running %s", self.display("start"))
        ok, detail = await self._ip("start")
        if not ok and not (await self._present()):
            logger.error("Return code 1 from %s: %s", self.path, detail)
            return ActionResult("start", False, ResourceState.FAILED, detail)
        self._announce()
        return ActionResult("start", True, ResourceState.RUNNING)

    def _announce(self) -> None:
        if self.options.command_prefix:
            return  # tests that run commands elsewhere cannot use our raw socket
        self._cancel_announcement()
        key = (self.ip, self.nic)
        task = asyncio.get_running_loop().create_task(
            send_gratuitous_arp(self.ip, self.nic, count=ARP_COUNT, interval=ARP_INTERVAL)
        )
        _announcing[key] = task
        task.add_done_callback(lambda done: _forget_announcement(key, done))

    def _cancel_announcement(self) -> None:
        """Drop ARP repeats still pending: an address being removed must not be announced
        (they would point the neighbours at us after the peer took it over)."""
        task = _announcing.pop((self.ip, self.nic), None)
        if task is not None and not task.done():
            task.cancel()
            logger.info("Gratuitous ARPs for %s on %s cancelled", self.ip, self.nic)

    async def stop(self) -> ActionResult:
        """Remove the address; already absent counts as stopped (LSB rule)."""
        logger.info("Running %s", self.display("stop"))
        self._cancel_announcement()
        present = await self._present()
        if present is False:
            return ActionResult("stop", True, ResourceState.STOPPED)
        ok, detail = await self._ip("stop")
        if not ok and await self._present():
            logger.error("Return code 1 from %s: %s", self.path, detail)
            return ActionResult("stop", False, ResourceState.FAILED, detail)
        return ActionResult("stop", True, ResourceState.STOPPED)

    async def status(self) -> ActionResult:
        """Running when the address is on the interface."""
        present = await self._present()
        if present is None:
            return ActionResult(
                "status", False, ResourceState.FAILED, f"cannot list addresses of {self.nic}"
            )
        state = ResourceState.RUNNING if present else ResourceState.STOPPED
        return ActionResult("status", True, state)


def _forget_announcement(key: tuple[str, str], task: asyncio.Task[object]) -> None:
    """Done callback: remove ``task`` unless a newer announcement replaced it."""
    if _announcing.get(key) is task:
        del _announcing[key]
