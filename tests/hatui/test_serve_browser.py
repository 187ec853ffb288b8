"""``hatui serve`` in headless Chromium: the page renders the console attached to a real
engine, makes no request that leaves this machine, and the browser tab's console is
gone within 5 s after the browser is killed (SIGKILL: no goodbye on the websocket).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from hatui.demo import DemoCluster
from hatui.serve import LOCAL_HOSTS, serve_available
from tests.hatui.browser import browser, chromium_path
from tests.hatui.test_serve import fetch, free_localhost_port

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed"),
    pytest.mark.skipif(not serve_available(), reason="textual-serve is not installed"),
]


@pytest.fixture(scope="module")
def engine() -> Iterator[Path]:
    """One real demo engine (alpha alone): the served console shows live data."""
    cluster = DemoCluster()
    try:
        cluster.write_config()
        cluster.start("alpha")
        assert asyncio.run(cluster.wait_ready("alpha")), cluster.engine_output("alpha")
        yield cluster.socket_path("alpha")
    finally:
        cluster.stop()


@pytest.fixture
def served(engine: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_localhost_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hatui", "serve", "--socket", str(engine), "--port", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        fetch(f"http://127.0.0.1:{port}/")  # listening
        yield port, proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


def consoles(socket_path: Path) -> list[int]:
    """Pids of served consoles (``hatui --socket PATH --read-only``) now running."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--read-only" in argv and str(socket_path).encode() in argv and b"hatui" in argv:
            pids.append(int(entry.name))
    return pids


async def wait_for(check: object, timeout: float) -> float:
    """Seconds until ``check()`` held (polled every 50 ms); fails after ``timeout``."""
    start = time.monotonic()
    while not check():  # type: ignore[operator]
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout} s")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def test_page_renders_offline_and_the_console_ends_with_the_browser(
    served: tuple[int, subprocess.Popen[bytes]], engine: Path, tmp_path: Path
) -> None:
    port, server = served
    (tmp_path / "profile").mkdir()
    async with browser(tmp_path / "profile") as chrome:
        await chrome.call("Page.navigate", url=f"http://localhost:{port}/")
        first_byte = "document.body.classList.contains('-first-byte')"
        for _ in range(200):  # the terminal got the console's first frame
            if await chrome.evaluate(first_byte):
                break
            await asyncio.sleep(0.1)
        assert await chrome.evaluate(first_byte), "the console never drew in the page"
        assert len(consoles(engine)) == 1
        await asyncio.sleep(1.5)
        await chrome.screenshot(tmp_path / "served.png")
        outside = [u for u in chrome.requests if urlsplit(u).hostname not in LOCAL_HOSTS]
        assert outside == [], f"requests left this machine: {outside}"
        assert any(u.endswith("/static/fonts/RobotoMono-VariableFont_wght.ttf")
                   for u in chrome.requests)  # fmt: skip
        assert any(u.startswith(f"ws://localhost:{port}/ws") for u in chrome.requests)
        chrome.kill()  # abrupt: SIGKILL, no websocket close frame
        gone_after = await wait_for(lambda: not consoles(engine), timeout=5.0)
    assert server.poll() is None  # the server itself stays
    print(f"served console gone {gone_after:.2f} s after the browser was killed")
    page = await asyncio.to_thread(fetch, f"http://127.0.0.1:{port}/")
    assert "fonts.googleapis.com" not in page
