"""The one reader of hatui.conf: every consumer's keys, file:line issues with hints, and
its problems reported by load_config together with those of the other files."""

from __future__ import annotations

from pathlib import Path

from engine.config import Severity, load_config
from engine.config.hacf import KNOWN_DIRECTIVES
from engine.config.hatuiconf import Key, Kind, known_keys, read_hatui_conf
from engine.config.monitor import MONITOR_KEYS
from engine.config.reloadconf import RELOAD_KEYS
from engine.config.stonithconf import STONITH_KEYS
from tests.config.conftest import REFERENCE_HACF, write_config


def test_known_keys_are_every_consumers_and_none_is_a_ha_cf_directive() -> None:
    names = [key.name for key in known_keys()]
    assert names == [key.name for key in (*STONITH_KEYS, *MONITOR_KEYS, *RELOAD_KEYS)]
    assert len(set(names)) == len(names)
    assert not set(names) & KNOWN_DIRECTIVES
    assert all(key.live for key in MONITOR_KEYS) and not any(key.live for key in STONITH_KEYS)
    assert all(key.live for key in RELOAD_KEYS)


def test_a_missing_file_is_no_settings_and_no_issue(tmp_path: Path) -> None:
    conf, issues = read_hatui_conf(tmp_path)
    assert conf.settings == () and issues == []
    assert conf.path == str(tmp_path / "hatui.conf")


def test_values_refs_repeats_and_comments(tmp_path: Path) -> None:
    (tmp_path / "hatui.conf").write_text(
        "# fencing\nstonith_delay = 2 # seconds\nstonith_external_dir = /a\n\n"
        "stonith_external_dir=/b\nmonitor_interval = 10\nstonith_delay = 500ms\n"
    )
    conf, issues = read_hatui_conf(tmp_path)
    assert conf.get("stonith_delay") == 500 and conf.values("stonith_external_dir") == (
        "/a",
        "/b",
    )
    assert conf.get("monitor_interval") == 10_000 and conf.get("meatware_dir") is None
    ref = conf.ref("stonith_delay")
    assert ref is not None and ref.line == 7
    [repeat] = issues
    assert (repeat.severity, repeat.where.line) == (Severity.WARNING, 7)
    assert repeat.message == "stonith_delay is set again (first at line 2); this last value is used"
    assert conf.written(["stonith_delay", "meatware_dir"]) == (("stonith_delay", (500,)),)


def test_an_unknown_key_names_every_known_key(tmp_path: Path) -> None:
    (tmp_path / "hatui.conf").write_text("monitor_intervall = 10\nkeepalive = 2\n")
    typo, directive = read_hatui_conf(tmp_path)[1]
    assert typo.message == "unknown setting 'monitor_intervall'"
    assert typo.hint == "known: " + ", ".join(key.name for key in known_keys())
    assert directive.hint.startswith("known: ")  # ha.cf names are told only when given
    _, issues = read_hatui_conf(tmp_path, hacf_directives=KNOWN_DIRECTIVES)
    assert issues[1].hint.startswith("keepalive is a ha.cf directive: write it in ha.cf; known: ")


def test_a_consumer_declares_its_own_keys(tmp_path: Path) -> None:
    keys = (Key("probe_count", Kind.COUNT, "probes per check", "3", minimum=1, maximum=9),)
    (tmp_path / "hatui.conf").write_text("probe_count = 4\nprobe_count = 0\nstonith_delay = 1\n")
    conf, issues = read_hatui_conf(tmp_path, keys)
    assert conf.get("probe_count") == 4
    assert [(i.where.line, i.message) for i in issues] == [
        (2, "probe_count: '0' is not a whole number from 1 to 9"),
        (3, "unknown setting 'stonith_delay'"),
    ]
    assert issues[0].hint == "probes per check; e.g. probe_count = 3"
    assert issues[1].hint == "known: probe_count"


def test_unparsable_lines_and_an_unreadable_file(tmp_path: Path) -> None:
    (tmp_path / "hatui.conf").write_text("= 3\nstonith_delay =\njust words\n")
    issues = read_hatui_conf(tmp_path)[1]
    assert [(i.where.line, i.message, i.hint) for i in issues] == [
        (1, "cannot parse '= 3'", "write 'key = value'"),
        (2, "cannot parse 'stonith_delay ='", "give it a value, e.g. 'stonith_delay = 0'"),
        (3, "cannot parse 'just words'", "write 'key = value'"),
    ]
    (tmp_path / "hatui.conf").write_bytes(b"stonith_delay = \xff\n")
    [issue] = read_hatui_conf(tmp_path)[1]
    assert issue.message.startswith(f"cannot read {tmp_path / 'hatui.conf'}: ")
    assert issue.hint


def test_load_config_reports_hatui_conf_with_the_other_files(tmp_path: Path) -> None:
    folder = write_config(
        tmp_path / "ha.d",
        hacf=REFERENCE_HACF + "keepalive soon\nmonitor_interval 10\n",
        haresources="nobody IPaddr2::10.99.0.10/24/eth0\n",
    )
    (folder / "authkeys").chmod(0o644)
    (folder / "hatui.conf").write_text("stonith_delay = never\nmonitor_restarts = 3\nbogus = 1\n")
    result = load_config(folder, "alpha")
    assert result.config is None
    files = sorted({Path(i.where.path).name for i in result.errors})
    assert files == ["authkeys", "ha.cf", "haresources", "hatui.conf"]
    lines = [i.where.line for i in result.errors if i.where.path.endswith("hatui.conf")]
    assert lines == [1, 3]
    assert all(issue.hint for issue in result.errors)


def test_the_loaded_configuration_carries_hatui_conf(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "ha.d")
    (folder / "hatui.conf").write_text("stonith_delay = 2\nmonitor_interval = 10\n")
    result = load_config(folder, "alpha")
    assert result.config is not None and result.errors == []
    assert result.config.hatui.get("stonith_delay") == 2000
    assert result.config.monitor.interval_ms == 10_000


def test_every_key_is_in_the_readme_table() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### hatui.conf", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    for key in known_keys():
        assert any(f"`{key.name}`" in row.split("|")[1] for row in rows), key.name
    assert "single exception" not in readme and "one exception" not in readme
