"""The lab itself: namespaces, bridges, faults, sampler, HTTP and ARP probes really work."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab import (
    ArpCapture,
    Lab,
    LabUnavailable,
    LabUnsupported,
    lab_unavailable_reason,
    parse_log_time,
    wait_until,
    write_config,
)
from lab.fuzz import mutated_datagrams
from lab.netns import list_namespaces, run
from tests.netns.conftest import LabFactory

UDP_ECHO = (
    "import socket\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.bind(('0.0.0.0', 7007))\n"
    "while True:\n"
    "    data, peer = s.recvfrom(2048)\n"
    "    s.sendto(data, peer)\n"
)


def test_namespaces_created_with_prefix_and_removed(make_lab: LabFactory) -> None:
    lab = make_lab(["alpha", "bravo"])
    names = set(list_namespaces())
    expected = {lab.switch, lab.client, *(node.namespace for node in lab.nodes.values())}
    assert expected <= names
    assert all(name.startswith(f"hl{os.getpid()}x") for name in expected)
    lab.close()
    assert not expected & set(list_namespaces())


def test_leftovers_of_dead_test_processes_are_removed(make_lab: LabFactory) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    leftover = f"hl{dead.pid}x1-alpha"
    run(["ip", "netns", "add", leftover])
    try:
        make_lab(["alpha"], networks=1, client=False)
        assert leftover not in list_namespaces()
    finally:
        subprocess.run(["ip", "netns", "del", leftover], capture_output=True)


def test_both_networks_connect_and_link_down_cuts_only_that_link(make_lab: LabFactory) -> None:
    lab = make_lab(["alpha", "bravo"])
    alpha, bravo = lab.nodes["alpha"], lab.nodes["bravo"]
    assert alpha.exec(["ip", "-br", "addr", "show", "eth1"]).stdout.split()[2] == "10.99.1.1/24"
    assert lab.ping(alpha, bravo.address(0))
    assert lab.ping(alpha, bravo.address(1))
    lab.link_down(bravo, "eth1")
    assert not lab.ping(alpha, bravo.address(1))
    assert lab.ping(alpha, bravo.address(0))
    lab.link_up(bravo, "eth1")
    wait_until(lambda: lab.ping(alpha, bravo.address(1)), timeout=5, what="eth1 back")


def test_udp_echo_from_client_and_link_down(make_lab: LabFactory) -> None:
    lab = make_lab(["alpha"], networks=1)
    alpha = lab.nodes["alpha"]
    alpha.popen([sys.executable, "-c", UDP_ECHO])
    sock = lab.client_socket(kind=socket.SOCK_DGRAM)
    sock.settimeout(0.2)

    def echo() -> bool:
        sock.sendto(b"ping", (alpha.address(0), 7007))
        try:
            return sock.recv(100) == b"ping"
        except TimeoutError:
            return False

    wait_until(echo, timeout=5, what="udp echo")
    lab.link_down(alpha, "eth0")
    assert not echo()
    lab.link_up(alpha, "eth0")
    wait_until(echo, timeout=5, what="udp echo after link up")
    sock.close()


def test_vip_sampler_follows_address_moves(make_lab: LabFactory) -> None:
    lab = make_lab(["alpha", "bravo"], networks=1)
    vip = "10.99.0.10"
    with lab.vip_sampler(vip) as sampler:
        time.sleep(0.1)
        lab.nodes["alpha"].exec(["ip", "addr", "add", f"{vip}/24", "dev", "eth0"])
        wait_until(lambda: sampler.current() == {"alpha"}, timeout=2, what="alpha holds")
        assert lab.holders_via_ip(vip) == {"alpha"}
        lab.nodes["bravo"].exec(["ip", "addr", "add", f"{vip}/24", "dev", "eth0"])
        wait_until(lambda: sampler.current() == {"alpha", "bravo"}, timeout=2, what="both")
        lab.nodes["alpha"].exec(["ip", "addr", "del", f"{vip}/24", "dev", "eth0"])
        wait_until(lambda: sampler.current() == {"bravo"}, timeout=2, what="bravo holds")
        assert lab.holders_via_ip(vip) == {"bravo"}
    assert sampler.owner_sequence() == [
        frozenset(),
        frozenset({"alpha"}),
        frozenset({"alpha", "bravo"}),
        frozenset({"bravo"}),
    ]
    assert sampler.max_holders() == 2
    assert not sampler.errors
    gaps = [b.time - a.time for a, b in zip(sampler.samples, sampler.samples[1:], strict=False)]
    assert sorted(gaps)[len(gaps) // 2] < 0.03, "sampler must run about every 20 ms"


def test_http_get_from_client_and_kill_node(make_lab: LabFactory, tmp_path: Path) -> None:
    lab = make_lab(["alpha"], networks=2)
    alpha = lab.nodes["alpha"]
    (tmp_path / "index.html").write_text("hello from alpha")
    alpha.popen(
        [sys.executable, "-m", "http.server", "8080", "--bind", "0.0.0.0", "-d", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    reply = wait_until(lambda: lab.http_get(alpha.address(0), 8080), timeout=10, what="http")
    assert reply.status == 200
    assert reply.body == "hello from alpha"
    assert lab.http_get(alpha.address(0), 8081, timeout=0.3) is None
    assert alpha.pids()
    lab.kill_node(alpha)
    assert alpha.pids() == []
    assert "state DOWN" in alpha.exec(["ip", "link", "show", "eth1"]).stdout
    assert lab.http_get(alpha.address(0), 8080, timeout=0.3) is None


def test_gratuitous_arp_is_captured_in_client(make_lab: LabFactory) -> None:
    lab = make_lab(["alpha"], networks=1)
    alpha = lab.nodes["alpha"]
    alpha.exec(["ip", "addr", "add", "10.99.0.10/24", "dev", "eth0"])
    with ArpCapture(lab.client) as capture:
        time.sleep(0.05)
        sent_at = time.monotonic()
        alpha.exec(["arping", "-U", "-c", "1", "-I", "eth0", "10.99.0.10"], check=False)
        wait_until(lambda: capture.gratuitous_for("10.99.0.10"), timeout=3, what="garp")
    packet = capture.gratuitous_for("10.99.0.10")[0]
    assert packet.time >= sent_at
    mac = alpha.exec(["cat", "/sys/class/net/eth0/address"]).stdout.strip()
    assert packet.sender_mac == mac


def test_netem_loss_drops_and_clears(make_lab: LabFactory) -> None:
    lab = make_lab(["alpha", "bravo"], networks=1)
    alpha, bravo = lab.nodes["alpha"], lab.nodes["bravo"]
    try:
        lab.netem(alpha, "eth0", "loss 100%")
    except LabUnsupported as exc:
        pytest.skip(str(exc))
    assert not lab.ping(alpha, bravo.address(0))
    lab.netem_clear(alpha, "eth0")
    assert lab.ping(alpha, bravo.address(0))


def test_sigstop_freezes_every_process(make_lab: LabFactory) -> None:
    lab = make_lab(["alpha"], networks=1, client=False)
    proc = lab.nodes["alpha"].popen(["sleep", "30"])
    wait_until(lambda: lab.nodes["alpha"].pids(), timeout=2, what="sleep running")
    assert proc.pid in lab.sigstop("alpha")

    def state() -> str:
        return Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]

    wait_until(lambda: state() == "T", timeout=2, what="stopped state")
    lab.sigcont("alpha")
    lab.kill_node("alpha")
    proc.wait(2)


def test_write_config_files_and_modes(tmp_path: Path) -> None:
    config = tmp_path / "alpha" / "config"
    write_config(
        config,
        ["alpha", "bravo"],
        ["ucast eth0 10.99.0.1", "ucast eth0 10.99.0.2", "bcast eth1"],
        haresources="alpha 10.99.0.10\n",
        extra="crm no",
    )
    hacf = (config / "ha.cf").read_text().splitlines()
    assert "keepalive 200ms" in hacf and "deadtime 1" in hacf and "node bravo" in hacf
    assert f"logfile {tmp_path / 'alpha' / 'state' / 'ha-log'}" in hacf
    assert hacf[-1] == "crm no"
    assert stat.S_IMODE((config / "authkeys").stat().st_mode) == 0o600
    assert (config / "authkeys").read_text().startswith("auth 1\n1 sha1 ")
    assert (config / "haresources").read_text() == "alpha 10.99.0.10\n"


def test_parse_log_time_formats() -> None:
    now = time.mktime((2026, 11, 25, 13, 6, 0, 0, 0, -1))
    syslog = "Nov 25 13:05:33 alpha heartbeat: [13783]: info: Link bravo:eth0 up."
    assert parse_log_time(syslog, now) == now - 27
    old = "heartbeat[1]: 2026/11/25_13:05:44.250 info: x"
    assert parse_log_time(old, now) == pytest.approx(now - 15.75)
    assert parse_log_time("no time here", now) is None
    assert parse_log_time("Dec 31 23:59:59 x", time.mktime((2027, 1, 1, 0, 0, 1, 0, 0, -1))) == (
        time.mktime((2026, 12, 31, 23, 59, 59, 0, 0, -1))
    )


def test_fuzz_corpus_is_varied_and_deterministic() -> None:
    first = list(mutated_datagrams(500))
    assert first == list(mutated_datagrams(500))
    assert len(set(first)) > 400
    assert all(0 < len(packet) <= 65507 for packet in first)


def test_unavailable_reason_names_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert lab_unavailable_reason() == "network-namespace lab needs root"
    with pytest.raises(LabUnavailable, match="needs root"):
        Lab(["alpha"])
