"""hactl against a real ControlServer (in a thread) serving a fixed status document."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from engine.programs.hactl import main, rsc_status
from tests.control.conftest import STATUS_DOC, ServerThread, fork_as_nobody, reap


def hactl(
    served: ServerThread, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, str, str]:
    code = main(["--socket", str(served.path), *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


CL_STATUS_CASES = [
    # argv, exit code, exact stdout
    (["hbstatus"], 0, "Heartbeat is running on this machine.\n"),
    (["listnodes"], 0, "10.99.0.254\ncharlie\nbravo\nalpha\n"),
    (["listnodes", "-n"], 0, "charlie\nbravo\nalpha\n"),
    (["listnodes", "-p"], 0, "10.99.0.254\n"),
    (["listnodes", "-n", "-p"], 0, "10.99.0.254\ncharlie\nbravo\nalpha\n"),
    (["listnodes", "-m", "-p"], 0, "The nodes are as follow:\n10.99.0.254\n"),
    (["nodestatus", "alpha"], 0, "active\n"),
    (["nodestatus", "charlie"], 1, "dead\n"),
    (["nodestatus", "10.99.0.254"], 0, "ping\n"),
    (["nodestatus", "-m", "bravo"], 0, "The cluster node bravo is active\n"),
    (["nodetype", "bravo"], 0, "normal\n"),
    (["nodetype", "10.99.0.254"], 0, "ping\n"),
    (["nodetype", "-m", "bravo"], 0, "The node bravo's type: normal\n"),
    (["nodeweight", "bravo"], 0, "100\n"),
    (["nodesite", "bravo"], 0, "\n"),
    (["listhblinks", "bravo"], 0, "\teth1\n\teth0\n"),
    (["listhblinks", "-v", "bravo"], 0, "\teth1\tdead\n\teth0\tup\n"),
    (
        ["listhblinks", "-m", "alpha"],
        0,
        "\tthis node has the following heartbeat links:\n\teth1\n\teth0\n",
    ),
    (["hblinkstatus", "bravo", "eth0"], 0, "up\n"),
    (["hblinkstatus", "bravo", "eth1"], 1, "dead\n"),
    (["hblinkstatus", "-m", "bravo", "eth0"], 0, "The node bravo's heartbeat link eth0 is up\n"),
    (["rscstatus"], 0, "local\n"),
    (["rscstatus", "-m"], 0, "This node is holding local resources.\n"),
    (["hbparameter", "-p", "deadtime"], 0, "3\n"),
    (["hbparameter", "-m", "-p", "keepalive"], 0, "Heartbeat parameter keepalive's value: 1\n"),
]


@pytest.mark.parametrize(("argv", "code", "stdout"), CL_STATUS_CASES)
def test_cl_status_verbs_print_what_cl_status_prints(
    served: ServerThread,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    code: int,
    stdout: str,
) -> None:
    got_code, out, err = hactl(served, capsys, *argv)
    assert (got_code, out, err) == (code, stdout, "")


ERROR_CASES = [
    (["nodestatus", "zulu"], 11, "Error. May be due to incorrect node name\n"),
    (["nodestatus"], 11, "Not enough parameters.\n"),
    (["nodetype", "zulu"], 11, "Error. May be due to incorrect node name\n"),
    (["nodetype"], 11, "No enough parameter.\n"),
    (["nodeweight", "zulu"], 11, "Error. Maybe due to incorrect node name.\n"),
    (["listhblinks"], 11, "No enough parameter.\n"),
    (
        ["listhblinks", "zulu"],
        13,
        "ERROR: Cannot start heartbeat link interface walk.\nERROR: REASON: unknown node 'zulu'\n",
    ),
    (["hblinkstatus", "bravo"], 11, "No enough parameter.\n"),
    (
        ["hblinkstatus", "bravo", "wlan0"],
        13,
        "ERROR: Cannot get heartbeat link status\nERROR: REASON: unknown link 'wlan0'\n",
    ),
    (
        ["hblinkstatus", "zulu", "eth0"],
        13,
        "ERROR: Cannot get heartbeat link status\nERROR: REASON: unknown node 'zulu'\n",
    ),
    (
        ["hbparameter", "-p", "baud"],
        1,
        "ERROR: Cannot get parameter baud's value\nERROR: REASON: \n",
    ),
    (["hbparameter"], 11, "ERROR: parameter name required\n"),
]


@pytest.mark.parametrize(("argv", "code", "stderr"), ERROR_CASES)
def test_cl_status_errors(
    served: ServerThread,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    code: int,
    stderr: str,
) -> None:
    assert hactl(served, capsys, *argv) == (code, "", stderr)


def test_bad_option_of_a_cl_status_verb_exits_11(
    served: ServerThread, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = hactl(served, capsys, "nodestatus", "-x", "alpha")
    assert (code, out) == (11, "")
    assert "unrecognized arguments: -x" in err


def test_hbstatus_verbose(served: ServerThread, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = hactl(served, capsys, "hbstatus", "-v")
    assert code == 0
    assert out == (
        "version:\t3.0.6 (node: test)\n"
        'managed by:\t"haresources"\n'
        "\n10.99.0.254\tping\t(nodetype: ping)\n\t10.99.0.254\tup\n"
        "\ncharlie\tdead\t(nodetype: normal)\n\teth0\tdead\n"
        "\nbravo\tactive\t(nodetype: normal)\n\teth1\tdead\n\teth0\tup\n"
        "\nalpha\tactive\t(nodetype: normal)\n\teth1\tdead\n\teth0\tdead\n"
    )


def test_status_json_is_the_document(
    served: ServerThread, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = hactl(served, capsys, "status", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == STATUS_DOC
    assert out.startswith('{\n  "node": "alpha"')


def test_status_human(served: ServerThread, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = hactl(served, capsys, "status")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("Node alpha: active (generation 1795611934")
    assert any(line.split()[:3] == ["bravo", "active", "normal"] for line in lines)
    assert any("link eth0" in line and "up" in line and "120 ms ago" in line for line in lines)
    assert any("link eth1" in line and "dead" in line and "never" in line for line in lines)
    assert any(
        "IPaddr2::10.99.0.10/24/eth0" in line and "running" in line and "held by alpha" in line
        for line in lines
    )
    assert "    reason: home node alpha is active" in lines
    # Node order in the human view is configuration order.
    names = [line.split()[0] for line in lines if line.startswith("  ") and "link" not in line]
    assert names[:4] == ["alpha", "bravo", "charlie", "10.99.0.254"]


def test_standby_and_takeover(served: ServerThread, capsys: pytest.CaptureFixture[str]) -> None:
    if os.getuid() != 0:
        pytest.skip("standby as a test user is forbidden unless root")
    assert hactl(served, capsys, "standby") == (0, "standby all: accepted\n", "")
    assert hactl(served, capsys, "takeover", "failback") == (
        0,
        "takeover failback: accepted\n",
        "",
    )
    assert served.handler.acts == [
        ("standby", {"which": "all"}, 0),
        ("takeover", {"which": "failback"}, 0),
    ]
    served.handler.refuse = "local resources in flux"
    assert hactl(served, capsys, "standby", "local") == (
        1,
        "",
        "hactl: standby local refused: local resources in flux\n",
    )


def test_standby_by_nobody_is_forbidden(served: ServerThread, sock_dir: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to run hactl as user nobody")
    out_dir = sock_dir / "child"
    out_dir.mkdir()
    os.chmod(out_dir, 0o777)
    pid = fork_as_nobody(lambda: main(["--socket", str(served.path), "standby", "all"]), out_dir)
    assert reap(pid) == 4
    err = (out_dir / "err").read_text()
    assert "standby is not allowed for user nobody" in err
    assert "'haclient'" in err
    assert served.handler.acts == []


def test_unreachable_engine(sock_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = sock_dir / "control.sock"
    assert main(["--socket", str(missing), "status"]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"hactl: cannot reach the engine at {missing}: No such file or directory "
        "(is haengine running? see --state-dir)\n"
    )
    assert main(["--state-dir", str(sock_dir), "hbstatus"]) == 1
    assert capsys.readouterr().out == "Heartbeat is stopped on this machine.\n"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(missing))
    stale.close()
    assert main(["--state-dir", str(sock_dir), "hbstatus", "-v"]) == 1
    assert capsys.readouterr().out == (
        "Heartbeat is stopped on this machine.\n(Connection refused)\n"
    )


def test_timeout_exits_12(served: ServerThread, capsys: pytest.CaptureFixture[str]) -> None:
    if os.getuid() != 0:
        pytest.skip("the hanging verb is a mutating one; needs root")
    served.handler.hang = True
    code, _, err = hactl(served, capsys, "--timeout", "0.2", "standby")
    assert code == 12
    assert "no answer from the engine" in err and "within 0.2 s" in err


def test_help_mentions_reverse_order(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "REVERSE" in capsys.readouterr().out


def test_rsc_status_rules() -> None:
    doc = {"resources": {"mode": "nice_failback", "i_hold": "all", "stable": True}}
    assert rsc_status(doc) == "all"
    assert (
        rsc_status({"resources": {"mode": "nice_failback", "i_hold": "local", "stable": False}})
        == "transition"
    )
    assert rsc_status({"resources": {"mode": "legacy", "i_hold": "all", "stable": True}}) == "none"
    assert rsc_status({}) == "none"


def test_status_human_shows_monitoring_briefly() -> None:
    import time

    from engine.programs.hactl import format_status

    group = {
        "key": "IPaddr2::10.99.0.10/24/eth0",
        "home": "alpha",
        "held_by": "alpha",
        "state": "running",
        "reason": "monitor: hbweb timeout (timed out after 2.0 s); restarted on alpha",
        "resources": [
            {"name": "IPaddr2::10.99.0.10/24/eth0", "state": "running",
             "monitor": {"result": "ok", "time": time.time() - 3, "reason": ""}},
            {"name": "hbweb", "state": "failed",
             "monitor": {"result": "timeout", "time": time.time(), "reason": "timed out"}},
            {"name": "never", "state": "stopped", "monitor": {"result": None}},
        ],
        "monitor": {"enabled": True, "failures": 1, "recovery": "restarted",
                    "reason": "monitor: hbweb timeout; restarted on alpha"},
    }  # fmt: skip
    lines = format_status({"node": "alpha", "groups": [group]}).splitlines()
    assert "    IPaddr2::10.99.0.10/24/eth0  running  (monitor ok 3 s ago)" in lines
    assert "    hbweb  failed  (monitor timeout 0 s ago: timed out)" in lines
    assert "    never  stopped" in lines
    assert (
        "    monitor: 1 failure(s) in the window, recovery restarted: "
        "monitor: hbweb timeout; restarted on alpha"
    ) in lines
    group["monitor"] = {"enabled": False}
    lines = format_status({"groups": [group]}).splitlines()
    assert not any(ln.startswith("    monitor:") for ln in lines)


def test_status_human_shows_a_peer_not_confirmed_fresh() -> None:
    from engine.programs.hactl import format_status

    bravo = {
        "name": "bravo", "type": "normal", "self": False, "status": "up", "confirmed": False,
        "claims": "active", "generation": 7, "last_heard_ms": None, "links": [],
        "freshness": "unconfirmed: 3 packet(s) did not show that it heard us since our seq 1",
    }  # fmt: skip
    lines = format_status({"node": "alpha", "nodes": [bravo]}).splitlines()
    assert any(line.startswith("  bravo            up (unconfirmed) normal") for line in lines)
    alpha = {"name": "alpha", "type": "normal", "self": True, "status": "active", "links": []}
    lines = format_status({"node": "alpha", "nodes": [alpha, bravo]}).splitlines()
    rows = [line for line in lines if line.startswith(("  alpha ", "  bravo "))]
    assert len(rows) == 2 and len({row.index("normal") for row in rows}) == 1, lines
    assert "    unconfirmed: 3 packet(s) did not show that it heard us since our seq 1" in lines
    bravo.update(status="active", confirmed=True, freshness="fresh: it acknowledged our seq 9")
    lines = format_status({"node": "alpha", "nodes": [bravo]}).splitlines()
    assert any(line.startswith("  bravo            active  normal") for line in lines)
    assert not any("fresh" in line for line in lines)


def test_status_human_says_what_one_way_loss_released() -> None:
    from engine.programs.hactl import format_status

    key = "IPaddr2::10.99.0.10/24/eth0"
    view = {"state": "released", "peer": "bravo", "peer_hears_us": False, "groups": [key],
            "reason": "one-way loss: bravo claims it", "releases": 1}  # fmt: skip
    resources = {"mode": "nice_failback", "i_hold": "none", "stable": True, "one_way": view}
    lines = format_status({"node": "alpha", "resources": resources}).splitlines()
    assert f"one-way loss: released {key}: bravo claims it" in lines
    view["state"] = "watching"
    assert not any("one-way" in ln for ln in format_status({"resources": resources}).splitlines())


@pytest.mark.parametrize(
    ("fields", "code", "shown"),
    [
        ({"status": "init"}, 1, "init"),  # still starting: cl_status exits 1 too
        ({"status": "up", "confirmed": False}, 1, "up"),  # may be replays: not up yet
        ({"status": "up", "confirmed": True}, 0, "up"),
    ],
)
def test_nodestatus_exit_follows_the_one_rule_of_up(
    served: ServerThread,
    capsys: pytest.CaptureFixture[str],
    fields: dict[str, object],
    code: int,
    shown: str,
) -> None:
    bravo = next(n for n in served.handler.doc["nodes"] if n["name"] == "bravo")
    bravo.update(fields)
    assert hactl(served, capsys, "nodestatus", "bravo") == (code, f"{shown}\n", "")
    status = hactl(served, capsys, "status")[1]
    word = "up (unconfirmed)" if fields.get("confirmed") is False else shown
    assert f"  bravo            {word:<7} normal" in status
