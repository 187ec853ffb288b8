"""ha.cf lexical rules, media, directive table and Heartbeat's quirks (spec §2, §5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config.hacf import KNOWN_DIRECTIVES, ParsedHaCf, parse_hacf, parse_hacf_text
from engine.config.model import AutoFailback, MediumKind, Severity

SPEC_DIRECTIVES = [
    "node",
    "keepalive",
    "deadtime",
    "warntime",
    "initdead",
    "deadping",
    "udpport",
    "baud",
    "serial",
    "bcast",
    "mcast",
    "ucast",
    "mcast6",
    "ucast6",
    "ping",
    "ping_group",
    "auto_failback",
    "nice_failback",
    "stonith",
    "stonith_host",
    "watchdog",
    "respawn",
    "failfast",
    "apiauth",
    "logfile",
    "debugfile",
    "logfacility",
    "use_logd",
    "conn_logd_time",
    "debug",
    "hopfudge",
    "hbgenmethod",
    "realtime",
    "rtprio",
    "msgfmt",
    "compression",
    "compression_threshold",
    "traditional_compression",
    "coredumps",
    "coreroot",
    "log_badpack",
    "syslogmsgfmt",
    "max_rexmit_delay",
    "memreserve",
    "autojoin",
    "uuidfrom",
    "cluster",
    "env",
    "crm",
    "pacemaker",
    "use_apphbd",
    "normalpoll",
    "quorum_server",
    "crm_daemon_dir",
    "crmd_spawns_pengine",
    "record_config_changes",
    "record_pengine_inputs",
    "enable_config_writes",
    "ping6",
    "udp",
]


def parse(text: str, node: str = "alpha") -> ParsedHaCf:
    return parse_hacf_text(text, "ha.cf", node, resolve=lambda name: "10.99.0.77")


def messages(parsed: ParsedHaCf, severity: Severity | None = None) -> list[str]:
    return [i.message for i in parsed.issues if severity is None or i.severity is severity]


def test_every_spec_directive_is_known() -> None:
    assert set(SPEC_DIRECTIVES) <= KNOWN_DIRECTIVES


def test_comments_blank_lines_and_list_splitting() -> None:
    parsed = parse("# header\n\n  node alpha,bravo\tcharlie  # trailing\nnode Delta\n")
    assert parsed.nodes == ["alpha", "bravo", "charlie", "delta"]
    assert parsed.issues == []


def test_list_directive_applies_each_token() -> None:
    parsed = parse("keepalive 2 3\n")
    assert parsed.times["keepalive"] == 3000
    assert parsed.parameters["keepalive"] == "3"


def test_udp_is_rewritten_to_bcast_with_a_warning() -> None:
    parsed = parse("udp eth0\n")
    assert [m.kind for m in parsed.media] == [MediumKind.BCAST]
    assert messages(parsed, Severity.WARNING) == ["directive 'udp' replaced by 'bcast'"]


def test_bcast_creates_one_medium_per_interface() -> None:
    parsed = parse("bcast eth0 eth1\n")
    assert [(m.kind, m.name, m.port) for m in parsed.media] == [
        (MediumKind.BCAST, "eth0", 694),
        (MediumKind.BCAST, "eth1", 694),
    ]


def test_ucast_lines_on_one_device_are_one_link_without_a_message() -> None:
    """README: several ucast lines on one device form one link named after the device."""
    parsed = parse("ucast eth1 10.0.0.2\nucast eth1 10.0.0.3\nucast eth1 10.0.0.4\n")
    assert [m.name for m in parsed.media] == ["eth1", "eth1", "eth1"]
    assert [m.peer for m in parsed.media] == ["10.0.0.2", "10.0.0.3", "10.0.0.4"]
    assert messages(parsed, Severity.INFO) == []


def test_duplicate_link_names_of_other_media_get_suffixes() -> None:
    parsed = parse("bcast eth1\nucast eth1 10.0.0.2\nucast eth1 10.0.0.3\nbcast eth1\n")
    assert [m.name for m in parsed.media] == ["eth1", "eth1#2", "eth1#2", "eth1#3"]
    assert messages(parsed, Severity.INFO) == [
        "Link name [eth1] is used again; this link is [eth1#2]",
        "Link name [eth1] is used again; this link is [eth1#3]",
    ]


def test_ucast_host_name_is_resolved() -> None:
    parsed = parse("ucast eth0 bravo.example\n")
    assert parsed.media[0].peer == "10.99.0.77"


def test_ucast_extra_words_are_a_warning() -> None:
    parsed = parse("ucast eth0 10.0.0.2 10.0.0.3\n")
    assert len(parsed.media) == 1
    assert "extra words ignored: 10.0.0.3" in messages(parsed, Severity.WARNING)[0]


def test_mcast_fields() -> None:
    parsed = parse("mcast eth0 239.0.0.1 5405 2 1\n")
    [medium] = parsed.media
    assert (medium.name, medium.group, medium.port, medium.ttl, medium.loop) == (
        "eth0",
        "239.0.0.1",
        5405,
        2,
        True,
    )


def test_mcast_reports_every_bad_field() -> None:
    parsed = parse("mcast eth0 10.0.0.1 0 9 2\n")
    assert messages(parsed) == [
        "mcast [eth0] bad addr [10.0.0.1]",
        "mcast [eth0] bad port [0]",
        "mcast [eth0] bad ttl [9]",
        "mcast [eth0] bad loop [2]",
    ]
    assert parsed.media == []


def test_udpport_applies_to_all_udp_media_but_warns_when_late() -> None:
    parsed = parse("ucast eth0 10.0.0.2\nudpport 5000\nbcast eth1\nmcast eth2 239.0.0.1 694 1 0\n")
    assert [m.port for m in parsed.media] == [5000, 5000, 694]
    assert "udpport setting must precede media statements" in messages(parsed, Severity.WARNING)


def test_udpport_before_media_is_silent() -> None:
    parsed = parse("udpport 5000\nucast eth0 10.0.0.2\n")
    assert parsed.media[0].port == 5000
    assert parsed.issues == []


def test_serial_and_baud() -> None:
    parsed = parse("baud 38400\nserial /dev/ttyS0 /dev/ttyS1\n")
    assert [(m.name, m.baud) for m in parsed.media] == [
        ("/dev/ttyS0", 38400),
        ("/dev/ttyS1", 38400),
    ]


def test_ping_and_ping_group_names() -> None:
    parsed = parse("ping 10.0.0.254 Router.Example\nping_group routers 10.0.0.1 10.0.0.2\n")
    assert [(m.kind, m.name, m.members) for m in parsed.media] == [
        (MediumKind.PING, "10.0.0.254", ("10.0.0.254",)),
        (MediumKind.PING, "router.example", ("router.example",)),
        (MediumKind.PING_GROUP, "routers", ("10.0.0.1", "10.0.0.2")),
    ]


@pytest.mark.parametrize(
    ("lines", "mode"),
    [
        ("nice_failback on\n", AutoFailback.LEGACY),  # quirk: before any auto_failback
        ("auto_failback on\nnice_failback on\n", AutoFailback.OFF),
        ("auto_failback off\nnice_failback off\n", AutoFailback.OFF),
        ("auto_failback legacy\nnice_failback on\n", AutoFailback.LEGACY),
    ],
)
def test_nice_failback_quirky_mapping(lines: str, mode: AutoFailback) -> None:
    parsed = parse(lines)
    assert parsed.auto_failback is mode
    assert parsed.parameters["auto_failback"] == mode.value
    obsolete = [i for i in parsed.issues if "nice_failback flag is obsolete" in i.message]
    assert len(obsolete) == 1


def test_stonith_host_lines_for_other_nodes_are_ignored() -> None:
    parsed = parse(
        "stonith_host * null alpha bravo\nstonith_host bravo null x\n"
        "stonith_host ALPHA external/ssh alpha bravo\n"
    )
    assert [(s.host_from, s.plugin, s.params) for s in parsed.stonith] == [
        ("*", "null", "alpha bravo"),
        ("alpha", "external/ssh", "alpha bravo"),
    ]


def test_respawn_and_apiauth() -> None:
    parsed = parse(
        "respawn root /bin/true --flag\napiauth ipfail uid=hacluster,root gid=haclient\n"
    )
    assert parsed.issues == []
    [child] = parsed.children
    assert (child.user, child.command, child.failfast) == ("root", "/bin/true --flag", False)
    [api] = parsed.apiauth
    assert (api.client, api.uids, api.gids) == ("ipfail", ("hacluster", "root"), ("haclient",))


NO_SUCH_DIR = "/nonexistent-hatui-test"
NO_SUCH_USER = "no-such-user-hatui"


@pytest.mark.parametrize(
    ("user", "program"),
    [
        (NO_SUCH_USER, f"{NO_SUCH_DIR}/usr/lib/heartbeat/ipfail"),
        (NO_SUCH_USER, f"{NO_SUCH_DIR}/usr/libexec/heartbeat/ipfail"),
        ("hacluster", "/usr/lib/heartbeat/ipfail"),
        ("hacluster", "/usr/libexec/heartbeat/ipfail"),
    ],
)
def test_builtin_ipfail_needs_no_binary_and_no_user(user: str, program: str) -> None:
    """The engine does ipfail's job itself: a node without the Debian heartbeat package
    (no ipfail binary, no hacluster user) accepts the README recipe."""
    parsed = parse(f"respawn {user} {program}\n")
    assert parsed.issues == []
    [child] = parsed.children
    assert (child.user, child.command, child.failfast) == (user, program, False)
    assert child.builtin_ipfail


def test_other_children_still_need_their_program_user_and_full_path() -> None:
    parsed = parse(
        f"failfast root {NO_SUCH_DIR}/ipfail\n"
        f"respawn root {NO_SUCH_DIR}/helper\n"
        "respawn root ipfail\n"
        f"respawn {NO_SUCH_USER} /bin/true\n"
    )
    assert parsed.children == []
    assert messages(parsed, Severity.ERROR) == [
        f"Client child command [{NO_SUCH_DIR}/ipfail] is not executable",
        f"Client child command [{NO_SUCH_DIR}/helper] is not executable",
        "Client child command [ipfail] is not full pathname",
        f"Invalid uid [{NO_SUCH_USER}] specified for client child",
    ]
    assert [i.where.line for i in parsed.issues] == [1, 2, 3, 4]


def test_env_and_misc_values() -> None:
    parsed = parse(
        "env FOO=bar,BAZ=\nhopfudge 3\nmsgfmt netstring\nrtprio 50\ncluster prod\n"
        "uuidfrom nodename\nmax_rexmit_delay 500\nlog_badpack off\nsyslogmsgfmt no\n"
    )
    assert parsed.issues == []
    assert parsed.env == [("FOO", "bar"), ("BAZ", "")]
    assert (parsed.hopfudge, parsed.msgfmt, parsed.rtprio, parsed.cluster) == (
        3,
        "netstring",
        50,
        "prod",
    )
    assert (parsed.uuidfrom, parsed.max_rexmit_delay_ms) == ("nodename", 500)
    assert (parsed.log_badpack, parsed.syslogmsgfmt) == (False, False)


def test_unsupported_directives_are_collected_once() -> None:
    parsed = parse("compression bz2\ncoredumps off\ncoredumps on\nucast6 eth0 fe80::1\n")
    assert parsed.not_acted_on == ["compression", "coredumps", "ucast6"]
    assert parsed.issues == []
    assert parsed.media == []


def test_illegal_directive_message_and_line() -> None:
    parsed = parse("node alpha\nkeepalivee 2\n")
    [issue] = parsed.issues
    assert str(issue.where) == "ha.cf:2"
    assert issue.message == "Illegal directive [keepalivee] in ha.cf"


def test_defaults_are_recorded_when_absent() -> None:
    parsed = parse("node alpha\n")
    assert parsed.parameters["keepalive"] == "1000ms"
    assert parsed.parameters["deadtime"] == "30000ms"
    assert parsed.parameters["pacemaker"] == "false"
    assert parsed.parameters["udpport"] == str(parsed.udpport)


def test_garbage_never_raises() -> None:
    import random

    rng = random.Random(694)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 \t,#:/.=\\-_\x00é"
    names = sorted(KNOWN_DIRECTIVES)
    for _ in range(300):
        words = [rng.choice(names)] + [
            "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
            for _ in range(rng.randint(0, 5))
        ]
        parsed = parse(" ".join(words) + "\n")
        assert all(issue.hint or issue.severity is not Severity.ERROR for issue in parsed.issues)


def test_undecodable_bytes_give_an_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "ha.cf"
    path.write_bytes(b"node alpha\nnode b\xffd\n")
    parsed = parse_hacf(path, "alpha", resolve=lambda name: "10.0.0.1")
    [issue] = parsed.issues
    assert issue.where.line == 2
    assert "Invalid node name" in issue.message
