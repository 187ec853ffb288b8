"""Membership over encrypted datagrams (issue 15 part 4), on a fake clock.

An ``aes256gcm`` cluster forms with nothing readable on the wire; tampered, truncated
and wrongly keyed datagrams are counted under a clear reason and change nothing; a node
with a signing (Heartbeat-compatible) key is refused by name and never counts alive; two
keys carry a rotation through a running cluster.
"""

from __future__ import annotations

import random
from dataclasses import replace

from engine.config.model import AuthConfig, AuthKey, SourceRef
from engine.core import events as ev
from engine.protocol import aead
from engine.protocol.auth import Authenticator
from tests.core.sim import KEY, Net

SECRET = b"0123456789abcdef0123456789abcdef"
NEW_SECRET = b"a-second-secret-for-the-rotation"
AES = AuthConfig(1, (AuthKey(1, "aes256gcm", SECRET, SourceRef("authkeys", 2)),))
ROTATION = (
    AuthKey(1, "aes256gcm", SECRET, SourceRef("authkeys", 2)),
    AuthKey(2, "chacha20poly1305", NEW_SECRET, SourceRef("authkeys", 3)),
)


def formed(auth: AuthConfig = AES) -> Net:
    net = Net(auth=auth)
    net.start()
    net.run_for(2.0)
    return net


def test_encrypted_cluster_forms_and_nothing_is_readable() -> None:
    net = formed()
    for node in net.nodes.values():
        assert node.core.comm_up
        assert all(p.status == "active" and p.fresh.confirmed for p in node.core.peers())
    assert net.wire
    for _, data in net.wire:
        assert aead.is_sealed(data)
        assert b"alpha" not in data and b"bravo" not in data and b"status" not in data


def test_bad_encrypted_packets_are_counted_by_reason_and_change_nothing() -> None:
    net = formed()
    alpha = net.nodes["alpha"]
    sample = [d for s, d in net.wire if s == "bravo"][-1]
    wrong_key = Authenticator(replace(AES, keys=(replace(AES.keys[0], secret=NEW_SECRET),)))
    other = Net(auth=replace(AES, keys=(replace(AES.keys[0], secret=NEW_SECRET),)))
    other.start()
    foreign = [d for s, d in other.wire if s == "bravo"]
    assert wrong_key.seals
    rng = random.Random(15)
    before = {n.name: (n.status, n.track.last_seq) for n in alpha.core.nodes.values()}
    alpha.events.clear()
    for _ in range(300):
        flipped = bytearray(sample)
        flipped[rng.randrange(aead.HEADER_BYTES, len(sample))] ^= 1 << rng.randrange(8)
        alpha.core.receive(bytes(flipped), "eth0", net.now, net.wall())
        alpha.core.receive(sample[: rng.randrange(len(sample))], "eth0", net.now, net.wall())
    for data in foreign:
        alpha.core.receive(data, "eth1", net.now, net.wall())
    net.flush()
    rejected = alpha.core.rejected
    assert rejected["bad_auth"] >= 300 + len(foreign)
    assert rejected["bad_format"] > 0
    after = {n.name: (n.status, n.track.last_seq) for n in alpha.core.nodes.values()}
    assert after == before
    assert {type(e) for e in alpha.events} == {ev.PacketRejected}
    texts = {e.text for e in alpha.events}
    assert any("aes256gcm authentication failed with key index 1" in t for t in texts)
    assert any("is truncated" in t for t in texts)


def test_a_signing_node_is_refused_by_name_and_never_counts_alive() -> None:
    """bravo runs with a Heartbeat-compatible sha1 key (as real Heartbeat would):
    alpha, encrypting, refuses its packets as plaintext, and declares it dead at initdead."""
    net = Net(auth=AES)
    bravo = net.nodes["bravo"].core
    bravo.apply_config(replace(bravo.config, auth=KEY), Authenticator(KEY), net.now)
    net.start()
    net.run_for(3.5)
    alpha = net.nodes["alpha"]
    assert alpha.core.rejected["plaintext"] > 0
    refused = [e for e in alpha.events if isinstance(e, ev.PacketRejected)]
    assert "unencrypted Heartbeat packet from a node calling itself 'bravo'" in refused[0].text
    assert alpha.core.nodes["bravo"].status == "dead"
    assert not any(isinstance(e, ev.NodeConfirmed) for e in alpha.events)
    bravo_events = net.nodes["bravo"].events
    assert net.nodes["bravo"].core.rejected["unknown_key"] > 0
    assert any(
        isinstance(e, ev.PacketRejected) and "encrypted datagram with key index 1" in e.text
        for e in bravo_events
    )


def test_key_rotation_through_a_running_encrypted_cluster() -> None:
    both = AuthConfig(1, ROTATION)
    net = formed(both)
    # Each node moves its send key to 2 in turn, then key 1 is removed everywhere.
    for name in ("alpha", "bravo"):
        core = net.nodes[name].core
        moved = replace(both, send_index=2)
        core.apply_config(replace(core.config, auth=moved), Authenticator(moved), net.now)
        net.run_for(1.0)
        assert all(p.status == "active" for n in net.nodes.values() for p in n.core.peers())
    final = AuthConfig(2, ROTATION[1:])
    for node in net.nodes.values():
        core = node.core
        core.apply_config(replace(core.config, auth=final), Authenticator(final), net.now)
    net.wire.clear()
    net.run_for(2.0)
    assert all(d[len(aead.MAGIC)] == 2 for _, d in net.wire)
    for node in net.nodes.values():
        assert not node.core.rejected
        assert all(p.status == "active" for p in node.core.peers())
