"""``hatui serve``: the same console in a browser, through textual-serve.

Rules of this module: textual-serve has no authentication, and every browser tab spawns
the console as a subprocess running as the server's user. So the server binds to
``localhost`` only (reach it through ``ssh -L``), and the console it spawns is
read-only unless ``--allow-actions`` was given: a browser tab must not be able to
STONITH a node by accident. textual-serve is an optional extra
(``pip install 'hatui[serve]'``), imported only when serving.

The page must work on a network without the internet: textual-serve's page links a
web font from fonts.googleapis.com, so the index page is rewritten on the way out to
drop every link or script that leaves this host and to take the same font (Roboto
Mono) from the files textual-serve serves itself. A console whose browser went away
ends itself (``hatui.lifeline``).
"""

from __future__ import annotations

import logging
import re
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hatui.app import HaTuiApp
from hatui.messages import ActionResult

logger = logging.getLogger(__name__)

HOST = "localhost"
DEFAULT_PORT = 8000
READ_ONLY_REASON = "read-only console (hatui --read-only / hatui serve)"


class ReadOnlyApp(HaTuiApp):
    """The console with every operator action greyed out and refused.

    Two locks: ``action_block_reason`` greys the keys out (footer, palette), and
    ``send_command`` (the one path every operator command takes to the engine) refuses,
    so a key added later cannot slip past the first lock.
    """

    TITLE = "hatui (read-only)"

    def action_block_reason(self) -> str:
        """Always blocked, whoever runs it."""
        return READ_ONLY_REASON

    def send_command(self, cmd: str, **args: Any) -> None:  # type: ignore[override]
        """Refuse instead of sending anything to the engine."""
        label = " ".join([cmd, *(str(v) for v in args.values())])
        self.post_message(ActionResult(label, "refused", READ_ONLY_REASON))


def engine_attach(socket_path: Path) -> list[str]:
    """The options that attach a console to the engine behind ``socket_path``."""
    return ["--socket", str(socket_path)]


def console_command(attach: Sequence[str], *, allow_actions: bool = False) -> str:
    """The shell command textual-serve runs for each browser tab: a console attached
    by ``attach`` (``engine_attach``, or the Pacemaker back end's options)."""
    argv = [sys.executable, "-m", "hatui", *attach]
    if not allow_actions:
        argv.append("--read-only")
    return shlex.join(argv)


LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
_EXTERNAL_TAG = re.compile(
    r"<(?:link|script)\b[^>]*?\b(?:href|src)\s*=\s*[\"'](?P<url>[a-z][a-z0-9+.-]*:)?//"
    r"(?P<host>[^/\"':]+)[^>]*>(?:\s*</script>)?",
    re.IGNORECASE,
)
LOCAL_FONT = """<style>
@font-face {{
  font-family: "Roboto Mono"; font-style: normal; font-weight: 100 900;
  src: url("{static}fonts/RobotoMono-VariableFont_wght.ttf") format("truetype");
}}
</style>
"""


def offline_page(html: str, static_url: str) -> str:
    """``html`` without tags that load anything from another host, plus a local font.

    ``static_url`` is where the server's own static files are (ends with ``/``).
    """

    def keep_local(match: re.Match[str]) -> str:
        return match.group(0) if match.group("host").lower() in LOCAL_HOSTS else ""

    page = _EXTERNAL_TAG.sub(keep_local, html)
    return page.replace("</head>", LOCAL_FONT.format(static=static_url) + "</head>", 1)


def external_urls(text: str) -> list[str]:
    """Every ``http(s)://`` URL in ``text`` whose host is not this machine (tests); an
    XML namespace name (``xmlns="http://www.w3.org/2000/svg"``) is a name, never fetched."""
    found = re.findall(r"(?<!xmlns=\")(?:https?|wss?)://[^\s\"'<>()]+", text)
    return [url for url in found if (urlsplit(url).hostname or "") not in LOCAL_HOSTS]


def serve_available() -> bool:
    """True when the optional textual-serve package is installed."""
    try:
        import textual_serve.server  # noqa: F401
    except ImportError:
        return False
    return True


def run_serve(
    attach: Sequence[str], port: int = DEFAULT_PORT, *, allow_actions: bool = False
) -> int:
    """Serve the console on ``http://localhost:PORT`` until interrupted (2: not installed);
    ``attach``: the options naming what each tab's console attaches to."""
    if not serve_available():
        print(
            "hatui serve: needs the optional textual-serve package "
            "(pip install 'hatui[serve]' or pip install textual-serve)",
            file=sys.stderr,
        )
        return 2
    command = console_command(attach, allow_actions=allow_actions)
    mode = "operator actions ALLOWED" if allow_actions else "read-only"
    print(f"hatui serve: http://{HOST}:{port}/ ({mode}; localhost only)", file=sys.stderr)
    logger.info("serving %r on %s:%d", command, HOST, port)
    offline_server(command, port).serve()
    return 0


def offline_server(command: str, port: int) -> Any:
    """textual-serve's server, whose index page loads nothing from the internet."""
    from aiohttp import web
    from textual_serve.server import Server

    class OfflineServer(Server):  # type: ignore[misc]
        async def handle_index(self, request: web.Request) -> web.Response:
            """The page textual-serve renders, rewritten by ``offline_page``."""
            rendered = await super().handle_index(request)
            html = rendered.text if isinstance(rendered, web.Response) else ""
            page = offline_page(html or "", f"{self.public_url}/static/")
            return web.Response(text=page, content_type="text/html")

    return OfflineServer(command, host=HOST, port=port, title="hatui")
