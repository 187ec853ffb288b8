"""``hatui demo`` as a non-root user: the engine's own user may act, another user may not.

Run as root, the test drops to user nobody with setpriv. Python lives under /root here,
which nobody cannot read, so the child keeps CAP_DAC_READ_SEARCH (read any file, nothing
else): its uid, which is all the control socket looks at, is nobody's. Run as a normal
user, this test is skipped and ``test_live`` is the same check (its engines and its
console run as that user).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.control.conftest import NOBODY, run_client_as

ROOT = Path(__file__).resolve().parents[2]
OTHER_UID = 65533
"""A non-root uid other than nobody's, in no group."""

pytestmark = pytest.mark.slow


def as_nobody(argv: list[str]) -> list[str]:
    """``argv`` run as uid/gid nobody, no extra groups, able only to read any file."""
    return [
        "setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups",
        "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search", *argv,
    ]  # fmt: skip


def nobody_available() -> str:
    """Why a process cannot be started as nobody here ("" when it can)."""
    if os.getuid() != 0:
        return "needs root to start the demo as user nobody (test_live covers own-user runs)"
    if shutil.which("setpriv") is None:
        return "setpriv (util-linux) is not installed"
    probe = subprocess.run(
        as_nobody([sys.executable, "-c", "import textual, engine"]),
        cwd=ROOT, capture_output=True, check=False, env=nobody_env(),
    )  # fmt: skip
    return "" if probe.returncode == 0 else f"cannot run Python as nobody: {probe.stderr!r}"


def nobody_env() -> dict[str, str]:
    env = dict(os.environ, HOME="/tmp")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory every user can traverse (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="hatui-nonroot-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def test_demo_user_may_act_and_another_user_may_not(open_dir: Path) -> None:
    why = nobody_available()
    if why:
        pytest.skip(why)
    proc = await asyncio.create_subprocess_exec(
        *as_nobody([sys.executable, "-m", "tests.hatui.nonroot_demo"]),
        cwd=ROOT, env=nobody_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        if not line:
            raise AssertionError((await proc.stderr.read()).decode(errors="replace")[-3000:])
        seen = json.loads(line)
        assert "error" not in seen, seen["error"]
        peer = seen["peer"]
        assert (peer["uid"], peer["can_act"]) == (NOBODY, True)
        assert peer["reason"] == f"same user as the engine (nobody, uid {NOBODY}) may act"
        assert seen["block_reason"] == ""
        assert seen["outcome"] == f"link {seen['link']}: alpha: cut; bravo: cut"
        # another non-root user, not in group haclient, is refused on the same engine
        os.chmod(seen["base"], 0o755)  # the demo's directory is private to its user
        other = await run_client_as(
            OTHER_UID, OTHER_UID, [], Path(seen["socket"]), open_dir / "other"
        )
        assert other["hello"]["result"]["peer"]["can_act"] is False
        assert other["hello"]["result"]["peer"]["reason"] == (
            f"not root, not the engine's user (nobody, uid {NOBODY}) and not in group 'haclient'"
        )
        assert other["standby"]["code"] == "forbidden"
    finally:
        if proc.returncode is None:
            proc.stdin.write(b"stop\n")
            await proc.stdin.drain()
        assert await asyncio.wait_for(proc.wait(), 30) == 0
