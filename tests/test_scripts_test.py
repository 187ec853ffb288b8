"""``./scripts/test`` ends with pytest's summary line however it is called (README)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"\d+ passed in [\d.]+s")


def test_the_test_script_prints_the_summary_line_even_with_q() -> None:
    """``-q`` on top of the script's own ``-q`` used to hide the summary line."""
    argv = [str(ROOT / "scripts" / "test"), "-q", "--quiet", "tests/config/test_timeparse.py"]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert SUMMARY.search(done.stdout.strip().splitlines()[-1]), done.stdout
