"""Headless Chromium driven over the DevTools protocol, for ``hatui serve`` tests.

Chromium runs with a private profile, no background networking, and a host resolver
that fails every name but localhost, so a page that tried to reach the internet could
not, and every request it made is recorded (``Network.requestWillBeSent``) for the test
to inspect. The DevTools connection is a websocket (aiohttp, which textual-serve needs
anyway).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--no-default-browser-check", "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost",
)  # fmt: skip


def chromium_path() -> str | None:
    """Debian's ``chromium`` (or another Chromium/Chrome on PATH)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Browser:
    """One headless Chromium process and a DevTools session on its first page."""

    def __init__(self, profile: Path, size: tuple[int, int] = (1200, 800)) -> None:
        self.profile = profile
        self.size = size
        self.process: subprocess.Popen[bytes] | None = None
        self.requests: list[str] = []
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._session: Any = None
        self._socket: Any = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self, timeout: float = 30.0) -> None:
        """Launch Chromium on about:blank and attach to its page."""
        import aiohttp

        binary = chromium_path()
        assert binary is not None, "no chromium on PATH"
        argv = [
            binary, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}",
            "--remote-debugging-port=0", f"--window-size={self.size[0]},{self.size[1]}",
            "about:blank",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("chromium did not open its DevTools port")
            await asyncio.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        self._session = aiohttp.ClientSession()
        async with self._session.get(f"http://127.0.0.1:{port}/json/list") as reply:
            targets = await reply.json()
        page = next(t for t in targets if t.get("type") == "page")
        self._socket = await self._session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        self._reader = asyncio.create_task(self._read())
        await self.call("Network.enable")
        await self.call("Page.enable")

    async def _read(self) -> None:
        async for message in self._socket:
            data = json.loads(message.data)
            if "id" in data and data["id"] in self._pending:
                self._pending.pop(data["id"]).set_result(data)
            elif data.get("method") == "Network.requestWillBeSent":
                self.requests.append(data["params"]["request"]["url"])
            elif data.get("method") == "Network.webSocketCreated":
                self.requests.append(data["params"]["url"])

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One DevTools command; its ``result``."""
        number = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[number] = future
        await self._socket.send_json({"id": number, "method": method, "params": params})
        reply = await asyncio.wait_for(future, 30)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return dict(reply.get("result", {}))

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    async def screenshot(self, path: Path) -> Path:
        """Save the page as a PNG."""
        shot = await self.call("Page.captureScreenshot", format="png")
        await asyncio.to_thread(path.write_bytes, base64.b64decode(shot["data"]))
        return path

    def kill(self) -> None:
        """SIGKILL the whole browser (an abrupt end: no websocket close frame is sent)."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    async def close(self) -> None:
        """Kill the browser and close the DevTools session."""
        self.kill()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._session is not None:
            await self._session.close()


@contextlib.asynccontextmanager
async def browser(profile: Path, size: tuple[int, int] = (1200, 800)) -> AsyncIterator[Browser]:
    """A started Browser, killed on the way out."""
    chrome = Browser(profile, size)
    try:
        await chrome.start()
        yield chrome
    finally:
        await chrome.close()
