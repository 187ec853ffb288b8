"""The ``ssh`` device: reboot a node over ssh (testing only, as cluster-glue warns)."""

from __future__ import annotations

import os
import shutil

from engine.stonith.base import S_BADHOST, StonithPlugin, StonithResult

REBOOT_COMMAND = "echo 'sleep 2; /sbin/reboot -nf' | SHELL=/bin/sh at now >/dev/null 2>&1"
"""What cluster-glue's ssh plugin runs on the victim (reboot after we disconnected)."""


class SshPlugin(StonithPlugin):
    """cluster-glue's ``ssh`` plugin: ``ssh -l root HOST <reboot>``; needs key-based login."""

    program = "ssh"

    @property
    def device_id(self) -> str:
        """As cluster-glue names it."""
        return "ssh STONITH device"

    def argv(self, node: str) -> list[str]:
        """The ssh command line that reboots ``node``."""
        return [
            self.program,
            "-q",
            "-x",
            "-n",
            "-o",
            "BatchMode=yes",
            "-l",
            "root",
            node,
            REBOOT_COMMAND,
        ]

    async def reset(self, node: str) -> StonithResult:
        """Run the reboot command on ``node``."""
        hosts = await self.hosts() or []
        if node.lower() not in hosts:
            return StonithResult.failure(
                S_BADHOST, f"Device {self.device_id} cannot reset host {node}."
            )
        result = await self.run(self.argv(node), env=self._env())
        return StonithResult.from_program(result, f"ssh reboot of {node}")

    async def status(self) -> StonithResult:
        """OK when an ssh client is installed."""
        path = self._env().get("PATH")
        if shutil.which(self.program, path=path) is None:
            return StonithResult.failure(1, f"no {self.program} program found")
        return StonithResult.success(f"{self.device_id} OK")

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.ctx.env)
        return env
