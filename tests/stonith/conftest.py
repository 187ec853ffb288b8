"""Helpers for the STONITH unit tests: configs with one stonith line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.config.model import AuthConfig, ClusterConfig, SourceRef, StonithSpec, Timing

SCRIPTS = Path(__file__).parent / "scripts"


def cluster_config(config_dir: Path, *specs: StonithSpec, node: str = "alpha") -> ClusterConfig:
    """A two-node configuration whose stonith lines are ``specs``."""
    return ClusterConfig(
        config_dir=str(config_dir),
        node_name=node,
        nodes=("alpha", "bravo"),
        timing=Timing(),
        media=(),
        auth=AuthConfig(send_index=1, keys=()),
        stonith=tuple(specs),
    )


def host_line(plugin: str, params: str, line: int = 7) -> StonithSpec:
    """``stonith_host * <plugin> <params>`` as the ha.cf parser records it."""
    return StonithSpec("stonith_host", "*", plugin, params, SourceRef("ha.cf", line))


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A config dir with the test external plugin installed as external/testdev."""
    external = tmp_path / "stonith" / "external"
    external.mkdir(parents=True)
    shutil.copy(SCRIPTS / "testdev", external / "testdev")
    return tmp_path
