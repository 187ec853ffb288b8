"""``hatui --pacemaker`` from the command line, without a cluster."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hatui.backends.pacemaker.cli import options_from_args
from hatui.cli import build_parser

ROOT = Path(__file__).resolve().parents[3]


def test_options() -> None:
    args = build_parser().parse_args(
        ["--pacemaker", "--pcmk-exec", "ssh -o BatchMode=yes root@n1", "--pcmk-log", "/x.log",
         "--pcmk-interval", "2"]
    )  # fmt: skip
    options = options_from_args(args)
    assert options.tools.prefix == ("ssh", "-o", "BatchMode=yes", "root@n1")
    assert options.logs == (Path("/x.log"),)
    assert options.interval_s == 2.0
    default = options_from_args(build_parser().parse_args(["--pacemaker"]))
    assert default.tools.prefix == () and default.logs is None and default.interval_s == 1.0


def test_once_without_a_reachable_cluster_says_why() -> None:
    """The tools cannot run (an empty PATH behind the prefix): exit 1, the tool's words."""
    proc = subprocess.run(
        [sys.executable, "-m", "hatui", "--pacemaker", "--once",
         "--pcmk-exec", "env PATH=/nonexistent"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 1
    # the tool is named, not the prefix; then what env itself said
    said = proc.stderr.removeprefix("hatui: cannot read the Pacemaker status: ")
    assert said.startswith(("crm_mon: env: ", "corosync-cmapctl: env: ")), proc.stderr
    assert "No such file or directory" in said
