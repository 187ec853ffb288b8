"""The review's STONITH probe: the engine's own ``--check-config`` on the files.

The wizard's step help promises that STONITH parameters are checked by the engine on
the review page; before this check a device missing a parameter its plugin needs
(``external/ssh`` without ``hostlist``) was shown "accepted" and written, and the
engine then refused to start on it. These run the real engine and the real
cluster-glue plugin.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, Static

from hatui.wizard.answers import run_answers
from hatui.wizard.enginecheck import engine_check
from hatui.wizard.state import Group, Medium, Stonith, WizardState
from tests.wizard.helpers import KEY, make_app, title, walk
from tests.wizard.test_pilot import ANSWERS, write_with

SSH_PLUGIN = Path("/usr/lib/stonith/plugins/external/ssh")
pytestmark = pytest.mark.skipif(
    not SSH_PLUGIN.exists(), reason=f"cluster-glue's {SSH_PLUGIN} is not installed"
)
MISSING = "Invalid Stonith configuration parameter [hostlist missing]"


def ssh_state(params: str) -> WizardState:
    return WizardState(
        node="alpha", peers=["bravo"], auth_key=KEY,
        media=[Medium("ucast", "lo", "127.0.0.1"), Medium("ucast", "lo", "127.0.0.2")],
        groups=[Group("alpha", ["ocf:heartbeat:Dummy"])],
        stonith=[Stonith("external/ssh", params)],
    )  # fmt: skip


def test_the_engine_refuses_a_device_missing_a_parameter_with_its_line() -> None:
    state = ssh_state("")
    verdict = engine_check(state.render().by_name(), "alpha", None)
    assert verdict.accepted is False
    line = next(n for n, t in enumerate(state.render().hacf.splitlines(), 1) if "stonith" in t)
    assert verdict.problems[0].startswith(f"ha.cf:{line}: error: {MISSING}"), verdict
    assert "hatui-wizard-" not in verdict.describe()  # the scratch dir never shows
    assert verdict.refusal().startswith("the engine refuses the files: ha.cf:")
    assert engine_check(ssh_state("bravo").render().by_name(), "alpha", None).accepted is True


def test_an_engine_that_does_not_answer_in_time_is_a_reason_not_a_pass() -> None:
    verdict = engine_check(ssh_state("bravo").render().by_name(), "alpha", None, timeout=0.01)
    assert verdict.accepted is None
    assert verdict.problems[0].startswith("timed out after")
    assert "could not run" in verdict.refusal()


def test_answers_naming_an_incomplete_device_write_nothing(tmp_path: Path) -> None:
    answers = tmp_path / "a.toml"
    text = ANSWERS.format(port=694, me="127.0.0.1", peer="127.0.0.2", group="239.0.0.42",
                          mport=7000, key=KEY, state="/var/log")  # fmt: skip
    answers.write_text(text + 'stonith = [{type = "external/ssh"}]\n')
    with (tmp_path / "log").open("w") as log:
        assert run_answers(answers, tmp_path / "etc", out=log) == 1
    printed = (tmp_path / "log").read_text()
    assert MISSING in printed and "nothing written" in printed
    assert not (tmp_path / "etc" / "ha.cf").exists()


async def test_the_review_probes_the_device_and_refuses_to_write_until_it_answers(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await walk(pilot, stonith="external/ssh")
        assert "Review" in title(pilot)
        findings = str(app.query_one("#review-findings", Static).render())
        assert "its STONITH probe follows" in findings
        await app.workers.wait_for_complete()
        await pilot.pause()
        said = str(app.query_one("#engine-check", Static).render())
        assert "refuses the files" in said and MISSING in said
        assert "not written: the engine refuses the files" in await write_with(pilot, app)
        assert not (tmp_path / "ha.cf").exists()
        # back to the STONITH step, give the plugin its hostlist, review again
        for _ in range(2):  # review → logging → STONITH
            await pilot.press("pageup")
            await pilot.pause()
        assert title(pilot).endswith("STONITH"), title(pilot)
        app.query_one("#stonith-params", Input).value = "bravo"
        await pilot.press("pagedown")
        await pilot.pause()
        await pilot.press("pagedown")  # logging
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        said = str(app.query_one("#engine-check", Static).render())
        assert said.startswith("✔ STONITH device probed"), said
        assert "wrote" in await write_with(pilot, app)
    assert "stonith_host * external/ssh bravo" in (tmp_path / "ha.cf").read_text()
