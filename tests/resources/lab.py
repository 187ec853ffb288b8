"""Test helpers: a config dir whose resource.d holds the LSB test script."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from engine.config.model import GroupSpec, ResourceSpec, SourceRef
from engine.resources.agents import AgentOptions
from engine.resources.resolve import AgentResolver

SCRIPTS = Path(__file__).parent / "scripts"


@dataclass
class LsbLab:
    """A tmp config dir with resource.d/lsbtest, its state dir and a resolver."""

    config_dir: Path
    init_dir: Path
    state: Path
    ocf_root: Path = Path("/usr/lib/ocf")

    @property
    def script(self) -> Path:
        return self.config_dir / "resource.d" / "lsbtest"

    def options(self, **overrides: object) -> AgentOptions:
        env = {"PATH": os.environ["PATH"], "LSBTEST_DIR": str(self.state)}
        values: dict[str, object] = {"env": env, **overrides}
        return AgentOptions(**values)  # type: ignore[arg-type]

    def resolver(self, **overrides: object) -> AgentResolver:
        return AgentResolver(
            config_dir=self.config_dir,
            init_dir=self.init_dir,
            ocf_root=self.ocf_root,
            options=self.options(**overrides),
        )

    def mark(self, name: str, what: str, text: str = "") -> None:
        """Create marker ``<name>.<what>`` (e.g. fail-start, hang-stop, status-text)."""
        (self.state / f"{name}.{what}").write_text(text)

    def journal(self) -> list[str]:
        path = self.state / "journal"
        return path.read_text().splitlines() if path.exists() else []

    def running(self, name: str) -> bool:
        return (self.state / f"{name}.state").exists()


def spec(token: str) -> ResourceSpec:
    """A ResourceSpec as the haresources parser makes it (name::a::b)."""
    script, *args = token.split("::")
    return ResourceSpec(token=token, script=script, args=tuple(args))


def group(node: str, *tokens: str) -> GroupSpec:
    return GroupSpec(node, tuple(spec(t) for t in tokens), SourceRef("haresources", 1))


def make_lab(tmp_path: Path) -> LsbLab:
    """Lay out ha.d/resource.d/lsbtest, an empty init.d and a state dir under tmp_path."""
    config_dir = tmp_path / "ha.d"
    (config_dir / "resource.d").mkdir(parents=True)
    init_dir = tmp_path / "init.d"
    init_dir.mkdir()
    state = tmp_path / "state"
    state.mkdir()
    target = config_dir / "resource.d" / "lsbtest"
    shutil.copy(SCRIPTS / "lsbtest", target)
    target.chmod(0o755)
    return LsbLab(config_dir, init_dir, state)
