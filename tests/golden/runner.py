"""Replay a scenario against the real policy and compare with what the file expects.

The configuration sections are written to a temporary directory and read with the
engine's own loader (``load_config``), once per simulated node, exactly as
``haengine`` reads them; the policy gets the STONITH knobs of hatui.conf as the
daemon passes them. Nothing else of the engine runs: no membership, no processes.
"""

from __future__ import annotations

import difflib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from engine.config.loader import load_config
from engine.config.model import ClusterConfig
from tests.golden import inputs
from tests.golden.scenario import DIVERGED, SUFFIX, Divergence, Scenario, ScenarioError, load
from tests.golden.sim import Sim

SCENARIOS = Path(__file__).parent / "scenarios"
CONFIG_FILES = ("ha.cf", "haresources", "hatui.conf", "authkeys")
RUNNER = "runner"
DEFAULT_AUTHKEYS = ["auth 1", "1 sha1 golden-scenarios"]


@dataclass
class Outcome:
    """The replay of one scenario: the file as it is and as the policy says it should be."""

    scenario: Scenario
    expected: str
    actual: str

    @property
    def passed(self) -> bool:
        return self.expected == self.actual

    @property
    def diverged(self) -> bool:
        """Some input could not be applied (its action was never asked for...)."""
        return any(line.lstrip().startswith(DIVERGED) for line in self.actual.splitlines())

    def diff(self) -> str:
        """A unified diff, expected (the file) to actual (today's policy)."""
        name = self.scenario.path.name
        lines = difflib.unified_diff(
            self.expected.splitlines(keepends=True),
            self.actual.splitlines(keepends=True),
            f"expected/{name}",
            f"actual/{name}",
            n=4,
        )
        return "".join(lines)


def all_paths() -> list[Path]:
    """Every scenario file, by name."""
    return sorted(SCENARIOS.glob("*" + SUFFIX))


def find(names: list[str]) -> list[Path]:
    """Scenario files by name (with or without ``.scn``, or a path); all when empty."""
    if not names:
        return all_paths()
    out = []
    for name in names:
        path = Path(name)
        if not path.exists():
            path = SCENARIOS / (name.removesuffix(SUFFIX) + SUFFIX)
        if not path.exists():
            raise ScenarioError(f"no scenario {name!r} in {SCENARIOS}")
        out.append(path)
    return out


def replay(path: Path) -> Outcome:
    """Run the scenario at ``path`` and render every step's output."""
    scenario = load(path)
    configs, order, down = _configs(scenario)
    sim = Sim(configs, order)
    outputs: list[list[str]] = []
    with sim.capture.attached():
        for name in order:
            if name not in down:
                sim.boot(name)
        outputs.append(sim.lines)
        for step in scenario.steps[1:]:
            sim.lines = []
            try:
                inputs.apply(sim, inputs.parse(step.text))
            except Divergence as exc:
                sim.lines.append(f"    {DIVERGED}cannot apply: {exc}")
            except ScenarioError as exc:
                raise ScenarioError(f"{path}:{step.line_no}: {exc}") from None
            outputs.append(sim.lines)
    expected = path.read_text(encoding="utf-8")
    return Outcome(scenario, expected, scenario.text(outputs))


def update(outcome: Outcome) -> bool:
    """Write the actual output into the file; True when it changed.

    A replay where an input could not be applied is not written: its script no longer
    fits the policy and must be edited first.
    """
    if outcome.passed:
        return False
    if outcome.diverged:
        raise ScenarioError(
            f"{outcome.scenario.path}: not updated: some inputs no longer apply "
            f"(lines starting '{DIVERGED}'); edit the script first"
        )
    outcome.scenario.path.write_text(outcome.actual, encoding="utf-8")
    return True


def _configs(scenario: Scenario) -> tuple[dict[str, ClusterConfig], list[str], set[str]]:
    """Each simulated node's configuration, the nodes in order, the ones not started."""
    order, down = _runner_section(scenario)
    configs = {}
    with tempfile.TemporaryDirectory(prefix="golden-") as tmp:
        folder = Path(tmp)
        _write_files(scenario, folder)
        for name in order:
            result = load_config(folder, name, resolve=lambda _host: "127.0.0.1")
            if result.config is None:
                issues = "; ".join(str(issue) for issue in result.errors)
                raise ScenarioError(f"{scenario.path}: the configuration is refused: {issues}")
            configs[name] = result.config
    return configs, order, down


def _write_files(scenario: Scenario, folder: Path) -> None:
    for name in scenario.sections:
        if name not in (*CONFIG_FILES, RUNNER):
            raise ScenarioError(f"{scenario.path}: unknown section '--- {name}'")
    for name in CONFIG_FILES:
        body: list[str] | None = scenario.sections.get(name)
        if name == "authkeys" and body is None:
            body = DEFAULT_AUTHKEYS
        if body is not None:
            path = folder / name
            path.write_text("\n".join(body) + "\n", encoding="utf-8")
            path.chmod(0o600)


def _runner_section(scenario: Scenario) -> tuple[list[str], set[str]]:
    """``simulate NODE...`` (default: every ``node`` of ha.cf) and ``down NODE...``."""
    order: list[str] = []
    for text in scenario.sections.get("ha.cf", []):
        words = text.split("#")[0].split()
        if words[:1] == ["node"]:
            order.extend(w.lower() for w in words[1:])
    down: set[str] = set()
    for text in scenario.sections.get(RUNNER, []):
        words = text.split("#")[0].split()
        if words[:1] == ["simulate"]:
            order = words[1:]
        elif words[:1] == ["down"]:
            down.update(words[1:])
        elif words:
            raise ScenarioError(f"{scenario.path}: unknown runner line {text!r}")
    if not order:
        raise ScenarioError(f"{scenario.path}: no node to simulate")
    return order, down
