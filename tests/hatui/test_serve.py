"""``hatui serve`` (browser console) and the read-only console it spawns."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from hatui.cli import build_parser, serve_attach
from hatui.serve import (
    READ_ONLY_REASON,
    ReadOnlyApp,
    console_command,
    engine_attach,
    external_urls,
    serve_available,
)
from tests.hatui.sample import RECEIVED_AT, status

ROOT = Path(__file__).resolve().parents[2]


def free_localhost_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_served_console_is_read_only_unless_allowed(tmp_path: Path) -> None:
    sock = tmp_path / "control.sock"
    assert console_command(engine_attach(sock)).endswith(f"-m hatui --socket {sock} --read-only")
    assert "--read-only" not in console_command(engine_attach(sock), allow_actions=True)


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--pacemaker", "--pcmk-exec", "ssh root@n1", "--pcmk-log", "/l/a.log"],
        ["--pacemaker", "--pcmk-exec", "ssh root@n1", "--pcmk-log", "/l/a.log", "serve"],
    ],
)
def test_serving_a_pacemaker_node_gives_each_tab_the_same_pacemaker_console(
    argv: list[str],
) -> None:
    """``hatui serve --pacemaker`` used to run the console in the terminal instead of
    serving it; each tab must attach to the same node the same way, read-only."""
    args = build_parser().parse_args(argv)
    command = shlex.split(console_command(serve_attach(args)))
    assert command[1:] == [
        "-m", "hatui", "--pacemaker", "--pcmk-exec", "ssh root@n1", "--pcmk-log", "/l/a.log",
        "--pcmk-interval", "1", "--read-only",
    ]  # fmt: skip
    engine = build_parser().parse_args(["serve", "--socket", "/run/x.sock"])
    assert serve_attach(engine) == ["--socket", "/run/x.sock"]


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
    # nothing from the internet: the web font comes from the server's own static files
    assert external_urls(page) == []
    assert f"http://localhost:{port}/static/fonts/RobotoMono-VariableFont_wght.ttf" in page
    # bound to localhost only: not reachable on another local address
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        assert probe.connect_ex(("127.0.0.2", port)) != 0


def test_serve_help_is_serves_own() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hatui", "serve", "--help"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert result.stdout.startswith("usage: hatui serve")
    assert "--allow-actions" in result.stdout and "--port" in result.stdout
    assert "--answers" not in result.stdout and "--once" not in result.stdout


def web_packet(meta: dict[str, object]) -> bytes:
    """A meta packet as textual-serve writes it to a console's stdin."""
    body = json.dumps(meta).encode()
    return b"M" + len(body).to_bytes(4, "big") + body


def served_console(sock: Path) -> tuple[subprocess.Popen[bytes], list[int]]:
    """The console exactly as textual-serve runs it for a browser tab (its web driver,
    stdin/stdout pipes); stdout is drained in a thread, the byte count kept."""
    env = dict(os.environ, TEXTUAL_DRIVER="textual.drivers.web_driver:WebDriver",
               TEXTUAL_FPS="60", COLUMNS="133", ROWS="36")  # fmt: skip
    proc = subprocess.Popen(
        shlex.split(console_command(engine_attach(sock))), cwd=ROOT, env=env, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    received = [0]

    def drain() -> None:
        assert proc.stdout is not None
        while chunk := os.read(proc.stdout.fileno(), 65536):
            received[0] += len(chunk)

    threading.Thread(target=drain, daemon=True).start()
    return proc, received


def test_served_console_exits_when_the_browser_leaves_during_start_up(tmp_path: Path) -> None:
    """A browser that closes right after loading sends its resize and the quit at once,
    before the first frame: Textual 8.2 then spun at a core for ever (hatui.lifeline)."""
    proc, _ = served_console(tmp_path / "none.sock")
    assert proc.stdin is not None
    proc.stdin.write(web_packet({"type": "resize", "width": 100, "height": 30}))
    proc.stdin.write(web_packet({"type": "quit"}))
    proc.stdin.flush()
    try:
        proc.wait(5)
    finally:
        proc.kill()
    assert proc.returncode == 0


def test_served_console_exits_when_its_server_goes_away(tmp_path: Path) -> None:
    proc, received = served_console(tmp_path / "none.sock")
    assert proc.stdin is not None
    deadline = time.monotonic() + 20
    while received[0] < 1000 and time.monotonic() < deadline:  # it is drawing
        time.sleep(0.05)
    assert received[0] >= 1000, "the served console did not draw"
    proc.stdin.close()  # the server is gone: no quit will ever come
    try:
        proc.wait(5)
    finally:
        proc.kill()
    assert proc.returncode == 0
