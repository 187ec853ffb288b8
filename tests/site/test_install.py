"""Install the built wheel into a fresh venv: the three commands run, the docs' example
configurations pass ``--check-config``, and the shipped unit passes systemd-analyze."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "packaging" / "haengine.service"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


def run(*argv: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, timeout=timeout, cwd="/"
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A clean venv (no system site-packages) with the wheel and its dependencies."""
    tmp = tmp_path_factory.mktemp("install")
    wheels = tmp / "wheels"
    built = run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", wheels, ROOT)
    if built.returncode != 0:
        pytest.skip(f"cannot build the wheel here (no hatchling/network?): {built.stderr[-500:]}")
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env_dir)
    wheel = next(wheels.glob("hatui-*.whl"))
    done = run(env_dir / "bin" / "python", "-m", "pip", "install", "-q", wheel, timeout=300)
    if done.returncode != 0:
        pytest.skip(f"cannot install the dependencies (no package index?): {done.stderr[-500:]}")
    yield env_dir


@pytest.mark.slow
def test_three_commands_run_from_the_venv(installed: Path) -> None:
    bindir = installed / "bin"
    version = run(bindir / "haengine", "--version")
    assert version.returncode == 0 and version.stdout.startswith("haengine "), version.stderr
    for program in ("hactl", "hatui"):
        out = run(bindir / program, "--help")
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith(f"usage: {program}")
    # The venv's python does not see the source tree: the engine came from the wheel.
    where = run(bindir / "python", "-c", "import engine; print(engine.__file__)")
    assert str(installed) in where.stdout


@pytest.mark.slow
@pytest.mark.parametrize("example", ["web", "nfs"])
def test_docs_example_passes_check_config(installed: Path, example: str, tmp_path: Path) -> None:
    shipped = installed / "share" / "hatui" / "examples" / example
    assert (shipped / "ha.cf").read_text() == (
        ROOT / "docs/examples" / example / "ha.cf"
    ).read_text()
    config = tmp_path / "ha.d"
    shutil.copytree(shipped, config)
    (config / "authkeys").chmod(0o600)  # as docs/operations.md says
    out = run(installed / "bin" / "haengine", "--check-config", "--config-dir", config,
              "--node", "alpha")  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "configuration OK" in out.stdout
    export = run(installed / "bin" / "hactl", "export", "pacemaker", "--config-dir", config)
    assert export.returncode == 0 and "<cib " in export.stdout, export.stderr


@pytest.mark.slow
@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_installed_unit_passes_systemd_analyze(installed: Path, tmp_path: Path) -> None:
    shipped = installed / "share" / "hatui" / "haengine.service"
    assert shipped.read_text() == UNIT.read_text()
    # systemd resolves a bare ExecStart name in /usr/local/bin, /usr/bin...: point it at
    # the venv's haengine, exactly as `pip install` into the system would put it there.
    unit = tmp_path / "haengine.service"
    haengine = installed / "bin" / "haengine"
    unit.write_text(UNIT.read_text().replace("ExecStart=haengine ", f"ExecStart={haengine} "))
    out = run(SYSTEMD_ANALYZE or "systemd-analyze", "verify", unit)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stderr.strip() == "", out.stderr


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_unit_shape(tmp_path: Path) -> None:
    """What the unit promises: notify readiness, graceful stop, the documented paths."""
    text = UNIT.read_text()
    for line in (
        "Type=notify",
        "Restart=on-failure",
        "ExecStart=haengine --config-dir /etc/ha.d --state-dir /var/lib/heartbeat "
        "--socket /run/hatui/control.sock --quiet",
        "KillMode=mixed",
        "TimeoutStopSec=10min",
        "RuntimeDirectory=hatui",
    ):
        assert line in text.splitlines(), line
    broken = tmp_path / "haengine.service"
    broken.write_text(text.replace("ExecStart=haengine ", "ExecStart=/nonexistent/haengine "))
    out = run(SYSTEMD_ANALYZE or "systemd-analyze", "verify", broken)
    assert out.returncode != 0  # the verify step above can fail
