"""The golden scenario file: read it into steps, write it back with new expectations.

A file is a comment header, the configuration files (``--- ha.cf``, ``--- haresources``
and optionally ``--- hatui.conf``, ``--- authkeys``, ``--- runner``), then ``--- script``:
input lines at column 0, each followed by its expected output, indented. Comments
(``#`` at column 0) and blank lines belong to the input that follows them, so
rewriting the expectations keeps them where the author put them. The format is
documented in ``docs/architecture.md`` ("Golden scenarios").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

SECTION = "--- "
SCRIPT = "script"
SUFFIX = ".scn"


class ScenarioError(Exception):
    """The file cannot be replayed as written (its line is in the message)."""


class Divergence(ScenarioError):
    """The policy did not ask for what the script answers (a result for an action that
    is not pending, an input for a node that is not running): the behaviour changed.

    The runner prints it in place of the input's output and goes on, so the change
    shows up in the diff like any other.
    """


DIVERGED = "!! "
"""Prefix of the output line that reports a ``Divergence``."""


@dataclass
class Step:
    """One input line and the output expected after it.

    Step 0 of every scenario has no input: its expectations are the state of the
    nodes that run from the start, before the first input.
    """

    line_no: int
    text: str
    leading: list[str] = field(default_factory=list)
    """Blank and comment lines just before the input, verbatim."""
    expected: list[str] = field(default_factory=list)


@dataclass
class Scenario:
    """A parsed scenario file."""

    path: Path
    header: list[str]
    sections: dict[str, list[str]]
    steps: list[Step]
    trailer: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The file name without ``.scn`` (what ``python -m tests.golden NAME`` takes)."""
        return self.path.name.removesuffix(SUFFIX)

    def text(self, outputs: list[list[str]] | None = None) -> str:
        """The file as written, or with ``outputs[i]`` as the expectation of step ``i``."""
        lines = list(self.header)
        for name, body in self.sections.items():
            lines.append(SECTION + name)
            lines.extend(body)
        lines.append(SECTION + SCRIPT)
        for index, step in enumerate(self.steps):
            lines.extend(step.leading)
            if index:
                lines.append(step.text)
            lines.extend(outputs[index] if outputs is not None else step.expected)
        lines.extend(self.trailer)
        return "\n".join(lines) + "\n"


def load(path: Path) -> Scenario:
    """Parse ``path``; a file without ``--- script`` is refused."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header: list[str] = []
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for number, line in enumerate(lines, 1):
        if line.startswith(SECTION):
            name = line[len(SECTION) :].strip()
            if name == SCRIPT:
                return _script(path, header, sections, lines[number:], number)
            if name in sections:
                raise ScenarioError(f"{path}:{number}: section {name} given twice")
            current = sections[name] = []
        elif current is None:
            header.append(line)
        else:
            current.append(line)
    raise ScenarioError(f"{path}: no '--- script' section")


def _script(
    path: Path, header: list[str], sections: dict[str, list[str]], body: list[str], offset: int
) -> Scenario:
    steps = [Step(offset, "")]
    pending: list[str] = []
    for number, line in enumerate(body, offset + 1):
        if not line.strip() or line.startswith("#"):
            pending.append(line.rstrip())
        elif line[0].isspace():
            if pending:
                raise ScenarioError(
                    f"{path}:{number}: expected output must follow its input directly "
                    "(put comments and blank lines before the input)"
                )
            steps[-1].expected.append(line.rstrip())
        else:
            steps.append(Step(number, line.rstrip(), pending))
            pending = []
    return Scenario(path, header, sections, steps, pending)
