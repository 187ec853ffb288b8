"""authkeys format, receive policy and file-permission rules (spec §3, reliability §4)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.config.authkeys import parse_authkeys, parse_authkeys_text
from engine.config.model import Severity


def write_keys(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "authkeys"
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_sha1_key_is_read_as_bytes() -> None:
    auth, issues = parse_authkeys_text("# comment\n\nauth 1\n1 sha1 s3cret\n", "authkeys")
    assert issues == []
    assert auth is not None
    assert auth.send_index == 1
    assert auth.key(1) is not None and auth.key(1).secret == b"s3cret"  # type: ignore[union-attr]
    assert auth.accept_indices == frozenset({1})


def test_all_keyed_indices_are_accepted_for_rotation() -> None:
    auth, _ = parse_authkeys_text("auth 2\n1 sha1 old\n2 sha256 new\n", "authkeys")
    assert auth is not None
    assert auth.send_index == 2
    assert auth.accept_indices == frozenset({1, 2})
    assert [k.method for k in auth.keys] == ["sha1", "sha256"]


def test_crc_is_not_accepted_when_a_keyed_method_exists() -> None:
    auth, issues = parse_authkeys_text("auth 2\n1 crc\n2 sha1 key\n", "authkeys")
    assert auth is not None
    assert auth.accept_indices == frozenset({2})
    [warning] = issues
    assert warning.severity is Severity.WARNING
    assert "not accepted on receive" in warning.message
    assert "forge" in warning.hint


def test_crc_alone_is_accepted_with_a_warning() -> None:
    auth, issues = parse_authkeys_text("auth 1\n1 crc\n", "authkeys")
    assert auth is not None
    assert auth.accept_indices == frozenset({1})
    assert auth.keys[0].secret == b""
    assert "no security" in issues[0].message


def test_md5_is_legacy() -> None:
    auth, issues = parse_authkeys_text("auth 1\n1 md5 key\n", "authkeys")
    assert auth is not None
    assert "legacy" in issues[0].message


def test_index_zero_and_fifteen_are_valid() -> None:
    auth, issues = parse_authkeys_text("auth 0\n0 sha1 a\n15 sha1 b\n", "authkeys")
    assert auth is not None and auth.send_index == 0
    assert issues == []


def test_auth_must_precede_its_key_line() -> None:
    auth, issues = parse_authkeys_text("1 sha1 key\nauth 1\n", "/etc/ha.d/authkeys")
    assert auth is None
    [error] = issues
    assert error.message == "Auth Key [1] not found in keyfile [/etc/ha.d/authkeys]"
    assert error.where.line == 2


def test_secret_with_blank_is_truncated_with_a_warning() -> None:
    auth, issues = parse_authkeys_text("auth 1\n1 sha1 two words\n", "authkeys")
    assert auth is not None and auth.keys[0].secret == b"two"
    assert "ignored" in issues[0].message


def test_non_ascii_secret_bytes_are_kept() -> None:
    raw = "auth 1\n1 sha1 ké\udcff\n"
    auth, _ = parse_authkeys_text(raw, "authkeys")
    assert auth is not None
    assert auth.keys[0].secret == "ké\udcff".encode("utf-8", "surrogateescape")


def test_good_file_mode_600(tmp_path: Path) -> None:
    auth, issues = parse_authkeys(write_keys(tmp_path, "auth 1\n1 sha1 k\n", 0o600))
    assert auth is not None and issues == []


def test_mode_400_is_fine(tmp_path: Path) -> None:
    auth, issues = parse_authkeys(write_keys(tmp_path, "auth 1\n1 sha1 k\n", 0o400))
    assert auth is not None and issues == []


@pytest.mark.parametrize(
    ("mode", "text"),
    [
        (0o644, "Bad permissions on keyfile"),
        (0o640, "Bad permissions on keyfile"),
        (0o604, "Bad permissions on keyfile"),
        (0o620, "writable by group or others"),
        (0o602, "writable by group or others"),
    ],
)
def test_bad_modes_are_refused(tmp_path: Path, mode: int, text: str) -> None:
    auth, issues = parse_authkeys(write_keys(tmp_path, "auth 1\n1 sha1 k\n", mode))
    assert auth is None
    [error] = [i for i in issues if i.severity is Severity.ERROR]
    assert text in error.message
    assert f"{mode:04o}" in error.message
    assert "chmod 600" in error.hint


def test_symlink_is_refused(tmp_path: Path) -> None:
    target = write_keys(tmp_path, "auth 1\n1 sha1 k\n")
    link = tmp_path / "link"
    link.symlink_to(target)
    auth, issues = parse_authkeys(link)
    assert auth is None
    assert "symbolic link" in issues[0].message


def test_foreign_owner_is_refused(tmp_path: Path) -> None:
    path = write_keys(tmp_path, "auth 1\n1 sha1 k\n")
    if os.geteuid() == 0:
        os.chown(path, 65534, -1)
        euid = None
    else:
        euid = os.geteuid() + 1  # pretend we run as someone else, file owned by us
        if path.stat().st_uid == 0:
            pytest.skip("file owned by root; cannot build a foreign-owner case")
    auth, issues = parse_authkeys(path, euid)
    assert auth is None
    assert "is owned by uid" in issues[0].message


def test_missing_file(tmp_path: Path) -> None:
    auth, issues = parse_authkeys(tmp_path / "authkeys")
    assert auth is None
    assert issues[0].message.startswith("Cannot open keyfile")
    assert issues[0].message.endswith("Stop.")


def test_messages_never_quote_a_secret() -> None:
    text = "auth 1\n1 sha1 topsecret\nx sha1 topsecret\nauthx topsecret more\n2 sha9 topsecret\n"
    _, issues = parse_authkeys_text(text, "authkeys")
    assert len(issues) == 3
    for issue in issues:
        assert "topsecret" not in str(issue)


@pytest.mark.parametrize("method", ["aes256gcm", "chacha20poly1305", "AES256GCM"])
def test_encrypting_methods_are_read_and_said_to_be_hatui_only(method: str) -> None:
    text = f"auth 3\n3 {method} 0123456789abcdef0123456789abcdef\n"
    auth, issues = parse_authkeys_text(text, "authkeys")
    assert auth is not None and auth.key(3).method == method.lower()  # type: ignore[union-attr]
    [info] = issues
    assert info.severity is Severity.INFO
    assert str(info.where) == "authkeys:2"
    assert "only hatui nodes can be members" in info.message
    assert "Invalid authtype" in info.message
    assert "sha1" in info.hint


def test_encrypting_method_needs_a_long_secret() -> None:
    auth, issues = parse_authkeys_text("auth 1\n1 aes256gcm short-secret\n", "authkeys")
    assert auth is None
    errors = [i for i in issues if i.severity is Severity.ERROR]
    assert errors[0].message == (
        "The secret of key 1 (aes256gcm) has 12 characters; an encrypting key needs at least 16"
    )
    assert str(errors[0].where) == "authkeys:2"
    assert "openssl rand -hex 32" in errors[0].hint
    assert "short-secret" not in " ".join(f"{i.message} {i.hint}" for i in issues)


def test_rotation_to_encryption_keeps_both_keys_and_crc_stays_refused() -> None:
    text = "auth 1\n1 sha1 old\n2 chacha20poly1305 0123456789abcdef0123\n3 crc\n"
    auth, issues = parse_authkeys_text(text, "authkeys")
    assert auth is not None
    assert auth.accept_indices == frozenset({1, 2})
    assert any("not accepted on receive" in i.message for i in issues)


def test_unknown_method_hint_names_the_encrypting_methods() -> None:
    _, issues = parse_authkeys_text("auth 1\n1 aes128ctr key\n", "authkeys")
    assert issues[0].message == "Invalid authtype [aes128ctr]"
    assert "aes256gcm / chacha20poly1305" in issues[0].hint


def test_check_config_says_an_encrypting_method_is_hatui_only(tmp_path: Path) -> None:
    """``haengine --check-config`` prints the note with its file:line (exit 0: usable)."""
    import subprocess
    import sys

    from tests.config.conftest import write_config

    folder = write_config(
        tmp_path / "ha.d", authkeys="auth 2\n2 chacha20poly1305 0123456789abcdef0123456789abcdef\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "engine.programs.haengine", "--check-config",
         "--config-dir", str(folder), "--node", "alpha"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{folder / 'authkeys'}:2" in proc.stdout
    assert "Key 2 uses chacha20poly1305: every datagram is encrypted" in proc.stdout
    assert "only hatui nodes can be members" in proc.stdout
