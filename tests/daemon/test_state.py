"""``hb_generation``: persisted in Heartbeat's format, bumped at every start, and a
corrupt file never stops the engine nor sends it back to generation 1."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from engine.shell.state import GENERATION_FILE, next_generation

WALL = 1_795_611_933.0
"""The time of the first start on the observed cluster (its first generation was +1)."""


def stored(state_dir: Path) -> bytes:
    return (state_dir / GENERATION_FILE).read_bytes()


def test_first_start_is_time_plus_one_in_heartbeats_format(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="heartbeat"):
        assert next_generation(tmp_path, now=WALL) == 1_795_611_934
    assert "No Previous generation - starting at 1795611934" in caplog.text
    assert stored(tmp_path) == b"     1795611934\n"  # 15 columns + newline = 16 bytes


def test_bumped_at_every_start_and_persisted(tmp_path: Path) -> None:
    first = next_generation(tmp_path, now=WALL)
    # Later starts count up from the file, whatever the clock says.
    assert [next_generation(tmp_path, now=WALL + 1000) for _ in range(3)] == [
        first + 1,
        first + 2,
        first + 3,
    ]
    assert stored(tmp_path) == f"{first + 3:>15}\n".encode()


def test_a_file_written_by_heartbeat_is_continued(tmp_path: Path) -> None:
    (tmp_path / GENERATION_FILE).write_bytes(b"     1795611941\n")
    assert next_generation(tmp_path, now=WALL) == 1_795_611_942


def test_empty_file_is_no_previous_generation(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / GENERATION_FILE).write_bytes(b"\n")
    with caplog.at_level(logging.WARNING, logger="heartbeat"):
        assert next_generation(tmp_path, now=WALL) == int(WALL) + 1
    assert "No Previous generation" in caplog.text


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"12ab\n", "not a decimal number of up to 15 digits: '12ab'"),
        (b"\xff\xfe\x00garbage", "not a decimal number"),
        (b"-5\n", "not a decimal number"),
        (b"              0\n", "generation 0 is not positive"),
        (b"9" * 40, "not a decimal number of up to 15 digits"),
    ],
)
def test_corrupt_file_starts_at_time_plus_one_with_a_clear_message(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: bytes, problem: str
) -> None:
    path = tmp_path / GENERATION_FILE
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="heartbeat"):
        generation = next_generation(tmp_path, now=WALL)
    # Not 1 (Heartbeat's choice): peers remembering our last generation would drop us.
    assert generation == int(WALL) + 1
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert f"BROKEN previous generation in {path} (" in record.getMessage()
    assert problem in record.getMessage()
    assert f"starting at {generation}" in record.getMessage()
    # The file is repaired, and the next start counts on from it.
    assert stored(tmp_path) == f"{generation:>15}\n".encode()
    assert next_generation(tmp_path, now=WALL) == generation + 1


def test_unusable_state_file_stops_the_start(tmp_path: Path) -> None:
    """Heartbeat: ``Cannot get/increment generation number`` -> not started."""
    (tmp_path / GENERATION_FILE).mkdir()
    with pytest.raises(IsADirectoryError):
        next_generation(tmp_path, now=WALL)


def test_hbgenmethod_time_uses_the_clock_and_no_file(tmp_path: Path) -> None:
    assert next_generation(tmp_path, "time", now=WALL) == int(WALL)
    assert not (tmp_path / GENERATION_FILE).exists()
