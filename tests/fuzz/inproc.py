"""In-process fuzzing helpers: a membership core keyed like the wire fixtures."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from engine.config.authkeys import parse_authkeys_text
from engine.config.model import AuthConfig, ClusterConfig, MediumKind, MediumSpec, SourceRef, Timing
from engine.core import events as ev
from engine.core.membership import Membership
from engine.protocol.auth import Authenticator
from engine.protocol.codec import decode_datagram, encode_wire
from engine.protocol.message import Message
from lab.fuzz import seed_packets

FIXTURES = Path(__file__).resolve().parents[1] / "protocol" / "fixtures"
NODES = ("alpha", "bravo")
WALL0 = 1_795_612_000.0

_WEIRD = (
    "", "0", "-1", "ffffffffffffffff", "10000000000000000", "zz", "7fffffff", "1 2",
    "\x00", "a" * 300, "%s%n", "../../etc/passwd", "alpha", "bravo", "charlie", "ALPHA",
    "status", "NS_rexmit", "NS_ackmsg", "reqnodes", "repnodes", "dead", "active",
)  # fmt: skip
_FIELDS = ("t", "st", "dt", "seq", "hg", "ts", "src", "dest", "firstseq", "lastseq",
           "ackseq", "protocol", "hears", "nodelist", "rsc_hold", "info")  # fmt: skip


def fixture_auth() -> Authenticator:
    """The authenticator of the fixtures' cluster (their authkeys file)."""
    return Authenticator(fixture_auth_config())


def fixture_auth_config() -> AuthConfig:
    """The parsed fixture authkeys."""
    config, issues = parse_authkeys_text((FIXTURES / "authkeys").read_text(), "authkeys")
    assert config is not None, issues
    return config


def make_core(me: str = "alpha", now: float = 1000.0, seed: int = 1) -> Membership:
    """A two-node core (alpha, bravo) that speaks the fixtures' key."""
    auth = fixture_auth_config()
    config = ClusterConfig(
        config_dir="/tmp",
        node_name=me,
        nodes=NODES,
        timing=Timing(200, 2000, 1000, 4000, 2000),
        media=(MediumSpec(MediumKind.BCAST, "eth0", SourceRef("ha.cf", 1), dev="eth0"),),
        auth=auth,
    )
    return Membership(
        config,
        Authenticator(auth),
        uuid=b"\x01" * 16,
        generation=7,
        now=now,
        rng=random.Random(seed),
    )


def seed_messages() -> list[Message]:
    """The fixtures decoded (they are signed with the fixture key)."""
    auth = fixture_auth()
    return [decode_datagram(data, auth) for data in seed_packets()]


def resigned_mutations(count: int, seed: int = 46) -> Iterator[bytes]:
    """Validly signed messages with hostile field values: drives past authentication."""
    rng = random.Random(seed)
    auth = fixture_auth()
    seeds = seed_messages()
    for _ in range(count):
        msg = rng.choice(seeds).copy()
        for _ in range(rng.randint(1, 4)):
            name = rng.choice(_FIELDS)
            if rng.random() < 0.15:
                msg.remove(name)
            else:
                msg.set(
                    name,
                    rng.choice(_WEIRD)
                    if rng.random() < 0.7
                    else format(rng.getrandbits(rng.choice((8, 32, 64))), "x"),
                )
        try:
            yield encode_wire(msg, auth)
        except Exception:  # the encoder refuses some values; that is fine
            continue


FLOOD_RATE = 20_000
"""Datagrams per second of fake time in a flood."""


def flood_pair(
    alpha: Membership,
    bravo: Membership,
    datagrams: Iterable[bytes],
    at_index: Callable[[int], None] = lambda index: None,
) -> list[ev.Event]:
    """Started ``alpha`` takes ``datagrams`` at FLOOD_RATE/s of fake time while the pair
    heartbeats (every 50 datagrams both tick and exchange, as the shell keeps doing);
    returns alpha's NodeDead events. ``at_index`` is called with each index."""
    now = 1000.0
    deaths: list[ev.Event] = []
    for index, data in enumerate(datagrams):
        now += 1 / FLOOD_RATE
        alpha.receive(data, "eth0", now, WALL0 + now)
        if index % 50 == 0:
            for core, other in ((alpha, bravo), (bravo, alpha)):
                if core.next_deadline() <= now:
                    core.tick(now, WALL0 + now)
                for out in core.drain_outbound():
                    other.receive(out, "eth0", now, WALL0 + now)
            deaths += [e for e in alpha.drain_events() if isinstance(e, ev.NodeDead)]
            bravo.drain_events()
        at_index(index)
    return deaths


def feed_alone(core: Membership, datagrams: Iterable[bytes], seed: int) -> None:
    """Started ``core`` takes ``datagrams`` at random spacing on a known and an unknown
    link, ticking and draining as the shell does."""
    now = 1000.0
    rng = random.Random(seed)
    for data in datagrams:
        now += rng.random() / 100
        core.receive(data, rng.choice(["eth0", "eth9"]), now, WALL0 + now)
        if core.next_deadline() <= now:
            core.tick(now, WALL0 + now)
        core.drain_events()
        core.drain_outbound()
