"""Ping nodes in an encrypting cluster (issue 15 part 4): the echoed payload is sealed."""

from __future__ import annotations

import dataclasses

from engine.config.model import AuthConfig, AuthKey, SourceRef
from engine.core import events as ev
from engine.core.membership import Membership
from engine.protocol import aead
from engine.protocol.auth import Authenticator
from engine.transport.ping import ping_payload, status_ts
from tests.core.sim import WALL0
from tests.ping.test_ping_core import ROUTER, ping_config

AES = AuthConfig(1, (AuthKey(1, "aes256gcm", b"ping-secret-0123456789abcdef", SourceRef("a", 2)),))
AUTH = Authenticator(AES)


def test_sealed_echo_reply_makes_the_ping_node_reachable() -> None:
    core = Membership(
        dataclasses.replace(ping_config(), auth=AES), AUTH, uuid=b"\1" * 16, generation=5, now=1.0
    )
    core.start(1.0, WALL0)
    status = next(d for d in core.drain_outbound() if status_ts(d, AUTH) is not None)
    assert aead.is_sealed(status)
    assert status_ts(status, None) is None  # cannot be read without the key
    payload = ping_payload(ROUTER, status_ts(status, AUTH) or "", AUTH)
    assert aead.is_sealed(payload) and ROUTER.encode() not in payload
    assert core.receive(payload, ROUTER, 1.2, WALL0)
    assert ev.NodeStatusChanged(ROUTER, "init", "ping") in core.drain_events()
