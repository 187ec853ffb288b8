"""An encrypting authkeys method and the real Heartbeat 3.0.6 (issue 15 part 4).

A mixed cluster cannot encrypt: Heartbeat refuses an authkeys file that names
``aes256gcm`` (``Invalid authtype``, exit 6), and a hatui node that encrypts refuses
Heartbeat's plaintext packets by name, counts them and never counts the sender alive.
"""

from __future__ import annotations

import pytest

from lab import nodes_by_name, wait_until
from lab.mixed import HatuiMember, RealMember
from tests.interop.conftest import MixedFactory

AES_KEYS = "auth 1\n1 aes256gcm lab-aes-secret-0123456789abcdef0123\n"


def test_mixed_cluster_naming_an_encrypting_method_is_refused_on_both_sides(
    make_mixed: MixedFactory,
) -> None:
    cluster = make_mixed({"alpha": "heartbeat", "bravo": "hatui"})
    real, ours = cluster["alpha"], cluster["bravo"]
    assert isinstance(real, RealMember) and isinstance(ours, HatuiMember)
    sha1_keys = (real.config_dir / "authkeys").read_text()
    (real.config_dir / "authkeys").write_text(AES_KEYS)
    with pytest.raises(RuntimeError, match=r"Invalid authtype \[aes256gcm\]"):
        real.start()
    (real.config_dir / "authkeys").write_text(sha1_keys)
    (ours.config_dir / "authkeys").write_text(AES_KEYS)
    real.start()
    ours.start()
    assert ours.handle is not None

    def refused_and_dead() -> bool:
        status = ours.handle.try_status() if ours.handle else None
        if status is None:
            return False
        alpha = nodes_by_name(status)["alpha"]
        return status["counters"]["rejected"].get("plaintext", 0) > 0 and (
            alpha["status"] == "dead"
        )

    wait_until(refused_and_dead, 20, 0.1, "bravo refuses alpha's plaintext and finds it dead")
    status = ours.handle.status()
    alpha = nodes_by_name(status)["alpha"]
    assert alpha["confirmed"] is False
    log = "\n".join(ours.log_lines())
    assert "unencrypted Heartbeat packet from a node calling itself 'alpha'" in log
    assert "Heartbeat 3.0.6 cannot encrypt" in log
    assert real.sees("bravo") != "active"
