"""Heartbeat's time and boolean syntax (spec §2.2, §2.3)."""

from __future__ import annotations

import pytest

from engine.config.timeparse import format_ms, parse_bool, parse_time_ms, time_hint


@pytest.mark.parametrize(
    ("text", "millis"),
    [
        ("1", 1000),
        ("3", 3000),
        ("1.5", 1500),
        (".5", 500),
        ("0", 0),
        ("1700ms", 1700),
        ("200 ms", 200),
        ("200MS", 200),
        ("250msec", 250),
        ("1500us", 2),  # 1.5 ms rounds half up
        ("1400usec", 1),
        ("  2", 2000),
        ("2\r\n", 2000),
        ("0.0004", 0),
        ("0.0005", 1),
    ],
)
def test_valid_times(text: str, millis: int) -> None:
    assert parse_time_ms(text) == millis


@pytest.mark.parametrize(
    "text", ["10s", "10sec", "1m", "", "ms", "abc", "-1", "1.2.3", "1 2", "5 seconds", "."]
)
def test_invalid_times(text: str) -> None:
    assert parse_time_ms(text) is None


def test_hint_for_seconds_suffix_says_how_to_write_it() -> None:
    assert time_hint("10s").startswith("write 10 or 10000ms")
    assert time_hint("1.5sec").startswith("write 1.5 or 1500ms")
    assert time_hint("1m").startswith("write 60 (seconds)")
    assert "ms" in time_hint("nonsense")


@pytest.mark.parametrize("word", ["true", "on", "yes", "y", "1", "ON", "Yes", "TRUE"])
def test_true_words(word: str) -> None:
    assert parse_bool(word) is True


@pytest.mark.parametrize("word", ["false", "off", "no", "n", "0", "OFF", "No"])
def test_false_words(word: str) -> None:
    assert parse_bool(word) is False


@pytest.mark.parametrize("word", ["maybe", "", "2", "enabled", "t"])
def test_invalid_booleans(word: str) -> None:
    assert parse_bool(word) is None


def test_format_ms() -> None:
    assert format_ms(1500) == "1500ms"
