"""Every resource form the wizard offers is accepted by ``--check-config`` and resolves.

The machine is a small, real directory tree (executable scripts in resource.d, init.d
and an OCF root); the engine's own resolver decides whether each written token names
something it can run, as it will at takeover.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Select

from engine.config import resource_from_token
from engine.resources.resolve import AgentResolver
from hatui.wizard.discover import Agent, Discovery, list_agents, service_units
from hatui.wizard.state import FS_FORM, IP_FORM, Group, WizardState
from tests.wizard.helpers import FOUND, make_app, next_step, title, walk
from tests.wizard.test_pilot import write_with
from tests.wizard.test_state import check_config, good_state, messages

SCRIPT = "#!/bin/sh\nexit 0\n"


def machine(root: Path) -> tuple[Path, Path, Path]:
    """config dir, init.d and OCF root holding a few executable agents."""
    config_dir, init_d, ocf_root = root / "ha.d", root / "init.d", root / "ocf"
    scripts = [
        config_dir / "resource.d" / "sitescript",
        config_dir / "resource.d" / "IPaddr2",  # Heartbeat's wrapper: offered once
        init_d / "apache2",
        init_d / "rc",  # init's own: not offered
        ocf_root / "resource.d" / "heartbeat" / "Dummy",
        ocf_root / "resource.d" / "heartbeat" / "IPaddr2",
        ocf_root / "resource.d" / "heartbeat" / "Filesystem",
        ocf_root / "resource.d" / "pacemaker" / "Stateful",
    ]
    for script in scripts:
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_text(SCRIPT)
        script.chmod(0o755)
    (init_d / "README").write_text("not a script\n")
    return config_dir, init_d, ocf_root


def offered(root: Path) -> list[Agent]:
    config_dir, init_d, ocf_root = machine(root)
    return list_agents(config_dir, ocf_root / "resource.d", init_d, units=["nginx.service"])


def test_agents_are_offered_in_the_form_the_engine_takes(tmp_path: Path) -> None:
    agents = {agent.name: agent.kind for agent in offered(tmp_path)}
    assert agents == {
        "sitescript": "heartbeat",
        "IPaddr2": "heartbeat",
        "apache2": "lsb",
        "ocf:heartbeat:Dummy": "ocf",
        "ocf:heartbeat:Filesystem": "ocf",
        "ocf:heartbeat:IPaddr2": "ocf",
        "ocf:pacemaker:Stateful": "ocf",
        "systemd:nginx.service": "systemd",
    }


def test_the_cluster_stack_and_boot_scripts_are_not_offered(tmp_path: Path) -> None:
    """heartbeat, corosync, pacemaker run the resources; hwclock.sh sets up the machine."""
    config_dir, init_d, ocf_root = machine(tmp_path)
    for name in ("heartbeat", "corosync", "pacemaker", "pcsd", "logd"):
        (init_d / name).write_text(SCRIPT)
        (init_d / name).chmod(0o755)
    (init_d / "hwclock.sh").write_text("#!/bin/sh\n### BEGIN INIT INFO\n# Default-Start: S\n")
    (init_d / "hwclock.sh").chmod(0o755)
    listing = "\n".join(f"{u} enabled enabled" for u in (
        "nginx.service", "corosync.service", "pacemaker.service", "haengine.service",
        "getty@.service", "ssh.socket"))  # fmt: skip
    names = {a.name for a in list_agents(config_dir, ocf_root / "resource.d", init_d,
                                         units=service_units(listing))}  # fmt: skip
    assert "apache2" in names and "systemd:nginx.service" in names
    assert not names & {"heartbeat", "corosync", "pacemaker", "pcsd", "logd", "hwclock.sh",
                        "systemd:corosync.service", "systemd:pacemaker.service",
                        "systemd:haengine.service", "systemd:getty@.service",
                        "systemd:ssh.socket"}  # fmt: skip


def arguments(agent: str) -> tuple[str, str, str]:
    """What an operator types into the three fields for each kind of agent."""
    if agent == IP_FORM:
        return ("10.99.0.10", "24", "eth0")
    if agent == FS_FORM:
        return ("/dev/sdb1", "/data", "ext4")
    if agent.startswith("ocf:"):
        return ("state=/run/x.state", "", "")
    if agent.startswith("systemd:"):
        return ("", "", "")
    return ("arg1", "", "")


async def test_every_form_passes_check_config_and_resolves(tmp_path: Path) -> None:
    agents = offered(tmp_path / "machine")
    config_dir = tmp_path / "machine" / "ha.d"
    app = make_app(config_dir, discovery=Discovery(FOUND.interfaces, [], agents))
    async with app.run_test(size=(100, 30)) as pilot:
        await walk(pilot, groups="")
        await pilot.press("pageup", "pageup", "pageup")
        await pilot.pause()
        assert "Resource groups" in title(pilot)
        step = app.step
        choices = step.query_one("#agent", Select)._options
        options = [value for _label, value in choices if isinstance(value, str)]
        assert options[:2] == [IP_FORM, FS_FORM] and len(options) == 2 + len(agents) - 1
        for agent in options:
            step.query_one("#agent", Select).value = agent
            await pilot.pause()
            for number, text in enumerate(arguments(agent), 1):
                step.query_one(f"#arg{number}", Input).value = text
            step.query_one("#add").press()  # type: ignore[attr-defined]
            await pilot.pause()
        for _ in range(3):  # STONITH, logging, review
            await next_step(pilot)
        assert "Review" in title(pilot)
        assert "accepted by the engine" in str(app.query_one("#review-findings").render())
        assert "wrote" in await write_with(pilot, app)
    tokens = (config_dir / "haresources").read_text().splitlines()[-1].split()[1:]
    assert "systemd:nginx.service" in tokens and "IPaddr2::10.99.0.10/24/eth0" in tokens
    assert len(tokens) == len(options)
    done = check_config(config_dir)
    assert done.returncode == 0 and "ERROR" not in done.stdout, done.stdout
    resolve = AgentResolver(config_dir, tmp_path / "machine" / "init.d",
                            tmp_path / "machine" / "ocf")  # fmt: skip
    for token in tokens:
        resolve(resource_from_token(token))  # raises ResourceError when it cannot run


def test_forms_the_engine_would_refuse_are_refused_at_the_step() -> None:
    state = good_state()
    state.groups = [Group("alpha", ["systemd:nginx.service::x"])]
    assert "systemd units take no '::' arguments" in messages(state.check_resources())
    state.groups = [Group("alpha", ["ocf:heartbeat:Dummy::/run/x"])]
    assert "takes key=value arguments, got [/run/x]" in messages(state.check_resources())
    state.groups = [Group("alpha", ["ocf:Dummy"])]
    assert "expected ocf:PROVIDER:TYPE" in messages(state.check_resources())
    state.groups = [Group("alpha", ["IPaddr2::10.0.0.300/24"])]
    assert "Bad IP address [10.0.0.300]" in messages(state.check_resources())


def test_cluster_ips_carry_their_interface() -> None:
    state = WizardState(node="alpha", peers=["bravo"])
    state.groups = [
        Group("alpha", ["IPaddr2::10.99.0.10/24/eth1:0", "10.99.0.11", "apache2"]),
        Group("bravo", ["IPaddr::10.99.0.12/24/10.99.0.255", "ocf:heartbeat:Dummy"]),
    ]
    assert state.cluster_ips() == [("10.99.0.10", "eth1"), ("10.99.0.11", ""),
                                   ("10.99.0.12", "")]  # fmt: skip
