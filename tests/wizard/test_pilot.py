"""Pilot walks through ``hatui setup``: refusals at the step, written files, answers parity."""

from __future__ import annotations

import os
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Checkbox, TextArea

from hatui.wizard.answers import run_answers
from hatui.wizard.choice import GlyphRadio
from tests.integration.loopback import Node, free_port, node_status, wait_for
from tests.wizard.helpers import KEY, fill, make_app, next_step, problems, title, walk
from tests.wizard.test_state import check_config


async def write_with(pilot: object, app: object) -> str:
    await pilot.pause()  # type: ignore[attr-defined]
    app.query_one("#write").press()  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    return str(app.query_one("#outcome").render())  # type: ignore[attr-defined]


async def test_walk_end_to_end_writes_files_check_config_accepts(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await walk(pilot, mcast="lo 239.0.0.42 7000 1 1")
        assert "Review" in title(pilot)
        assert "accepted by the engine" in str(app.query_one("#review-findings").render())
        outcome = await write_with(pilot, app)
    assert "wrote" in outcome and "scp -p" in outcome and "root@bravo:" in outcome
    assert oct((tmp_path / "authkeys").stat().st_mode & 0o777) == "0o600"
    assert "mcast lo 239.0.0.42 7000 1 1" in (tmp_path / "ha.cf").read_text()
    done = check_config(tmp_path)
    assert done.returncode == 0, done.stdout


async def test_bad_ip_refused_at_the_media_step(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await fill(pilot, "#node", "alpha")
        await next_step(pilot)
        await fill(pilot, "#peers", "bravo")
        await next_step(pilot)
        await fill(pilot, "#ucast", "eth0 10.0.0.256")
        await next_step(pilot)
        assert "Heartbeat media" in title(pilot)
        assert "bad IP address [10.0.0.256]" in problems(pilot)
        await fill(pilot, "#ucast", "eth0 10.0.0.2")
        await next_step(pilot)
        assert "ucast eth0: 1 address(es) for 2 nodes" in problems(pilot)
        await fill(pilot, "#ucast", "eth0 10.0.0.1 10.0.0.2")
        await next_step(pilot, past_warnings=False)
        assert "none of 10.0.0.1, 10.0.0.2 is this machine's" in problems(pilot)
        await next_step(pilot, past_warnings=False)
        assert "Timing" in title(pilot)


async def test_deadtime_refused_at_the_timing_step(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await walk(pilot)
        for _ in range(5):
            await pilot.press("pageup")
        await pilot.pause()
        assert "Timing" in title(pilot)
        await fill(pilot, "#keepalive", "2")
        await fill(pilot, "#deadtime", "4")
        await next_step(pilot)
        assert "Timing" in title(pilot)
        # quoted as typed (seconds), not in Heartbeat's milliseconds
        assert "Dead time [4 s] is too small compared to keepalive [2 s]" in problems(pilot)
        assert "raise deadtime above 4 s" in problems(pilot)


async def test_unknown_node_refused_at_the_resources_step(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await walk(pilot, groups="charlie IPaddr2::10.99.0.10/24/eth0")
        assert "Resource groups" in title(pilot)
        assert "Bad nodename in haresources [charlie]" in problems(pilot)


async def test_existing_files_are_not_replaced_without_confirmation(tmp_path: Path) -> None:
    (tmp_path / "ha.cf").write_text("# hand-written\n")
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await walk(pilot)
        assert app.query_one("#confirm", Checkbox).display
        assert "-# hand-written" in app.diff_text
        assert "not written" in await write_with(pilot, app)
        assert (tmp_path / "ha.cf").read_text() == "# hand-written\n"
        app.query_one("#confirm", Checkbox).value = True
        await pilot.pause()
        assert "backup" in await write_with(pilot, app)
    backups = [p for p in os.listdir(tmp_path) if p.startswith("ha.cf.bak-")]
    assert len(backups) == 1


async def test_the_resources_form_builds_ipaddr2_tokens(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await walk(pilot, groups="")
        await pilot.press("pageup", "pageup", "pageup")
        await pilot.pause()
        step = app.step
        step.query_one("#agent").value = "IPaddr2"  # type: ignore[attr-defined]
        await fill(pilot, "#arg1", "10.99.0.10")
        await fill(pilot, "#arg2", "24")
        await fill(pilot, "#arg3", "eth0")
        step.query_one("#add").press()  # type: ignore[attr-defined]
        await pilot.pause()
        assert step.query_one("#groups").text == "alpha IPaddr2::10.99.0.10/24/eth0"  # type: ignore[attr-defined]


ANSWERS = """
node = "alpha"
peers = ["bravo"]
udpport = {port}
timing = "fast"
media = [{{kind = "ucast", dev = "lo", addresses = ["{me}", "{peer}"]}},
         {{kind = "mcast", dev = "lo", group = "{group}", port = {mport}, ttl = 1, loop = true}}]
auth = {{method = "sha256", key = "{key}"}}
groups = [{{node = "alpha", resources = ["ocf:heartbeat:Dummy"]}}]
log = {{logfile = "{state}/ha-log", debugfile = "{state}/ha-debug", logfacility = "none"}}
"""


async def test_answers_produce_the_same_files_as_the_screens(tmp_path: Path) -> None:
    interactive, automated = tmp_path / "ui", tmp_path / "answers"
    answers = tmp_path / "a.toml"
    answers.write_text(ANSWERS.format(port=694, me="127.0.0.1", peer="127.0.0.2",
                                      group="239.0.0.42", mport=7000, key=KEY,
                                      state="/var/log"))  # fmt: skip
    with (tmp_path / "log").open("w") as log:
        assert run_answers(answers, automated, out=log) == 0
    printed = (tmp_path / "log").read_text()
    assert f"scp -p {automated}/ha.cf {automated}/authkeys {automated}/haresources " \
           f"root@bravo:{automated}/" in printed  # fmt: skip
    app = make_app(interactive)
    app.state.logfile, app.state.debugfile, app.state.logfacility = (
        "/var/log/ha-log", "/var/log/ha-debug", "none",
    )  # fmt: skip
    async with app.run_test(size=(80, 24)) as pilot:
        await walk(pilot, mcast="lo 239.0.0.42 7000 1 1")
        await write_with(pilot, app)
    for name in ("ha.cf", "authkeys", "haresources"):
        assert (interactive / name).read_text() == (automated / name).read_text(), name


def loopback_answers(tmp_path: Path) -> tuple[Node, Node]:
    """alpha and bravo configured by the wizard for 127.0.x.{11,12}, ucast + mcast on lo."""
    port, mport = free_port(), free_port()
    group = f"239.0.{os.getpid() % 250}.{mport % 250}"
    net = f"127.0.{port % 200 + 20}"
    nodes = []
    for me, peer, mine, theirs in (("alpha", "bravo", 11, 12), ("bravo", "alpha", 12, 11)):
        node = Node(me, f"{net}.{mine}", tmp_path / me / "etc", tmp_path / me / "state")
        node.state_dir.mkdir(parents=True)
        addresses = sorted([f"{net}.{mine}", f"{net}.{theirs}"])
        text = ANSWERS.format(port=port, me=addresses[0], peer=addresses[1], group=group,
                              mport=mport, key=KEY, state=node.state_dir)  # fmt: skip
        text = text.replace('node = "alpha"', f'node = "{me}"')
        text = text.replace('peers = ["bravo"]', f'peers = ["{peer}"]')
        nodes.append((node, text))
    return nodes[0][0], nodes[1][0], nodes[0][1], nodes[1][1]  # type: ignore[return-value]


async def test_two_engines_from_wizard_files_form_a_cluster(tmp_path: Path) -> None:
    alpha, bravo, alpha_answers, bravo_answers = loopback_answers(tmp_path)  # type: ignore[misc]
    (tmp_path / "bravo.toml").write_text(bravo_answers)
    with (tmp_path / "log").open("w") as log:
        assert run_answers(tmp_path / "bravo.toml", bravo.config_dir, out=log) == 0
    (tmp_path / "alpha.toml").write_text(alpha_answers)
    from hatui.wizard.answers import load_answers, state_from_answers

    app = make_app(
        alpha.config_dir, state=state_from_answers(load_answers(tmp_path / "alpha.toml"))
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for _ in range(8):
            await next_step(pilot)
        assert "Review" in title(pilot)
        assert "wrote" in await write_with(pilot, app)
    try:
        alpha.start()
        bravo.start()
        wait_for(lambda: node_status(alpha.status(), "bravo") == "active", 20)
        wait_for(lambda: node_status(bravo.status(), "alpha") == "active", 20)
    finally:
        alpha.kill()
        bravo.kill()


MARKUP = r"[/cidr[/nic\[/broadcast] [b]x[/b]"
"""Text that Rich/Textual markup would choke on (it crashed step 6 once)."""


async def refused_as_typed(pilot: Pilot[int], selector: str, text: str, expected: str) -> None:
    """Fill ``selector`` with ``text``, press Next: the step stays and quotes it."""
    before = title(pilot)
    if selector == "#groups":
        pilot.app.query_one("#groups", TextArea).text = text
        await pilot.pause()
    else:
        await fill(pilot, selector, text)
    await next_step(pilot, past_warnings=False)
    assert title(pilot) == before
    assert expected in problems(pilot), problems(pilot)


async def test_markup_like_input_on_every_step_is_plain_text(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await refused_as_typed(pilot, "#node", MARKUP, "Invalid node name [[/cidr[/nic\\[")
        await fill(pilot, "#node", "alpha")
        await next_step(pilot)
        await refused_as_typed(pilot, "#peers", MARKUP, "Invalid node name [[/cidr[/nic\\[")
        await fill(pilot, "#peers", "bravo")
        await next_step(pilot)
        await refused_as_typed(pilot, "#ucast", f"lo {MARKUP}", "bad IP address [[/cidr")
        await fill(pilot, "#ucast", "lo 127.0.0.1 127.0.0.2")
        await refused_as_typed(pilot, "#bcast", MARKUP, "invalid interface name [[/cidr")
        await fill(pilot, "#bcast", "")
        await next_step(pilot)
        await refused_as_typed(pilot, "#keepalive", MARKUP, f"Bad keepalive [{MARKUP}]")
        await fill(pilot, "#keepalive", "1")
        await next_step(pilot)
        await next_step(pilot)  # auth
        step = app.step
        await fill(pilot, "#arg1", MARKUP)
        step.query_one("#add").press()  # type: ignore[attr-defined]
        await pilot.pause()
        assert f"not added: Too many '/' parts in [{MARKUP}]" in str(
            step.query_one("#add-result").render()
        )
        await refused_as_typed(pilot, "#groups", f"alpha {MARKUP}", "Invalid resource script")
        app.query_one("#groups", TextArea).text = "alpha ocf:heartbeat:Dummy"
        await next_step(pilot)
        await refused_as_typed(pilot, "#stonith-type", MARKUP, "Bad STONITH type [[/cidr")
        await fill(pilot, "#stonith-type", "")
        await next_step(pilot)
        await refused_as_typed(pilot, "#logfile", MARKUP, f"Bad logfile [{MARKUP}]")
        await fill(pilot, "#logfile", "/var/log/ha-log")
        await next_step(pilot)
        assert "Review" in title(pilot)
        assert app.is_running


async def test_timing_preset_follows_typed_values_and_radios_show_a_glyph(
    tmp_path: Path,
) -> None:
    """After custom values the preset is no longer "LAN default"; under NO_COLOR the
    choice is still visible (◉/○, not colour only)."""
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await walk(pilot)
        for _ in range(5):
            await pilot.press("pageup")
        await pilot.pause()
        buttons = {str(b.name): b for b in app.step.query(GlyphRadio)}
        assert buttons["fast"].value and "◉" in str(buttons["fast"].render())
        assert "○" in str(buttons["lan"].render())
        await fill(pilot, "#keepalive", "2")
        assert buttons["custom"].value and not buttons["fast"].value
        assert "custom values: keepalive 2, warntime 600ms" in str(buttons["custom"].label)
        await fill(pilot, "#keepalive", "200ms")  # the fast preset's values again
        assert buttons["fast"].value and str(buttons["custom"].label) == "custom values"
        await pilot.press("pagedown", "pagedown")
        await pilot.pause()
        assert "Resource groups" in title(pilot)
        assert app.focused is app.step.query_one("#agent")  # step 6 starts at the picker
