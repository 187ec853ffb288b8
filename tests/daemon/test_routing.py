"""The shell's event table (engine/shell/routing.py): each membership event's steps, in order.

The policy is the real ResourcePolicy; a subclass notes each input before passing it on,
so the table is checked against what the policy really receives.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

import pytest

from engine.core import events as ev
from engine.core.policy import ResourcePolicy
from engine.protocol.message import Message
from engine.shell.routing import SPLIT_BRAIN_HINT, ShellHooks, event_routes, route
from tests.core_policy.harness import make_config


class NotingPolicy(ResourcePolicy):
    """The real policy; every ``on_*`` input is noted first."""

    def __init__(self, steps: list[str]) -> None:
        super().__init__(make_config("alpha"), 0.0)
        self.steps = steps

    def on_message(self, msg: Message, now: float) -> None:
        self.steps.append(f"policy.on_message {msg.type}")
        super().on_message(msg, now)

    def on_node_dead(self, node: str, reason: str, now: float) -> None:
        self.steps.append(f"policy.on_node_dead {node}")
        super().on_node_dead(node, reason, now)

    def on_node_status(self, node: str, status: str, now: float) -> None:
        self.steps.append(f"policy.on_node_status {node} {status}")
        super().on_node_status(node, status, now)

    def on_node_restarted(self, node: str, now: float) -> None:
        self.steps.append(f"policy.on_node_restarted {node}")
        super().on_node_restarted(node, now)

    def on_comm_up(self, now: float) -> None:
        self.steps.append("policy.on_comm_up")
        super().on_comm_up(now)

    def on_local_stall(self, stalled_ms: int, now: float) -> None:
        self.steps.append(f"policy.on_local_stall {stalled_ms}")
        super().on_local_stall(stalled_ms, now)

    def on_peer_hears(self, node: str, hears: bool | None, now: float) -> None:
        self.steps.append(f"policy.on_peer_hears {node} {hears}")
        super().on_peer_hears(node, hears, now)


class Recorder(logging.Handler):
    def __init__(self, steps: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.steps = steps

    def emit(self, record: logging.LogRecord) -> None:
        self.steps.append(f"log {record.getMessage()}")


@pytest.fixture
def steps() -> Any:
    found: list[str] = []
    logger = logging.getLogger("heartbeat")
    handler, level = Recorder(found), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield found
    logger.removeHandler(handler)
    logger.setLevel(level)


def hooks(steps: list[str]) -> ShellHooks:
    return ShellHooks(
        log_rejected=lambda e: steps.append(f"rejected {e.reason}"),
        timeline=lambda kind, node, group, reason: steps.append(
            f"timeline {kind} {node}: {reason}"
        ),
        remember_generations=lambda: steps.append("remember generations"),
        comm_up=lambda: steps.append("children and stonith checks"),
    )


DEAD = ev.NodeDead("bravo", "declared dead after 1000 ms", 1000, ("eth0",))
MESSAGE = Message.of(("t", "ip-request"), ("src", "bravo"))
HINT = [f"log {text}" for _word, text in SPLIT_BRAIN_HINT]
CASES = [
    (
        DEAD,
        [
            f"log {DEAD.text}",
            "log declared dead after 1000 ms",
            "timeline death bravo: declared dead after 1000 ms",
            "policy.on_node_dead bravo",
        ],
    ),
    (
        ev.NodeRestarted("bravo", 1, 2),
        [
            f"log {ev.NodeRestarted('bravo', 1, 2).text}",
            f"timeline restart bravo: {ev.NodeRestarted('bravo', 1, 2).text}",
            "remember generations",
            "policy.on_node_restarted bravo",
        ],
    ),
    (
        ev.PartitionHealed("bravo"),
        [
            f"log {ev.PartitionHealed('bravo').text}",
            *HINT,
            f"timeline partition bravo: {ev.PartitionHealed('bravo').text}",
        ],
    ),
    (
        ev.LocalStall(2500),
        [
            f"log {ev.LocalStall(2500).text}",
            f"timeline stall : {ev.LocalStall(2500).text}",
            "policy.on_local_stall 2500",
        ],
    ),
    (
        ev.CommUp(),
        [f"log {ev.CommUp().text}", "children and stonith checks", "policy.on_comm_up"],
    ),
    (
        ev.NodeStatusChanged("bravo", "up", "active"),
        [
            f"log {ev.NodeStatusChanged('bravo', 'up', 'active').text}",
            "policy.on_node_status bravo active",
        ],
    ),
    (
        ev.PeerHearsUs("bravo", False),
        [f"log {ev.PeerHearsUs('bravo', False).text}", "policy.on_peer_hears bravo False"],
    ),
    (ev.MessageReceived(MESSAGE), ["policy.on_message ip-request"]),
    (ev.PacketRejected("bad_auth", "wrong key"), ["rejected bad_auth"]),
    (
        ev.LinkStatusChanged("bravo", "eth0", "dead"),
        [f"log {ev.LinkStatusChanged('bravo', 'eth0', 'dead').text}"],
    ),
]


@pytest.mark.parametrize(("event", "expected"), CASES, ids=lambda c: type(c).__name__)
def test_each_event_takes_its_steps_in_order(
    steps: list[str], event: ev.Event, expected: list[str]
) -> None:
    routes = event_routes(hooks(steps), NotingPolicy(steps))
    route(routes, event, 1.0)
    assert steps == expected


@pytest.mark.parametrize(("event", "expected"), CASES, ids=lambda c: type(c).__name__)
def test_without_a_policy_crm_on_the_shell_steps_remain(
    steps: list[str], event: ev.Event, expected: list[str]
) -> None:
    route(event_routes(hooks(steps), None), event, 1.0)
    assert steps == [s for s in expected if not s.startswith("policy.")]


def test_every_event_type_is_routed_or_only_logged(steps: list[str]) -> None:
    """A new event type needs no new code to be logged; the table names only real types."""
    routes = event_routes(hooks(steps), NotingPolicy(steps))
    kinds = {
        cls
        for _name, cls in inspect.getmembers(ev, inspect.isclass)
        if issubclass(cls, ev.Event) and cls is not ev.Event
    }
    assert set(routes) <= kinds
    assert {type(event) for event, _expected in CASES} <= kinds
