"""Shared helpers for the protocol tests: keys, fixture locations, the authkeys reader."""

from __future__ import annotations

from pathlib import Path

from engine.config.model import AuthConfig, AuthKey, SourceRef
from engine.protocol.auth import Authenticator

FIXTURE_DIR = Path(__file__).resolve().parent / "fixtures"
"""Copies of the captured packets, so these tests never skip."""

PCAP_DIR = FIXTURE_DIR / "pcap"
"""Copies of the surrounding captures (``wire-fixtures/pcap``), for the same reason."""

SHARED_FIXTURE_DIR = (
    Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "wire-fixtures"
)
"""``<repo>/../shared``: present on the dev machine and beside the CI clone."""

ANCHOR_KEY = b"hbsim-anchor-sha1-key"


def make_auth(
    *keys: tuple[int, str, bytes],
    send: int | None = None,
    accept: frozenset[int] = frozenset(),
) -> Authenticator:
    """An Authenticator from ``(index, method, secret)`` triples; sends with the first."""
    entries = tuple(
        AuthKey(i, m, s, SourceRef("test-authkeys", n)) for n, (i, m, s) in enumerate(keys, 1)
    )
    return Authenticator(AuthConfig(send if send is not None else keys[0][0], entries, accept))


def anchor_auth() -> Authenticator:
    """The sha1 test key of the captured cluster (``auth 1`` / ``1 sha1 ...``)."""
    return make_auth((1, "sha1", ANCHOR_KEY))


def read_authkeys(path: Path) -> Authenticator:
    """Minimal reader for the fixtures' ``authkeys`` (the real parser is engine.config)."""
    send = 0
    keys: list[tuple[int, str, bytes]] = []
    for line in path.read_text().splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "auth":
            send = int(words[1])
        else:
            secret = words[2].encode() if len(words) > 2 else b""
            keys.append((int(words[0]), words[1], secret))
    return make_auth(*keys, send=send)


def fixture_files() -> list[Path]:
    """Every captured ``.bin`` in the local copy."""
    return sorted(FIXTURE_DIR.glob("*.bin"))
