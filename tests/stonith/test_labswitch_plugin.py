"""The lab's ``external/labswitch`` plugin (lab/plugins/labswitch), installed as the lab
installs it, found and called by the engine's external-plugin code (no root, no switch:
the netns fencing tests drive a real switch through it)."""

from __future__ import annotations

import socket
from pathlib import Path

from engine.stonith.base import PluginContext
from engine.stonith.external import ExternalPlugin, find_script
from lab.powerswitch import PLUGIN, install_plugin


async def test_installed_plugin_is_found_and_answers_cluster_glue_ops(tmp_path: Path) -> None:
    installed = install_plugin(tmp_path)
    ctx = PluginContext(tmp_path)
    assert installed.read_bytes() == PLUGIN.read_bytes()
    assert find_script("external/labswitch", ctx) == installed
    assert await ExternalPlugin.parameter_names("external/labswitch", ctx) == (
        "ipaddr",
        "port",
        "hostlist",
    )
    with socket.socket() as unused:  # a port nobody listens on: the switch is "down"
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    params = {"ipaddr": "127.0.0.1", "port": str(port), "hostlist": "alpha bravo"}
    plugin = ExternalPlugin("external/labswitch", params, ctx)
    assert await plugin.hosts() == ["alpha", "bravo"]
    assert await plugin.load_device_id() == "lab power switch"
    down = await plugin.status()
    assert not down.ok
    assert "power switch 127.0.0.1" in down.reason, down.reason
