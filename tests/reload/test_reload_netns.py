"""Config reload on real engines in namespaces: invalid, key rotation, node added."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from lab import Lab, engine_importable, lab_unavailable_reason, wait_until
from lab.engine import EngineHandle, node_state, write_config

pytestmark = pytest.mark.netns
KEY1 = "reload-key-one-0123456789"
KEY2 = "reload-key-two-9876543210"


LabFactory = Callable[[Sequence[str]], Lab]


@pytest.fixture
def make_lab() -> Iterator[LabFactory]:
    """Each test builds its own lab with the nodes it needs (torn down afterwards)."""
    reason = lab_unavailable_reason() or engine_importable()
    if reason:
        pytest.skip(reason)
    with contextlib.ExitStack() as stack:
        yield lambda names: stack.enter_context(Lab(list(names), networks=1, client=False))


def _pair(lab: Lab) -> tuple[dict[str, Path], dict[str, EngineHandle]]:
    """alpha and bravo configured for each other (key 1) and both active."""
    pair = ("alpha", "bravo")
    dirs = {name: _configure(lab, name, pair) for name in pair}
    engines = {name: lab.start_engine(name, dirs[name], lab.node_dirs(name)[1]) for name in pair}
    wait_until(_all_active(engines), 20, 0.1, "alpha and bravo active")
    return dirs, engines


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


def _heard_ms(status: dict[str, Any], node: str) -> int:
    """How long ago the status' owner last accepted a packet from ``node`` (any link)."""
    entry = next(n for n in status["nodes"] if n["name"] == node)
    heard = [link["last_heard_ms"] for link in entry["links"] if link["last_heard_ms"] is not None]
    return min(heard, default=10**9)


def _deaths(engine: EngineHandle) -> int:
    return int(engine.status()["counters"].get("deaths", 0))


def test_invalid_reload_is_rejected_and_the_old_config_stays(make_lab: LabFactory) -> None:
    dirs, engines = _pair(make_lab(["alpha", "bravo"]))
    alpha = engines["alpha"]
    hacf = dirs["alpha"] / "ha.cf"
    good = hacf.read_text()
    assert "keepalive 200ms\n" in good
    changed = good.replace("keepalive 200ms\n", "keepalive 300ms\n")
    before = _log_count(alpha, "reload rejected")
    hacf.write_text(changed + "keepalive_typo 2\n")
    _wait_log(alpha, "reload rejected", before)
    assert any("keepalive_typo" in line for line in alpha.log_lines())
    status = alpha.status()
    assert alpha.alive() and node_state(status, "bravo") == "active"
    assert status["last_change"]["what"] == "reload"
    assert status["timing"]["keepalive_ms"] == 200  # nothing of the rejected file applied
    before = _log_count(alpha, "SIGHUP: configuration reloaded")
    hacf.write_text(changed)  # the same change, valid: applied (SIGHUP, not the 1 s watcher)
    alpha.proc.send_signal(signal.SIGHUP)
    _wait_log(alpha, "SIGHUP: configuration reloaded", before)
    assert alpha.status()["timing"]["keepalive_ms"] == 300
    assert _deaths(alpha) == 0 and _deaths(engines["bravo"]) == 0


def test_key_rotation_one_side_at_a_time_kills_nobody(make_lab: LabFactory) -> None:
    """Both accept both keys, then each in turn signs with the new one (SIGHUP reloads).

    After a node signs with key 2 its peer must take those packets: nothing rejected
    and the node heard within two keepalives (waiting for a death would take the
    start-up deadtime of 3 s).
    """
    dirs, engines = _pair(make_lab(["alpha", "bravo"]))
    for name, send in (("alpha", 1), ("bravo", 1), ("alpha", 2), ("bravo", 2)):
        peer = engines["bravo" if name == "alpha" else "alpha"]
        rejected = peer.status()["counters"]["rejected_total"]
        applied = f"signing with key {send}, accepting 1 sha1, 2 sha1"
        before = _log_count(engines[name], applied)
        _authkeys(dirs[name], send)
        engines[name].proc.send_signal(signal.SIGHUP)
        _wait_log(engines[name], applied, before)
        time.sleep(0.5)  # two keepalives signed the new way
        status = peer.status()
        assert status["counters"]["rejected_total"] == rejected, status["counters"]["rejected"]
        assert _heard_ms(status, name) < 400, f"{name} signing with key {send} is not heard"
        assert _all_active(engines)(), f"not all active after {name} signs with key {send}"
    assert _deaths(engines["alpha"]) == 0 and _deaths(engines["bravo"]) == 0


def test_node_added_on_both_sides_then_started(make_lab: LabFactory) -> None:
    lab = make_lab(["alpha", "bravo", "charlie"])
    dirs, engines = _pair(lab)
    for name in ("alpha", "bravo"):  # by the watcher on alpha, by SIGHUP on bravo
        before = _log_count(engines[name], "node(s) added: charlie")
        hacf = dirs[name] / "ha.cf"
        hacf.write_text(hacf.read_text().replace("node bravo\n", "node bravo\nnode charlie\n"))
        if name == "bravo":
            engines[name].proc.send_signal(signal.SIGHUP)
        _wait_log(engines[name], "node(s) added: charlie", before)
    assert any(n["name"] == "charlie" for n in engines["alpha"].status()["nodes"])
    dirs["charlie"] = _configure(lab, "charlie", ("alpha", "bravo", "charlie"))
    engines["charlie"] = lab.start_engine("charlie", dirs["charlie"], lab.node_dirs("charlie")[1])
    wait_until(_all_active(engines), 20, 0.1, "alpha, bravo, charlie active")
    assert _deaths(engines["alpha"]) == 0 and _deaths(engines["bravo"]) == 0
