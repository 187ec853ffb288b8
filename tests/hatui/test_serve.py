"""``hatui serve`` (browser console) and the read-only console it spawns."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from hatui.serve import READ_ONLY_REASON, ReadOnlyApp, console_command, serve_available
from tests.hatui.sample import RECEIVED_AT, status

ROOT = Path(__file__).resolve().parents[2]


def free_localhost_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_served_console_is_read_only_unless_allowed(tmp_path: Path) -> None:
    sock = tmp_path / "control.sock"
    assert console_command(sock).endswith(f"-m hatui --socket {sock} --read-only")
    assert "--read-only" not in console_command(sock, allow_actions=True)


async def test_read_only_app_greys_out_and_refuses_actions() -> None:
    app = ReadOnlyApp(status=status(), clock=lambda: RECEIVED_AT)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        assert app.check_action("standby", ()) is None  # shown greyed out
        assert app.check_action("stonith", ()) is None
        app.send_command("stonith", node="bravo")  # even a direct call is refused
        await pilot.pause()
        rows = app.query_one("TimelinePanel").rows  # type: ignore[attr-defined]
        assert any("refused" in r.text and READ_ONLY_REASON in r.text for r in rows)
        assert app.picture is not None
        assert any("actions disabled" in b.text for b in app.picture.banners)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    if not serve_available():
        pytest.skip("textual-serve is not installed (optional extra: pip install '.[serve]')")
    port = free_localhost_port()
    argv = [sys.executable, "-m", "hatui", "serve", "--socket", str(tmp_path / "none.sock")]
    proc = subprocess.Popen(
        [*argv, "--port", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        yield port, proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def fetch(url: str, timeout: float = 20.0) -> str:
    """GET ``url`` once the server listens (polls while the connection is refused)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                return str(reply.read().decode())
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.mark.slow
def test_serve_answers_on_localhost_with_the_console_page(
    server: tuple[int, subprocess.Popen[bytes]],
) -> None:
    port, proc = server
    page = fetch(f"http://127.0.0.1:{port}/")
    assert proc.poll() is None
    assert 'class="textual-terminal"' in page  # textual-serve's terminal page
    assert f"http://localhost:{port}/static/js/textual.js" in page
    # bound to localhost only: not reachable on another local address
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        assert probe.connect_ex(("127.0.0.2", port)) != 0
