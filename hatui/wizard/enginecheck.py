"""The engine's own ``--check-config`` on the files the review is about to write.

The review validates in-process with ``engine.config.load_config``, which only reads
files. What only running a program can tell, a STONITH plugin's answer (``stonith -t
TYPE -n``, an external plugin's ``getconfignames``: a parameter it needs and was not
given), the engine learns when it starts, and refuses to start on. So when the files
name a STONITH device, the review asks the engine that same question: ``haengine
--check-config`` on a scratch copy, as a child process through the one runner, off
the UI thread, within a timeout. Its verdict is the engine's, not an imitation.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from engine.process.runner import run_program_sync
from hatui.wizard.scratch import scratch_copy, target_prefix, unscratch

CHECK_TIMEOUT_S = 45.0
"""Longer than the engine's own STONITH probe timeout (stonith_timeout, 30 s by
default): the engine reports a plugin that hangs; this only bounds the engine."""
EXIT_REFUSED = 6
"""``haengine --check-config``: the configuration is not usable."""


@dataclass(frozen=True, slots=True)
class EngineVerdict:
    """What ``haengine --check-config`` said of the files.

    ``accepted`` is None when the check itself could not run (the reason in
    ``problems``); ``problems`` are its error lines, file names as the operator knows them.
    """

    accepted: bool | None
    problems: tuple[str, ...] = ()

    def describe(self) -> str:
        """The review's line(s) for this verdict (plain text)."""
        if self.accepted:
            return "✔ STONITH device probed: haengine --check-config accepts the files"
        if self.accepted is False:
            return "\n".join(["✖ haengine --check-config refuses the files:", *self.problems])
        return "\n".join(["✖ haengine --check-config could not run:", *self.problems])

    def refusal(self) -> str:
        """Why writing is refused ("" when the engine accepts the files)."""
        if self.accepted:
            return ""
        first = self.problems[0] if self.problems else "no reason given"
        if self.accepted is False:
            return f"the engine refuses the files: {first}"
        return f"the engine's check could not run: {first}"


def engine_command(folder: Path, node: str) -> list[str]:
    """``haengine --check-config`` of this Python (the engine installed with hatui)."""
    argv = [sys.executable, "-m", "engine.programs.haengine", "--check-config"]
    argv += ["--config-dir", str(folder)]
    return argv + (["--node", node] if node else [])


def engine_check(
    files: Mapping[str, str],
    node: str,
    config_dir: Path | None,
    timeout: float = CHECK_TIMEOUT_S,
) -> EngineVerdict:
    """Run the engine's check on ``files`` (blocking: call it from a worker thread)."""
    with scratch_copy(files, config_dir) as folder:
        result = run_program_sync(engine_command(folder, node), timeout=timeout, log=False)
        out = unscratch(result.stdout, folder)
        err = unscratch(result.stderr, folder, target_prefix(config_dir))
    if result.ok:
        return EngineVerdict(True)
    errors = tuple(line for line in out.splitlines() if ": error: " in line)
    if result.returncode == EXIT_REFUSED:
        summary = out.strip().splitlines()[-1:] if out.strip() else []
        return EngineVerdict(False, errors or tuple(summary))
    last = err.strip().splitlines()[-1:] if err.strip() else []
    return EngineVerdict(None, (result.describe(), *last))
