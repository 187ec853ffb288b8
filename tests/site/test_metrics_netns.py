"""Metrics during a namespace failover: scrape bravo's endpoint while alpha crashes.

The issue's acceptance test on real network namespaces (the loopback version is
``test_metrics_failover.py``): alpha holds the VIP, ``Lab.kill_node`` crashes it (every
process SIGKILLed, links down), and bravo's endpoint, bound to localhost inside bravo's
namespace as in production, shows the death, the takeover, the acquire's duration and
alpha's last-heard age growing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from lab import Lab, engine_importable, lab_unavailable_reason, wait_until
from lab.cluster import Cluster, Timers, ucast_lines
from lab.nsutil import socket_in_netns
from tests.site.metrics_text import parse_samples, sample_keys

pytestmark = pytest.mark.netns
PORT = 9464
VIP = "10.99.0.10"
TIMERS = Timers()  # keepalive 200 ms, deadtime 1 s
LINK = 'node="alpha",link="eth0"'
ACQUIRE = 'haengine_resource_action_duration_seconds_{}{{action="acquire"}}'


@pytest.fixture
def lab() -> Iterator[Lab]:
    reason = lab_unavailable_reason() or engine_importable()
    if reason:
        pytest.skip(reason)
    with Lab(["alpha", "bravo"], networks=1, client=False) as lab:
        yield lab


def scrape(lab: Lab, node: str) -> dict[str, float] | None:
    """``GET /metrics`` from inside ``node``'s namespace; None while nothing answers."""
    try:
        with socket_in_netns(lab.nodes[node].namespace) as sock:
            sock.settimeout(2)
            sock.connect(("127.0.0.1", PORT))
            sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
    except OSError:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert b"text/plain; version=0.0.4" in head
    return parse_samples(body.decode())


def held_by(cluster: Cluster, observer: str) -> str | None:
    """Who ``observer`` says holds the group."""
    groups = (cluster.status(observer) or {}).get("groups") or [{}]
    return groups[0].get("held_by")


def _took_over(lab: Lab) -> dict[str, float] | None:
    """bravo's samples once a takeover is counted and its acquire has finished.

    The takeover is counted when it starts (``Resources being acquired from alpha``), the
    acquire's duration only when the action ends.
    """
    samples = scrape(lab, "bravo")
    if samples and samples["haengine_takeovers_total"] and samples.get(ACQUIRE.format("count")):
        return samples
    return None


def test_counters_move_during_a_namespace_failover(lab: Lab) -> None:
    cluster = Cluster(lab, ucast_lines(lab, "eth0", 0), TIMERS, f"alpha IPaddr2::{VIP}/24/eth0\n")
    # alpha first: started together, both would wait 10 s for each other (spec §7.6)
    cluster.start("alpha")
    wait_until(lambda: held_by(cluster, "alpha") == "alpha", 20, 0.05, "alpha holds the group")
    cluster.start("bravo", ["--metrics", f"127.0.0.1:{PORT}"])
    cluster.wait_all_active(20)
    wait_until(lambda: held_by(cluster, "bravo") == "alpha", 10, 0.05, "bravo sees alpha hold it")
    before = wait_until(lambda: scrape(lab, "bravo"), 5, 0.1, "bravo's metrics endpoint")
    assert before["haengine_node_deaths_total"] == 0
    assert before["haengine_takeovers_total"] == 0
    assert before['haengine_node_up{node="alpha"}'] == 1
    assert before[f"haengine_link_up{{{LINK}}}"] == 1
    assert before[f"haengine_link_last_heard_seconds{{{LINK}}}"] < 0.5
    assert before.get(ACQUIRE.format("count"), 0) == 0  # bravo has acquired nothing yet
    [held] = sample_keys(before, "haengine_group_held{")
    assert before[held] == 0 and 'home="alpha"' in held

    lab.kill_node("alpha")
    after = wait_until(lambda: _took_over(lab), 10, 0.1, "a finished takeover on bravo")
    assert after["haengine_node_deaths_total"] == 1
    assert after['haengine_node_up{node="alpha"}'] == 0
    assert after[f"haengine_link_up{{{LINK}}}"] == 0
    age = after[f"haengine_link_last_heard_seconds{{{LINK}}}"]
    assert age >= TIMERS.deadtime_s - TIMERS.keepalive_s  # it died with its node
    assert after[ACQUIRE.format("count")] >= 1 and after[ACQUIRE.format("sum")] > 0
    assert after['haengine_resource_action_failures_total{action="acquire"}'] == 0
    assert after[held] == 1
    time.sleep(0.3)
    later = scrape(lab, "bravo")
    assert later is not None
    assert later[f"haengine_link_last_heard_seconds{{{LINK}}}"] >= age + 0.2  # the age grows
