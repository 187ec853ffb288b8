"""Every malformed configuration in corpus/ is refused with exactly the expected error."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

from engine.config import Issue, load_config

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "expected").is_file())


def read_expected(case: Path) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in (case / "expected").read_text().splitlines():
        key, _, value = line.partition(": ")
        fields[key] = value
    return fields


def offline_resolve(name: str) -> str:
    """Like gethostbyname with an empty /etc/hosts and no DNS: tests send no traffic."""
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def location(issue: Issue) -> str:
    name = Path(issue.where.path).name
    return f"{name}:{issue.where.line}" if issue.where.line else name


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 35


@pytest.mark.parametrize("case", CASES)
def test_malformed_config_is_refused(case: str, tmp_path: Path) -> None:
    expected = read_expected(CORPUS / case)
    folder = tmp_path / "ha.d"
    shutil.copytree(CORPUS / case, folder)
    if (folder / "authkeys").exists():
        os.chmod(folder / "authkeys", int(expected.get("authkeys_mode", "0600"), 8))

    result = load_config(folder, expected.get("node", "alpha"), resolve=offline_resolve)

    assert result.config is None
    found = [(location(issue), issue.message) for issue in result.errors]
    assert len(found) == 1, found
    where, message = found[0]
    assert where == expected["where"]
    assert expected["message"] in message
    assert result.errors[0].hint, "every error must say how to fix it"
