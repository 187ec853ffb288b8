"""Config reload on real engines in namespaces: invalid, key rotation, node added."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from tests.lab import Lab, engine_importable, lab_unavailable_reason, wait_until
from tests.lab.engine import EngineHandle, node_state, write_config

pytestmark = pytest.mark.netns
KEY1 = "reload-key-one-0123456789"
KEY2 = "reload-key-two-9876543210"


@pytest.fixture
def lab() -> Iterator[Lab]:
    reason = lab_unavailable_reason() or engine_importable()
    if reason:
        pytest.skip(reason)
    with Lab(["alpha", "bravo", "charlie"], networks=1, client=False) as lab:
        yield lab


def _configure(lab: Lab, name: str, nodes: Sequence[str]) -> Path:
    config_dir, state_dir = lab.node_dirs(name)
    media = [f"ucast eth0 {node.address(0)}" for node in lab.nodes.values()]
    write_config(config_dir, nodes, media, log_dir=state_dir, auth=("sha1", KEY1))
    return config_dir


def _authkeys(config_dir: Path, send: int) -> None:
    path = config_dir / "authkeys"
    tmp = config_dir / ".authkeys.tmp"
    tmp.write_text(f"auth {send}\n1 sha1 {KEY1}\n2 sha1 {KEY2}\n")
    tmp.chmod(0o600)
    tmp.rename(path)  # as editors do: the watcher must see the rename


def _log_count(engine: EngineHandle, text: str) -> int:
    return sum(text in line for line in engine.log_lines())


def _wait_log(engine: EngineHandle, text: str, before: int, timeout: float = 10.0) -> None:
    wait_until(
        lambda: _log_count(engine, text) > before,
        timeout,
        0.1,
        f"{engine.node.name} logs {text!r}",
    )


def _all_active(engines: dict[str, EngineHandle]) -> Callable[[], bool]:
    def check() -> bool:
        for engine in engines.values():
            status = engine.try_status()
            if status is None or any(node_state(status, n) != "active" for n in engines):
                return False
        return True

    return check


def _deaths(engine: EngineHandle) -> int:
    return int(engine.status()["counters"].get("deaths", 0))


def test_reload_invalid_then_key_rotation_then_node_added(lab: Lab) -> None:
    pair = ("alpha", "bravo")
    dirs = {name: _configure(lab, name, pair) for name in pair}
    engines = {name: lab.start_engine(name, dirs[name], lab.node_dirs(name)[1]) for name in pair}
    wait_until(_all_active(engines), 20, 0.1, "alpha and bravo active")
    alpha, bravo = engines["alpha"], engines["bravo"]

    # 1. invalid: rejected with the reason, old config stays, the cluster is untouched
    before = _log_count(alpha, "reload rejected")
    hacf = dirs["alpha"] / "ha.cf"
    good = hacf.read_text()
    hacf.write_text(good + "keepalive_typo 2\n")
    _wait_log(alpha, "reload rejected", before)
    assert any("keepalive_typo" in line for line in alpha.log_lines())
    assert alpha.alive() and node_state(alpha.status(), "bravo") == "active"
    assert alpha.status()["last_change"]["what"] == "reload"
    hacf.write_text(good)

    # 2. key rotation with two keys, one side at a time: nobody ever dies
    for name, send in (("alpha", 1), ("bravo", 1), ("alpha", 2), ("bravo", 2)):
        before = _log_count(engines[name], "configuration reloaded")
        _authkeys(dirs[name], send)
        _wait_log(engines[name], "configuration reloaded", before)
        wait_until(_all_active(engines), 5, 0.1, f"active after {name} auth {send}")
    wait_until(lambda: _all_active(engines)(), 3, 0.2, "still active")
    assert _deaths(alpha) == 0 and _deaths(bravo) == 0

    # 3. node added on both sides (SIGHUP on bravo), then charlie starts
    trio = ("alpha", "bravo", "charlie")
    for name in pair:
        before = _log_count(engines[name], "node(s) added: charlie")
        config_dir = dirs[name]
        text = (
            (config_dir / "ha.cf").read_text().replace("node bravo\n", "node bravo\nnode charlie\n")
        )
        (config_dir / "ha.cf").write_text(text)
        if name == "bravo":
            bravo.proc.send_signal(signal.SIGHUP)
        _wait_log(engines[name], "node(s) added: charlie", before)
    assert any(n["name"] == "charlie" for n in alpha.status()["nodes"])
    dirs["charlie"] = _configure(lab, "charlie", trio)
    _authkeys(dirs["charlie"], 2)
    engines["charlie"] = lab.start_engine("charlie", dirs["charlie"], lab.node_dirs("charlie")[1])
    wait_until(_all_active(engines), 20, 0.1, "alpha, bravo, charlie active")
    assert node_state(alpha.status(), "bravo") == "active"
    assert alpha.alive() and bravo.alive()
