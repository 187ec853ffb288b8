"""Write the wizard's files safely, and read an existing directory back into answers.

Writing rules: never replace a file that differs without an explicit ``confirm``; back
the old one up as ``NAME.bak-YYYYmmddHHMMSS``; write through a temp file in the same
directory, ``fsync``, then ``os.replace`` (a crash leaves the old or the new file, never
half of one); ``authkeys`` is created 0600 before any byte of the secret is written.
"""

from __future__ import annotations

import difflib
import logging
import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from engine.config import parse_time_ms
from hatui.wizard.state import (
    AUTHKEYS,
    HACF,
    HARESOURCES,
    PRESETS,
    Group,
    Medium,
    RenderedFiles,
    Stonith,
    WizardState,
)

logger = logging.getLogger(__name__)

MODES = {HACF: 0o644, AUTHKEYS: 0o600, HARESOURCES: 0o644}


class OverwriteRefused(Exception):
    """Existing files differ and the caller did not confirm replacing them."""


@dataclass(frozen=True, slots=True)
class FileChange:
    """One file: what is on disk now (None: absent) and what the wizard would write."""

    name: str
    old: str | None
    new: str

    @property
    def changed(self) -> bool:
        """True when writing would change the file."""
        return self.old != self.new

    @property
    def replaces(self) -> bool:
        """True when an existing file would be replaced by different content."""
        return self.old is not None and self.old != self.new

    def diff(self) -> str:
        """A unified diff (empty when unchanged); secrets in authkeys are masked."""
        if not self.changed:
            return ""
        old = _mask(self.name, self.old or "").splitlines(keepends=True)
        new = _mask(self.name, self.new).splitlines(keepends=True)
        before = f"a/{self.name}" if self.old is not None else "/dev/null"
        return "".join(difflib.unified_diff(old, new, before, f"b/{self.name}"))


@dataclass
class WriteReport:
    """What ``write_files`` did."""

    written: list[Path] = field(default_factory=list)
    backups: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)


def _mask(name: str, text: str) -> str:
    if name != AUTHKEYS:
        return text
    lines = []
    for line in text.splitlines(keepends=True):
        words = line.split()
        if len(words) >= 3 and words[0].isdigit():
            secret = words[2]
            line = line.replace(secret, f"<secret {len(secret)} chars, {secret[:4]}…>")
        lines.append(line)
    return "".join(lines)


def plan_changes(config_dir: Path, files: RenderedFiles) -> list[FileChange]:
    """Compare the rendered files with what ``config_dir`` holds now."""
    changes = []
    for name, text in files.by_name().items():
        path = config_dir / name
        try:
            old: str | None = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            old = None
        except (OSError, UnicodeDecodeError) as exc:
            old = f"<unreadable: {exc}>\n"
        changes.append(FileChange(name, old, text))
    return changes


def full_diff(changes: list[FileChange]) -> str:
    """All diffs, or a note that nothing changes."""
    text = "".join(change.diff() for change in changes)
    return text or "(no changes: the files on disk are identical)\n"


def atomic_write(path: Path, text: str, mode: int) -> None:
    """Temp file in the same directory (created with ``mode``), fsync, rename, fsync dir."""
    tmp = path.with_name(f".{path.name}.hatui-{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def backup_name(path: Path, now: datetime) -> Path:
    """``NAME.bak-YYYYmmddHHMMSS`` (a counter is added if that name is taken)."""
    base = path.with_name(f"{path.name}.bak-{now:%Y%m%d%H%M%S}")
    candidate, number = base, 1
    while candidate.exists():
        candidate = base.with_name(f"{base.name}.{number}")
        number += 1
    return candidate


def write_files(
    config_dir: Path,
    files: RenderedFiles,
    *,
    confirm: bool = False,
    now: datetime | None = None,
) -> WriteReport:
    """Write the three files; refuse to replace differing files unless ``confirm``.

    Raises:
        OverwriteRefused: a file exists with other content and ``confirm`` is False
            (nothing has been written then).
    """
    changes = plan_changes(config_dir, files)
    replaced = [change.name for change in changes if change.replaces]
    if replaced and not confirm:
        raise OverwriteRefused(
            f"{', '.join(replaced)} already exist in {config_dir} with other content; "
            "read the diff and confirm to replace them (a backup is kept)"
        )
    config_dir.mkdir(parents=True, exist_ok=True)
    stamp = now or datetime.now()
    report = WriteReport()
    for change in changes:
        path = config_dir / change.name
        if not change.changed:
            report.unchanged.append(path)
            continue
        if change.old is not None:
            backup = backup_name(path, stamp)
            shutil.copy2(path, backup)
            report.backups.append(backup)
        atomic_write(path, change.new, MODES[change.name])
        report.written.append(path)
        logger.info("wrote %s", path)
    return report


def copy_command(config_dir: Path, peer: str, *, tool: str = "scp") -> list[str]:
    """The command that copies the three files to ``peer`` (same directory there)."""
    files = [str(config_dir / name) for name in (HACF, AUTHKEYS, HARESOURCES)]
    target = f"root@{peer}:{config_dir}/"
    if tool == "rsync":
        return ["rsync", "-a", "--chmod=F600", *files, target]
    return ["scp", "-p", *files, target]


def copy_instructions(config_dir: Path, peers: list[str]) -> list[str]:
    """What to do next, one line each: the copy command for every peer."""
    lines = ["copy the same three files to the peers, then start the engine on every node:"]
    lines += ["  " + " ".join(copy_command(config_dir, peer)) for peer in peers]
    return lines


# ---------------------------------------------------------------------- import


def read_existing(config_dir: Path) -> WizardState | None:
    """Answers recovered from an existing directory (tolerant: unknown lines skipped)."""
    hacf = config_dir / HACF
    if not hacf.exists():
        return None
    state = WizardState(node="", media=[], logfile="", debugfile="", logfacility="")
    nodes: list[str] = []
    for line in _lines(hacf):
        _import_hacf_line(state, nodes, line)
    me = os.uname().nodename.lower()
    state.node = me if me in nodes else (nodes[0] if nodes else "")
    state.peers = [n for n in nodes if n != state.node]
    state.preset = _matching_preset(state)
    key = existing_key(config_dir)
    if key is not None:
        state.auth_method, state.auth_key = key
    for line in _lines(config_dir / HARESOURCES):
        words = line.split()
        if words:
            state.groups.append(Group(words[0].lower(), words[1:]))
    return state


def existing_key(config_dir: Path) -> tuple[str, str] | None:
    """(method, secret) of the first key line of ``config_dir/authkeys``, if any."""
    for line in _lines(config_dir / AUTHKEYS):
        words = line.split()
        if len(words) >= 3 and words[0].isdigit():
            return words[1], words[2]
    return None


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    joined = text.replace("\\\n", " ")
    return [line.split("#", 1)[0].strip() for line in joined.splitlines() if line.strip()]


def _import_hacf_line(state: WizardState, nodes: list[str], line: str) -> None:
    words = line.split()
    if not words:
        return
    name, args = words[0], words[1:]
    if name == "node":
        nodes.extend(a.lower() for a in args)
    elif name in ("keepalive", "warntime", "deadtime", "initdead") and args:
        setattr(state, name, args[0])
    elif name == "udpport" and args and args[0].isdigit():
        state.udpport = int(args[0])
    elif name in ("bcast", "serial"):
        state.media.extend(Medium(name, dev) for dev in args)
    elif name == "ucast" and len(args) >= 2:
        state.media.append(Medium("ucast", args[0], peer=args[1]))
    elif name == "mcast" and len(args) >= 5 and args[2].isdigit() and args[3].isdigit():
        state.media.append(
            Medium("mcast", args[0], group=args[1], port=int(args[2]), ttl=int(args[3]),
                   loop=args[4] == "1")
        )  # fmt: skip
    elif name == "stonith_host" and len(args) >= 2:
        state.stonith.append(Stonith(args[1], " ".join(args[2:]), host=args[0]))
    elif name in ("logfile", "debugfile", "logfacility", "auto_failback", "cluster") and args:
        setattr(state, "cluster_name" if name == "cluster" else name, args[0])


def _matching_preset(state: WizardState) -> str:
    mine = state.timing_ms()
    for name, preset in PRESETS.items():
        theirs = {
            "keepalive": parse_time_ms(preset.keepalive),
            "warntime": parse_time_ms(preset.warntime),
            "deadtime": parse_time_ms(preset.deadtime),
            "initdead": parse_time_ms(preset.initdead),
        }
        if theirs == mine:
            return name
    return "custom"
