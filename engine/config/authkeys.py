"""The ``authkeys`` parser and its file-permission check (spec §3, reliability §4.1/§4.3).

Heartbeat's rules are kept (``auth N`` must come before line ``N``, index 0-15, crc has
no key, md5/sha1 need one, as do our methods) and three holes are closed: the file may
not be a symlink, must be owned by root or by us, and may not be group/other writable;
and ``crc`` entries are not accepted on receive when a keyed method is configured
(downgrade attack).

Our methods: ``sha256`` signs like sha1 (HMAC-SHA256); ``aes256gcm`` and
``chacha20poly1305`` encrypt every datagram (engine/protocol/aead.py). Heartbeat 3.0.6
refuses a file that names any of them (``Invalid authtype``), so they are for clusters
where every node runs hatui; a secret for an encrypting one must have at least 16
characters.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from engine.config.model import AuthConfig, AuthKey, Issue, Severity, SourceRef

ENCRYPTING = frozenset({"aes256gcm", "chacha20poly1305"})
"""hatui-only methods that encrypt whole datagrams (engine/protocol/aead.py)."""
METHODS_WITH_KEY = frozenset({"md5", "sha1", "sha256"}) | ENCRYPTING
METHODS = METHODS_WITH_KEY | {"crc"}
MIN_ENCRYPTING_SECRET = 16
"""Shortest secret for an encrypting method (the cipher key is derived from it)."""
MAX_INDEX = 15

_AUTH_LINE = re.compile(r"auth\s+(\d+)\s*")
_INDEX = re.compile(r"\d+")
_METHOD_LIKE = re.compile(
    r"(md|sha|crc|hmac|blake)[0-9_-]*[0-9a-z]{0,3}|(aes|chacha|xchacha)[0-9_-]*[0-9a-z]{0,8}"
)


@dataclass
class _State:
    path: str
    issues: list[Issue] = field(default_factory=list)
    keys: dict[int, AuthKey] = field(default_factory=dict)
    auth_index: int | None = None
    auth_ref: SourceRef | None = None
    send_index: int | None = None
    broken: set[int] = field(default_factory=set)
    """Key numbers whose line had an error (no second "not found" error for them)."""

    def error(self, where: SourceRef, message: str, hint: str = "") -> None:
        self.issues.append(Issue(Severity.ERROR, where, message, hint))

    def warn(self, where: SourceRef, message: str, hint: str = "") -> None:
        self.issues.append(Issue(Severity.WARNING, where, message, hint))


def _permission_issues(path: Path, euid: int | None) -> tuple[list[Issue], bool]:
    """Refuse a key file others could read, write or swap (Heartbeat checks only reads).

    Returns the findings, and whether the file is safe to open at all.
    """
    where = SourceRef(str(path))
    uid = os.geteuid() if euid is None else euid
    try:
        info = path.lstat()
    except OSError as exc:
        return [
            Issue(
                Severity.ERROR,
                where,
                f"Cannot open keyfile [{path}]: {exc.strerror}. Stop.",
                "create it with 'auth 1' and '1 sha1 <secret>' lines, mode 600",
            )
        ], False
    if stat.S_ISLNK(info.st_mode):
        return [
            Issue(
                Severity.ERROR,
                where,
                f"Keyfile [{path}] is a symbolic link",
                "replace the link by a regular file (owner root, mode 600)",
            )
        ], False
    if not stat.S_ISREG(info.st_mode):
        return [
            Issue(
                Severity.ERROR,
                where,
                f"Keyfile [{path}] is not a regular file",
                "authkeys must be a plain file (owner root, mode 600)",
            )
        ], False
    issues: list[Issue] = []
    mode = stat.S_IMODE(info.st_mode)
    fix = f"run 'chmod 600 {path}'"
    if mode & 0o044:
        issues.append(
            Issue(
                Severity.ERROR,
                where,
                f"Bad permissions on keyfile [{path}], 600 recommended (mode is {mode:04o})",
                fix,
            )
        )
    if mode & 0o022:
        issues.append(
            Issue(
                Severity.ERROR,
                where,
                f"Keyfile [{path}] is writable by group or others (mode is {mode:04o})",
                fix,
            )
        )
    if info.st_uid not in (0, uid):
        issues.append(
            Issue(
                Severity.ERROR,
                where,
                f"Keyfile [{path}] is owned by uid {info.st_uid}, not by root or uid {uid}",
                f"run 'chown root {path}'",
            )
        )
    return issues, True


def _redact(line: str) -> str:
    """The line as it may be quoted in a log: no secret, no undecodable bytes."""
    shown: list[str] = []
    for position, token in enumerate(line.split()):
        if position > 0 and not token.isdigit() and token.lower() not in METHODS:
            shown.append("***")
            break
        shown.append(token)
    return " ".join(shown).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _shown_method(word: str) -> str:
    """An unknown method name, unless it might be a secret written in the wrong place."""
    return word if _METHOD_LIKE.fullmatch(word.lower()) else "***"


def _parse_auth_line(state: _State, line: str, where: SourceRef) -> None:
    match = _AUTH_LINE.fullmatch(line)
    if match is None:
        state.error(
            where,
            f"Invalid auth line [{_redact(line)}] in {state.path}",
            "write 'auth <N>' with N the number of the key used for sending",
        )
        return
    if state.auth_index is not None:
        state.warn(
            where,
            f"Several auth lines; [{_redact(line)}] overrides the earlier one",
            "keep a single 'auth N' line at the top of the file",
        )
    state.auth_index = int(match.group(1))
    state.auth_ref = where


def _parse_key_line(state: _State, line: str, where: SourceRef) -> None:
    tokens = line.split()
    if len(tokens) < 2 or not _INDEX.fullmatch(tokens[0]):
        state.error(
            where, f"Auth line [{_redact(line)}] is invalid.", "write '<N> <method> [<secret>]'"
        )
        return
    index = int(tokens[0])
    state.broken.add(index)
    if _check_key_line(state, index, tokens, where):
        state.broken.discard(index)


def _check_key_line(state: _State, index: int, tokens: list[str], where: SourceRef) -> bool:
    """Validate and store one ``N method [secret]`` line; False when it was refused."""
    method = tokens[1].lower()
    secret = tokens[2] if len(tokens) > 2 else ""
    if index > MAX_INDEX:
        state.error(
            where,
            f"Invalid authnum [{index}] in {state.path}",
            f"key numbers go from 0 to {MAX_INDEX}",
        )
        return False
    if method not in METHODS:
        state.error(
            where,
            f"Invalid authtype [{_shown_method(tokens[1])}]",
            "write sha1, sha256, md5 or crc (or aes256gcm / chacha20poly1305 when every "
            "node runs hatui)",
        )
        return False
    if method == "crc" and secret:
        state.error(
            where,
            "Auth method [crc] doesn't use a key",
            f"write '{index} crc' without a secret, or use sha1/sha256 with the secret",
        )
        return False
    if method in METHODS_WITH_KEY and not secret:
        state.error(
            where, f"Auth method [{method}] requires a key", f"write '{index} {method} <secret>'"
        )
        return False
    if method in ENCRYPTING and len(secret) < MIN_ENCRYPTING_SECRET:
        state.error(
            where,
            f"The secret of key {index} ({method}) has {len(secret)} characters; "
            f"an encrypting key needs at least {MIN_ENCRYPTING_SECRET}",
            "use 32 or more random characters, e.g. the output of 'openssl rand -hex 32'",
        )
        return False
    if len(tokens) > 3:
        state.warn(
            where,
            f"Text after the secret of key {index} is ignored",
            "a secret is one word; it cannot contain blanks",
        )
    if index in state.keys:
        state.error(
            where,
            f"Key number [{index}] is defined twice",
            f"first defined at {state.keys[index].where}; remove one of them",
        )
        return False
    raw = secret.encode("utf-8", "surrogateescape")
    state.keys[index] = AuthKey(index, method, raw, where)
    if index == state.auth_index:
        state.send_index = index
    return True


def parse_authkeys_text(text: str, path: str) -> tuple[AuthConfig | None, list[Issue]]:
    """Parse the content of an ``authkeys`` file (no permission check)."""
    state = _State(path)
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip(" \t\r\n\f\v")
        if not line or line.startswith("#"):
            continue
        where = SourceRef(path, number)
        if line.startswith("a"):
            _parse_auth_line(state, line, where)
        else:
            _parse_key_line(state, line, where)
    _check_send_key(state)
    if any(issue.severity is Severity.ERROR for issue in state.issues):
        return None, state.issues
    assert state.send_index is not None
    keys = tuple(state.keys.values())
    accept = _receive_policy(state, keys)
    return AuthConfig(state.send_index, keys, accept), state.issues


def _check_send_key(state: _State) -> None:
    if state.auth_index is None:
        state.error(
            SourceRef(state.path),
            f"Missing auth directive in keyfile [{state.path}]",
            "add a line 'auth <N>' before the key lines",
        )
    elif state.send_index is None and state.auth_index not in state.broken:
        assert state.auth_ref is not None
        state.error(
            state.auth_ref,
            f"Auth Key [{state.auth_index}] not found in keyfile [{state.path}]",
            f"add a line '{state.auth_index} sha1 <secret>' after 'auth {state.auth_index}' "
            "(the auth line must come before the key line)",
        )


def _receive_policy(state: _State, keys: tuple[AuthKey, ...]) -> frozenset[int]:
    """Accept every listed key, except crc ones when a keyed method exists."""
    keyed = [key for key in keys if key.method in METHODS_WITH_KEY]
    accept = {key.index for key in keys}
    for key in keys:
        if key.method == "crc" and keyed:
            accept.discard(key.index)
            state.warn(
                key.where,
                f"Key {key.index} (crc) is not accepted on receive because keyed methods "
                "are configured",
                "anyone could forge crc packets and so bypass the keyed method; "
                "remove the crc line",
            )
        elif key.method == "crc":
            state.warn(
                key.where,
                f"Key {key.index} uses crc, which offers no security",
                "use sha1 or sha256 with a secret unless the network is private",
            )
        elif key.method == "md5":
            state.warn(
                key.where,
                f"Key {key.index} uses md5, a legacy method",
                "prefer sha1 (compatible with Heartbeat) or sha256",
            )
        elif key.method in ENCRYPTING:
            state.issues.append(
                Issue(
                    Severity.INFO,
                    key.where,
                    f"Key {key.index} uses {key.method}: every datagram is encrypted and "
                    "authenticated; only hatui nodes can be members (Heartbeat 3.0.6 refuses "
                    "this file: Invalid authtype, and cannot read encrypted packets)",
                    "for a cluster with Heartbeat nodes use sha1 on every node",
                )
            )
    return frozenset(accept)


def parse_authkeys(path: Path, euid: int | None = None) -> tuple[AuthConfig | None, list[Issue]]:
    """Check the permissions of ``path``, then parse it; all problems are returned."""
    issues, readable = _permission_issues(path, euid)
    if not readable:
        return None, issues
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        issues.append(
            Issue(
                Severity.ERROR,
                SourceRef(str(path)),
                f"Cannot open keyfile [{path}]: {exc.strerror}. Stop.",
                "",
            )
        )
        return None, issues
    auth, parse_issues = parse_authkeys_text(data.decode("utf-8", "surrogateescape"), str(path))
    issues.extend(parse_issues)
    if any(issue.severity is Severity.ERROR for issue in issues):
        return None, issues
    return auth, issues
