"""The wizard's answers: per-step checks, rendering, the engine's validation, writing."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from engine.config import Severity
from hatui.wizard.answers import AnswersError, run_answers, state_from_answers
from hatui.wizard.render import OverwriteRefused, plan_changes, read_existing, write_files
from hatui.wizard.state import Group, Medium, WizardState, errors_of
from tests.wizard.helpers import KEY

ROOT = Path(__file__).resolve().parents[2]


def good_state() -> WizardState:
    state = WizardState(node="alpha", peers=["bravo"], auth_key=KEY)
    state.media = [Medium("ucast", "lo", peer="127.0.0.1"), Medium("ucast", "lo", peer="127.0.0.2")]
    state.apply_preset("fast")
    state.groups = [Group("alpha", ["ocf:heartbeat:Dummy"])]
    state.logfile, state.debugfile, state.logfacility = "/tmp/ha-log", "", "none"
    return state


def check_config(folder: Path, node: str = "alpha") -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "engine.programs.haengine", "--check-config",
            "--config-dir", str(folder), "--node", node]  # fmt: skip
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60)


def messages(issues: list[object]) -> str:
    return "\n".join(str(i) for i in issues)


def test_bad_ip_is_refused_with_the_reason() -> None:
    state = good_state()
    state.media = [Medium("ucast", "eth0", peer="10.0.0.300")]
    errors = errors_of(state.check_media())
    assert "bad IP address [10.0.0.300]" in messages(errors)


def test_mcast_group_must_be_multicast() -> None:
    state = good_state()
    state.media = [Medium("mcast", "eth0", group="10.1.1.1", port=694)]
    assert "bad multicast group [10.1.1.1]" in messages(errors_of(state.check_media()))


def test_deadtime_not_above_twice_keepalive_is_refused() -> None:
    state = good_state()
    state.keepalive, state.deadtime = "2", "4"
    errors = errors_of(state.check_timing())
    assert "too small compared to keepalive" in messages(errors)
    state.deadtime = "5"
    assert errors_of(state.check_timing()) == []


def test_bad_time_syntax_is_refused() -> None:
    state = good_state()
    state.warntime = "10s"
    assert "Bad warntime [10s]" in messages(state.check_timing())


def test_unknown_node_in_a_group_is_refused() -> None:
    state = good_state()
    state.groups = [Group("charlie", ["IPaddr2::10.99.0.10/24/eth0"])]
    assert "Bad nodename in haresources [charlie]" in messages(state.check_resources())


def test_peer_equal_to_this_node_is_refused() -> None:
    state = good_state()
    state.peers = ["alpha"]
    assert "[alpha] is this node" in messages(state.check_peers())


def test_node_name_other_than_uname_is_only_a_warning() -> None:
    state = good_state()
    issues = state.check_node(uname="vm1")
    assert [i.severity for i in issues] == [Severity.WARNING]
    assert state.check_node(uname="alpha") == []
    state.node = "Bad Name"
    assert errors_of(state.check_node(uname="alpha"))


def test_validate_runs_the_engine_loader() -> None:
    state = good_state()
    assert errors_of(state.validate()) == []
    state.stonith = []
    state.media = []
    assert "No heartbeat media defined" in messages(state.validate())


def test_written_files_pass_check_config(tmp_path: Path) -> None:
    report = write_files(tmp_path, good_state().render())
    assert len(report.written) == 3
    assert stat.S_IMODE((tmp_path / "authkeys").stat().st_mode) == 0o600
    done = check_config(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "configuration OK" in done.stdout


def test_existing_files_need_confirmation_and_are_backed_up(tmp_path: Path) -> None:
    write_files(tmp_path, good_state().render())
    changed = good_state()
    changed.apply_preset("lan")
    diff = "".join(c.diff() for c in plan_changes(tmp_path, changed.render()))
    assert "-keepalive 200ms" in diff and "+keepalive 1" in diff
    with pytest.raises(OverwriteRefused):
        write_files(tmp_path, changed.render())
    assert "keepalive 200ms" in (tmp_path / "ha.cf").read_text()
    now = datetime(2026, 11, 25, 13, 5, 33)
    report = write_files(tmp_path, changed.render(), confirm=True, now=now)
    assert report.backups == [tmp_path / "ha.cf.bak-20261125130533"]
    assert "keepalive 200ms" in report.backups[0].read_text()
    assert report.unchanged == [tmp_path / "authkeys", tmp_path / "haresources"]
    assert not list(tmp_path.glob(".*.tmp"))


def test_authkeys_diff_never_shows_the_secret(tmp_path: Path) -> None:
    diff = "".join(c.diff() for c in plan_changes(tmp_path, good_state().render()))
    assert KEY not in diff and "<secret 32 chars" in diff


def test_import_reads_back_what_was_written(tmp_path: Path) -> None:
    state = good_state()
    state.media.append(Medium("mcast", "lo", group="239.0.0.9", port=7000, loop=True))
    write_files(tmp_path, state.render())
    back = read_existing(tmp_path)
    assert back is not None
    back.node = "alpha"
    back.peers = ["bravo"]
    assert back.render() == state.render()
    assert back.preset == "fast"


def test_answers_errors_are_specific(tmp_path: Path) -> None:
    with pytest.raises(AnswersError, match="unknown key"):
        state_from_answers({"nodes": ["a"]})
    with pytest.raises(AnswersError, match="timing: unknown preset"):
        state_from_answers({"timing": "turbo"})
    bad = tmp_path / "a.toml"
    bad.write_text("node = \n")
    out = tmp_path / "out"
    with (tmp_path / "log").open("w") as log:
        assert run_answers(bad, out, out=log) == 2
    assert "not valid TOML" in (tmp_path / "log").read_text()


def test_answers_refuse_and_write_nothing(tmp_path: Path) -> None:
    answers = tmp_path / "a.json"
    media = [{"kind": "ucast", "dev": "lo", "addresses": ["127.0.0.1", "127.0.0.2"]}]
    answers.write_text(json.dumps({"node": "alpha", "peers": ["bravo"], "timing": {
        "keepalive": "2", "deadtime": "3", "warntime": "1", "initdead": "20"},
        "media": media}))  # fmt: skip
    with (tmp_path / "log").open("w") as log:
        assert run_answers(answers, tmp_path / "etc", out=log) == 1
    assert "too small compared to keepalive" in (tmp_path / "log").read_text()
    assert not (tmp_path / "etc").exists()


def test_each_ucast_device_lists_every_node_address() -> None:
    """Only the peer's address leaves the peer deaf: it skips its own line."""
    state = good_state()
    state.media = [Medium("ucast", "eth0", peer="10.0.0.2")]
    assert "ucast eth0: 1 address(es) for 2 nodes" in messages(errors_of(state.check_media()))
    state.media.append(Medium("ucast", "eth0", peer="10.0.0.2"))
    assert "10.0.0.2 listed twice" in messages(errors_of(state.check_media()))
    state.media[1] = Medium("ucast", "eth0", peer="10.0.0.1")
    assert state.check_media() == []
    [warning] = state.check_media(local={"192.168.7.7"})
    assert warning.severity is Severity.WARNING
    assert "none of 10.0.0.2, 10.0.0.1 is this machine's" in warning.message


ANSWERS = """node = "alpha"
peers = ["bravo"]
timing = "fast"
media = [{kind = "ucast", dev = "lo", addresses = ["127.0.0.1", "127.0.0.2"]}]
groups = [{node = "alpha", resources = ["ocf:heartbeat:Dummy"]}]
log = {logfile = "/tmp/ha-log", logfacility = "none"}
"""


def answered(tmp_path: Path, text: str, name: str = "log") -> tuple[int, str]:
    answers = tmp_path / "a.toml"
    answers.write_text(text)
    with (tmp_path / name).open("w") as log:
        code = run_answers(answers, tmp_path / "etc", out=log)
    return code, (tmp_path / name).read_text()


def test_same_answers_without_a_key_give_the_same_files_and_exit_0(tmp_path: Path) -> None:
    code, first = answered(tmp_path, ANSWERS, "first")
    assert code == 0, first
    assert "no key in the answers: generated a new random key" in first
    written = {p.name: p.read_bytes() for p in (tmp_path / "etc").iterdir()}
    code, second = answered(tmp_path, ANSWERS, "second")
    assert code == 0, second
    assert f"reusing the key of {tmp_path / 'etc' / 'authkeys'}" in second
    assert "(no changes: the files on disk are identical)" in second
    assert {p.name: p.read_bytes() for p in (tmp_path / "etc").iterdir()} == written
    assert "used again" not in first + second  # several ucast addresses: one link
    assert (tmp_path / "etc" / "ha.cf").read_text().count("ucast lo 127.0.0.") == 2


def test_an_answers_error_is_reported_once_without_follow_ups(tmp_path: Path) -> None:
    code, text = answered(tmp_path, ANSWERS.replace('"127.0.0.2"', '"127.0.0.299"'))
    assert code == 1
    assert text.count("bad IP address [127.0.0.299]") == 1, text
    assert "No heartbeat media defined" not in text
    assert not (tmp_path / "etc").exists()
