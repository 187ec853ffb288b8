"""``hactl export pacemaker``: five configurations through the real ``crm_verify``,
golden pcs/crm text for the two classic setups, and clear refusals of bad input."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from engine.export import export_pacemaker, load_cluster
from engine.export.stonith import split_parameters
from engine.programs.hactl import main as hactl
from lab.pacemaker.examples import HBMARK

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
GOLDEN = Path(__file__).parent / "golden"
CRM_VERIFY = shutil.which("crm_verify")
AUTHKEYS = "auth 1\n1 sha1 export-test-secret\n"

# The sample haresources shipped with Heartbeat (spec §7.1), with a null STONITH device.
SAMPLE_HACF = """keepalive 2
deadtime 30
bcast eth0
stonith_host * null node1 just.linux-ha.org
node node1
node just.linux-ha.org
"""
SAMPLE_HARESOURCES = """node1  10.0.0.170 Filesystem::/dev/sda1::/data1::ext2
just.linux-ha.org 135.9.216.3/28/eth0/135.9.216.12 httpd
"""
DATABASE_HACF = """keepalive 1
deadtime 10
ucast eth1 10.1.0.2
auto_failback off
stonith_host * fence_ipmilan ip=10.1.9.2 username=admin password=pw pcmk_host_list=db2
stonith meatware {meatware}
node db1
node db2
"""
DATABASE_HARESOURCES = """db1 drbddisk::r0 Filesystem::/dev/drbd0::/var/lib/postgresql::ext4 \\
    IPaddr2::10.1.0.50/24/eth0 systemd:postgresql.service MailTo::dba@example.com::failover
"""
THREE_NODE_HACF = """keepalive 500ms
deadtime 5
warntime 2
initdead 20
mcast eth0 239.0.0.43 694 1 0
auto_failback on
stonith_host * external/ssh alpha bravo charlie
node alpha
node bravo
node charlie
"""
THREE_NODE_HARESOURCES = """alpha IPaddr2::10.2.0.10/24 nfsserver::nfs_shared_infodir=/srv/nfs/info
bravo 10.2.0.11 Delay::5::5 custom-app
charlie IPaddr2::10.2.0.12/24/eth0 apache::/etc/apache2/apache2.conf
"""


def write_config(where: Path, hacf: str, haresources: str) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    (where / "ha.cf").write_text(hacf)
    (where / "haresources").write_text(haresources)
    (where / "authkeys").write_text(AUTHKEYS)
    (where / "authkeys").chmod(0o600)
    return where


def copy_example(name: str, tmp: Path) -> Path:
    target = tmp / name
    shutil.copytree(EXAMPLES / name, target)
    (target / "authkeys").chmod(0o600)
    return target


def configurations(tmp: Path) -> dict[str, Path]:
    meatware = tmp / "meatware.cfg"
    meatware.write_text("# hosts the operator resets by hand\ndb1 db2\n")
    custom = write_config(tmp / "three", THREE_NODE_HACF, THREE_NODE_HARESOURCES)
    (custom / "resource.d").mkdir()
    (custom / "resource.d" / "custom-app").write_text("#!/bin/sh\nexit 0\n")
    return {
        "web": copy_example("web", tmp),
        "nfs": copy_example("nfs", tmp),
        "sample": write_config(tmp / "sample", SAMPLE_HACF, SAMPLE_HARESOURCES),
        "database": write_config(
            tmp / "database", DATABASE_HACF.format(meatware=meatware), DATABASE_HARESOURCES
        ),
        "three": custom,
    }


def export(config_dir: Path, fmt: str) -> str:
    result = export_pacemaker(config_dir, fmt)
    assert result.text is not None, result.error
    return result.text


def with_online_nodes(xml: str, names: tuple[str, ...]) -> str:
    """The CIB as a running cluster would have it: every node joined and online (the
    export leaves ``<nodes>`` to Pacemaker, which fills it from corosync), nothing running."""
    cib = ET.fromstring(xml)
    status = cib.find("status")
    nodes = cib.find("configuration/nodes")
    assert status is not None and nodes is not None
    assert not list(nodes), "the export must not guess corosync node ids"
    for number, name in enumerate(names, start=1):
        ET.SubElement(nodes, "node", id=str(number), uname=name)
        ET.SubElement(
            status,
            "node_state",
            id=str(number),
            uname=name,
            in_ccm="true",
            crmd="online",
            join="member",
            expected="member",
        )
    return ET.tostring(cib, encoding="unicode")


def crm_verify(xml: str, tmp: Path, name: str) -> subprocess.CompletedProcess[str]:
    path = tmp / f"{name}.xml"
    path.write_text(xml)
    assert CRM_VERIFY is not None
    return subprocess.run(
        [CRM_VERIFY, "--xml-file", str(path), "-V"], capture_output=True, text=True, timeout=30
    )


NAMES = ("web", "nfs", "sample", "database", "three")


@pytest.mark.skipif(
    CRM_VERIFY is None, reason="crm_verify missing: apt-get install pacemaker-cli-utils"
)
@pytest.mark.parametrize("name", NAMES)
def test_crm_verify_accepts_export(name: str, tmp_path: Path) -> None:
    config_dir = configurations(tmp_path)[name]
    xml = export(config_dir, "cib")
    config = load_cluster(config_dir)[0]
    assert config is not None
    online = crm_verify(with_online_nodes(xml, config.nodes), tmp_path, f"{name}-online")
    assert online.returncode == 0, online.stdout + online.stderr
    assert "error" not in (online.stdout + online.stderr).lower()
    # The bare export (no status section) is valid too; with fencing enabled Pacemaker
    # only warns that it would fence nodes it has never seen.
    bare = crm_verify(xml, tmp_path, name)
    output = bare.stdout + bare.stderr
    assert "error" not in output.lower(), output
    assert bare.returncode in (0, 78), output


@pytest.mark.skipif(
    CRM_VERIFY is None, reason="crm_verify missing: apt-get install pacemaker-cli-utils"
)
def test_crm_verify_rejects_a_broken_cib(tmp_path: Path) -> None:
    """The check above can fail: a primitive without its type is refused."""
    xml = export(configurations(tmp_path)["web"], "cib").replace(' type="apache2"', "")
    result = crm_verify(with_online_nodes(xml, ("alpha", "bravo")), tmp_path, "broken")
    assert result.returncode != 0


@pytest.mark.parametrize(("name", "fmt"), [(n, f) for n in ("web", "nfs") for f in ("pcs", "crm")])
def test_golden_command_lists(name: str, fmt: str, tmp_path: Path) -> None:
    text = export(configurations(tmp_path)[name], fmt)
    golden = GOLDEN / f"{name}.{fmt}"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def test_mapping_of_the_database_setup(tmp_path: Path) -> None:
    cib = ET.fromstring(export(configurations(tmp_path)["database"], "cib"))
    group = cib.find("configuration/resources/group")
    assert group is not None
    agents = [
        ":".join(filter(None, (p.get("class"), p.get("provider"), p.get("type"))))
        for p in group.iter("primitive")
    ]
    assert agents == [
        "lsb:drbddisk-r0",  # Pacemaker 2 has no heartbeat class: an init-script wrapper
        "ocf:heartbeat:Filesystem",
        "ocf:heartbeat:IPaddr2",
        "systemd:postgresql.service",
        "ocf:heartbeat:MailTo",
    ]
    stickiness = cib.find("configuration/rsc_defaults/meta_attributes/nvpair")
    assert stickiness is not None and stickiness.get("value") == "1000"  # auto_failback off
    devices = {p.get("type"): p for p in cib.iterfind("configuration/resources/primitive")}
    assert set(devices) == {"fence_ipmilan", "meatware"}
    hosts = devices["meatware"].find("instance_attributes/nvpair[@name='hostlist']")
    assert hosts is not None and hosts.get("value") == "db1 db2"
    avoid = cib.find("configuration/constraints/rsc_location[@score='-INFINITY']")
    assert avoid is not None and avoid.get("node") == "db2"


def test_sample_keeps_two_groups_with_their_home_nodes(tmp_path: Path) -> None:
    text = export(configurations(tmp_path)["sample"], "crm")
    assert "location location-rg-fs-data1-node1 rg-fs-data1 100: node1" in text
    assert "rg-httpd 100: just.linux-ha.org" in text
    assert "params ip=135.9.216.3 cidr_netmask=28 nic=eth0 broadcast=135.9.216.12" in text
    assert 'hostlist="node1 just.linux-ha.org"' in text
    assert "rsc_defaults resource-stickiness=0" in text  # legacy exported like on
    assert "-inf" not in text  # the null device covers every node: no node to avoid


def test_heartbeat_parameter_rule_last_name_takes_the_rest() -> None:
    assert split_parameters("null", "alpha bravo") == [("hostlist", "alpha bravo")]
    assert split_parameters("baytech", "10.0.0.3 admin se cret") == [
        ("ipaddr", "10.0.0.3"),
        ("login", "admin"),
        ("password", "se cret"),
    ]


def test_bad_input_gets_a_clear_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write_config(
        tmp_path / "bad", "bcast eth0\nstonith_host * acme-pdu 1 2\nnode a\nnode b\n", "a x\n"
    )
    result = export_pacemaker(bad, "cib")
    assert result.text is None
    # the loader reads files only (no plugin probe): the export's own table says it
    assert "unknown STONITH type 'acme-pdu'" in result.error
    ip = write_config(tmp_path / "ip", "bcast eth0\nnode a\nnode b\n", "a IPaddr2::bogus/24\n")
    assert "IPaddr2::bogus/24" in export_pacemaker(ip, "pcs").error
    mail = write_config(tmp_path / "m", "bcast eth0\nnode a\nnode b\n", "a MailTo::x::y::z\n")
    refused = export_pacemaker(mail, "crm")
    assert refused.text is None
    assert refused.error == (
        "haresources: MailTo::x::y::z: MailTo takes at most 2 arguments: email, subject"
    )
    assert hactl(["export", "pacemaker", "--config-dir", str(tmp_path / "missing")]) == 1
    assert "is not usable" in capsys.readouterr().err


def test_hactl_export_writes_to_stdout(tmp_path: Path) -> None:
    web = copy_example("web", tmp_path)
    out = subprocess.run(
        [sys.executable, "-m", "engine.programs.hactl", "export", "pacemaker", "--format", "crm",
         "--config-dir", str(web)],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "group rg-apache2 ip-192.168.10.100 apache2" in out.stdout


def test_quorum_mapping_three_nodes_stop_two_nodes_need_two_node(tmp_path: Path) -> None:
    """Heartbeat had no quorum; the export always says ``no-quorum-policy=stop`` (never
    ``ignore``, which lets each side of a split run the group) and, for two nodes, names
    the corosync ``two_node`` setting that keeps a lone survivor quorate."""
    configs = configurations(tmp_path)
    for name in NAMES:
        for fmt in ("cib", "pcs", "crm"):
            text = export(configs[name], fmt)
            assert "no-quorum-policy" in text and "ignore" not in text, (name, fmt)
    assert 'name="no-quorum-policy" value="stop"' in export(configs["three"], "cib")
    assert "3 nodes: Heartbeat had no quorum" in export(configs["three"], "crm")
    assert "two_node: 1" in export(configs["web"], "pcs")
    for name in NAMES:  # crmsh refuses a load whose comments hold "--"
        comments = [ln for ln in export(configs[name], "crm").splitlines() if ln.startswith("#")]
        assert not [ln for ln in comments if "--" in ln], name
    assert "two_node" not in export(configs["three"], "pcs")


def test_resource_d_scripts_run_through_an_lsb_wrapper(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``hbmark::ready`` (a resource.d script with an argument) → ``lsb:hbmark-ready``, and
    ``hactl export --wrappers DIR`` writes the init script that runs it: its ``status``
    exits 0/3 by Heartbeat's text rule although the script itself always exits 0."""
    config = write_config(
        tmp_path / "c", "bcast eth0\nnode a\nnode b\n", "a IPaddr2::10.9.9.9/24 hbmark::ready\n"
    )
    (config / "resource.d").mkdir()
    (config / "resource.d" / "hbmark").write_text(HBMARK)
    (config / "resource.d" / "hbmark").chmod(0o755)
    crm = export(config, "crm")
    assert "primitive hbmark-ready lsb:hbmark-ready" in crm
    assert "Pacemaker 2 has no 'heartbeat' resource class" in crm
    initd = tmp_path / "init.d"
    initd.mkdir()
    code = hactl(["export", "pacemaker", "--format", "pcs", "--config-dir", str(config),
                  "--wrappers", str(initd)])  # fmt: skip
    assert code == 0
    assert f"wrote {initd / 'hbmark-ready'}" in capsys.readouterr().err
    wrapper = str(initd / "hbmark-ready")
    env = {"HBMARK_DIR": str(tmp_path), "PATH": os.environ["PATH"]}

    def run(action: str) -> int:
        return subprocess.run([wrapper, action], env=env, timeout=10).returncode

    assert run("status") == 3
    assert run("start") == 0 and (tmp_path / "hbmark-ready").exists()
    assert run("status") == 0
    assert run("stop") == 0 and not (tmp_path / "hbmark-ready").exists()
    assert run("status") == 3
    assert run("bogus") == 2
