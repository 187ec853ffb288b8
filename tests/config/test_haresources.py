"""haresources canonicalisation (spec §7.1, ResourceManager's sed script)."""

from __future__ import annotations

from pathlib import Path

from engine.config.haresources import parse_haresources, parse_haresources_text
from engine.config.model import Severity, SourceRef

NODES = ("alpha", "bravo", "node1", "just.linux-ha.org")


def test_spec_sample_lines() -> None:
    text = (
        "node1  10.0.0.170 Filesystem::/dev/sda1::/data1::ext2\n"
        "just.linux-ha.org 135.9.216.3/28/eth0/135.9.216.12 httpd\n"
    )
    groups, issues = parse_haresources_text(text, "haresources", NODES)
    assert issues == []
    first, second = groups
    assert first.canonical == "node1 10.0.0.170 Filesystem::/dev/sda1::/data1::ext2"
    assert first.key == "10.0.0.170"
    assert [(r.script, r.args) for r in first.resources] == [
        ("IPaddr", ("10.0.0.170",)),
        ("Filesystem", ("/dev/sda1", "/data1", "ext2")),
    ]
    assert second.resources[0].script == "IPaddr"
    assert second.resources[0].args == ("135.9.216.3/28/eth0/135.9.216.12",)
    assert second.resources[1].args == ()


def test_reference_line() -> None:
    [group], issues = parse_haresources_text(
        "alpha IPaddr2::10.99.0.10/24/eth0 hbhttpd\n", "haresources", NODES
    )
    assert issues == []
    assert group.key == "IPaddr2::10.99.0.10/24/eth0"


def test_continuations_comments_blanks_and_case() -> None:
    text = (
        "# resource groups\n"
        "\n"
        "  ALPHA\t 10.99.0.10/24   \\\n"
        "\tFilesystem::/dev/sdb1::/srv \\\n"
        "  hbhttpd   # the web server\n"
        "bravo other\n"
    )
    groups, issues = parse_haresources_text(text, "haresources", NODES)
    # the comment on the last physical line of a group is on a continuation line
    assert [(i.severity, i.where.line) for i in issues] == [(Severity.WARNING, 5)]
    assert [g.canonical for g in groups] == [
        "alpha 10.99.0.10/24 Filesystem::/dev/sdb1::/srv hbhttpd",
        "bravo other",
    ]
    assert groups[0].where == SourceRef("haresources", 3)
    assert groups[1].where == SourceRef("haresources", 6)


def test_comment_on_continuation_line_is_stripped_with_a_warning() -> None:
    text = "alpha a \\\n  b # not resources \\\nbravo c\n"
    groups, issues = parse_haresources_text(text, "haresources", NODES)
    assert [g.canonical for g in groups] == ["alpha a b", "bravo c"]
    [warning] = issues
    assert warning.severity is Severity.WARNING
    assert warning.where == SourceRef("haresources", 2)
    assert "resource names" in warning.hint


def test_node_is_matched_case_insensitively() -> None:
    [group], issues = parse_haresources_text("Bravo x\n", "haresources", ["alpha", "bravo"])
    assert issues == [] and group.node == "bravo"


def test_all_bad_lines_are_reported() -> None:
    text = "charlie a\nalpha IPaddr2::1.2.3.4/99\nalpha b\nbravo b\n"
    groups, issues = parse_haresources_text(text, "haresources", NODES)
    assert [(i.where.line, i.message) for i in issues] == [
        (1, "Bad nodename in haresources [charlie]"),
        (2, "Bad netmask [99] in resource [IPaddr2::1.2.3.4/99]"),
        (4, "Duplicate resource group [b]"),
    ]
    assert [g.key for g in groups] == ["b"]


def test_ip_forms() -> None:
    text = (
        "alpha 10.0.0.1\n"
        "alpha 10.0.0.2/24\n"
        "alpha 10.0.0.3/24/eth0\n"
        "alpha 10.0.0.4/24/10.0.0.255\n"
        "alpha IPaddr2::10.0.0.5/24/eth0/10.0.0.255\n"
    )
    groups, issues = parse_haresources_text(text, "haresources", NODES)
    assert issues == []
    assert len(groups) == 5


def test_missing_file_is_a_warning(tmp_path: Path) -> None:
    groups, issues = parse_haresources(tmp_path / "haresources", NODES)
    assert groups == []
    [warning] = issues
    assert warning.severity is Severity.WARNING
    assert "no resource groups" in warning.message
