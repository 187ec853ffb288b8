"""``CONFIG_DIR/hatui.conf``: the settings Heartbeat has no ha.cf directive for.

Real Heartbeat 3.0.6 refuses a directive it does not know (``Illegal directive``) and a
mixed cluster shares byte-identical ha.cf files, so every hatui-only setting lives here,
never in ha.cf. The file is optional: ``key = value`` lines, ``#`` comments, times in
Heartbeat's syntax (``5``, ``1.5``, ``500ms``; ``10s`` is an error, as in ha.cf).

One reader serves every consumer: each declares its keys (``Key`` of
``engine.config.hatuikey``: name, kind, range, whether a reload applies it live; all of
them gathered by ``engine.config.hatuikeys``) and builds its typed view from the
``HatuiConf`` the reader returns. A key nobody declared is an error naming every known
key; every problem is an ``Issue`` with ``file:line``, what is wrong and how to fix it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

from engine.config.hatuikey import Check, Key, Kind
from engine.config.hatuikeys import known_keys
from engine.config.model import HatuiConf, Issue, Setting, Severity, SourceRef, Value
from engine.config.timeparse import parse_time_ms, time_hint

HATUI_CONF = "hatui.conf"
__all__ = ["HATUI_CONF", "Check", "Key", "Kind", "known_keys", "read_hatui_conf"]


def read_hatui_conf(
    config_dir: Path,
    keys: Sequence[Key] | None = None,
    *,
    hacf_directives: Collection[str] = (),
) -> tuple[HatuiConf, list[Issue]]:
    """Read ``config_dir/hatui.conf``; a missing file is no settings and no issue.

    Args:
        config_dir: the configuration directory.
        keys: the keys accepted (default: every consumer's, ``known_keys()``).
        hacf_directives: ha.cf's directive names, so that one written here by mistake
            is told to go to ha.cf.
    """
    path = Path(config_dir) / HATUI_CONF
    declared = {key.name: key for key in (known_keys() if keys is None else keys)}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return HatuiConf(str(path)), []
    except (OSError, UnicodeDecodeError) as exc:
        hint = "hatui.conf is optional: make it readable UTF-8 text, or remove it"
        problem = _error(SourceRef(str(path)), f"cannot read {path}: {exc}", hint)
        return HatuiConf(str(path)), [problem]
    reader = _Reader(str(path), declared, hacf_directives)
    for number, raw in enumerate(text.splitlines(), start=1):
        reader.line(raw, SourceRef(str(path), number))
    return HatuiConf(str(path), tuple(reader.settings)), reader.issues


class _Reader:
    def __init__(
        self, path: str, declared: dict[str, Key], hacf_directives: Collection[str]
    ) -> None:
        self.path = path
        self.declared = declared
        self.hacf_directives = hacf_directives
        self.settings: list[Setting] = []
        self.issues: list[Issue] = []

    def line(self, raw: str, where: SourceRef) -> None:
        line = raw.split("#", 1)[0].strip()
        if not line:
            return
        key, sep, value = (part.strip() for part in line.partition("="))
        if not sep or not key or not value:
            hint = self.form_hint(line, key if sep else "")
            self.issues.append(_error(where, f"cannot parse '{raw.strip()}'", hint))
            return
        spec = self.declared.get(key)
        if spec is None:
            self.issues.append(_error(where, f"unknown setting '{key}'", self.unknown_hint(key)))
            return
        parsed = self.parse(spec, value, where)
        if parsed is None:
            return
        earlier = [s for s in self.settings if s.key == key]
        if earlier and not spec.repeatable:
            self.issues.append(
                Issue(
                    Severity.WARNING,
                    where,
                    f"{key} is set again (first at line {earlier[0].where.line}); "
                    "this last value is used",
                    "remove the other line",
                )
            )
            self.settings = [s for s in self.settings if s.key != key]
        self.settings.append(Setting(key, parsed, where, value))

    def parse(self, spec: Key, text: str, where: SourceRef) -> Value | None:
        value: Value
        if spec.kind is Kind.TIME:
            millis = parse_time_ms(text)
            if millis is None:
                message = f"{spec.name}: '{text}' is not a time"
                self.issues.append(_error(where, message, time_hint(text)))
                return None
            value = millis
        elif spec.kind is Kind.COUNT:
            if not text.isdigit() or not spec.minimum <= int(text) <= spec.maximum:
                self.issues.append(
                    _error(
                        where,
                        f"{spec.name}: '{text}' is not a whole number from {spec.minimum} "
                        f"to {spec.maximum}",
                        f"{spec.meaning}; e.g. {spec.name} = {spec.example}",
                    )
                )
                return None
            value = int(text)
        else:
            value = text
        if spec.check is not None and (problem := spec.check(value, text)) is not None:
            self.issues.append(_error(where, *problem))
            return None
        return value

    def form_hint(self, line: str, key: str) -> str:
        """``write 'monitor_interval = 10'`` for a ha.cf-style line, else the form."""
        if key in self.declared:
            return f"give it a value, e.g. '{key} = {self.declared[key].example}'"
        word, _, rest = line.partition(" ")
        if not key and word in self.declared and rest.strip():
            return f"write '{word} = {rest.strip()}'"
        return "write 'key = value'"

    def unknown_hint(self, key: str) -> str:
        known = "known: " + ", ".join(self.declared)
        if key in self.hacf_directives:
            return f"{key} is a ha.cf directive: write it in ha.cf; {known}"
        return known


def _error(where: SourceRef, message: str, hint: str) -> Issue:
    return Issue(Severity.ERROR, where, message, hint)
