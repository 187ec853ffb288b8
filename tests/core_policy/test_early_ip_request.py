"""An ``ip-request`` that reaches us before our comm-up is answered at comm-up, and a
flood of them before comm-up is bounded (legacy mode, startup-legacy-request-unanswered)."""

from __future__ import annotations

import logging

import pytest

from engine.config.model import AutoFailback
from engine.core.policy import ResourcePolicy
from engine.core.policy.messages import EARLY_LIMIT
from engine.protocol.message import Message
from tests.core_policy.harness import ALPHA_GROUP, BRAVO_GROUP, make_config


def request(key: str) -> Message:
    return Message.of(("t", "ip-request"), ("ipaddr", key), ("src", "bravo"))


def answers(policy: ResourcePolicy) -> list[str]:
    return [
        m.get("ipaddr") or ""
        for m in policy.drain_outbound()
        if m.type == "ip-request-resp" and m.get("dest") == "bravo"
    ]


def alpha() -> ResourcePolicy:
    policy = ResourcePolicy(make_config("alpha", AutoFailback.LEGACY, bravo_group=True), 0.0)
    policy.on_node_status("bravo", "active", 0.0)
    return policy


def test_a_request_before_comm_up_is_answered_at_comm_up() -> None:
    policy = alpha()
    policy.on_message(request(BRAVO_GROUP), 0.0)
    assert answers(policy) == []
    policy.on_comm_up(0.5)
    assert answers(policy) == [BRAVO_GROUP]


def test_a_flood_of_requests_before_comm_up_is_bounded(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="engine.core")
    policy = alpha()
    policy.on_message(request(BRAVO_GROUP), 0.0)
    for i in range(EARLY_LIMIT * 3):
        policy.on_message(request(f"IPaddr2::10.98.{i // 250}.{i % 250}/24/eth0"), 0.0)
    policy.on_message(request(BRAVO_GROUP), 0.0)  # the same group again: kept once
    dropped = [r for r in caplog.records if "too many kept" in r.getMessage()]
    assert len(dropped) == EARLY_LIMIT * 3 - (EARLY_LIMIT - 1)
    caplog.clear()
    policy.on_comm_up(0.5)
    assert answers(policy) == [BRAVO_GROUP]  # the unknown groups are refused, logged
    unknown = [r for r in caplog.records if "unknown resource group" in r.getMessage()]
    assert len(unknown) == EARLY_LIMIT - 1
    assert ALPHA_GROUP not in [r.getMessage() for r in unknown]
