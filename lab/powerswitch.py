"""A test power switch: a TCP service in its own namespace that "power-cycles" lab nodes.

Protocol (one line per connection, one reply line): ``reset NODE`` → kills every process
in NODE's namespace, takes its links down and flushes their addresses (a power-off loses
the VIP too), replies ``OK``, then after ``off_time`` seconds restores the node's own
addresses and links (the node "boots" with nothing running). ``status`` → ``OK``;
``hosts`` → the node names. Every reset is appended to ``resets.log`` as ``NODE TIME``.

Run as ``python -m lab.powerswitch CONFIG.json`` inside the switch namespace; the
:class:`PowerSwitch` helper does that and plugs it into one lab network. Nodes drive it
through the cluster-glue external STONITH plugin ``external/labswitch``
(``lab/plugins/labswitch``; :func:`install_plugin` puts it in an engine's config dir).
"""

from __future__ import annotations

import json
import shutil
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from lab.engine import REPO_ROOT
from lab.netns import Lab, kill_namespace_processes, run, wait_until

PORT = 7070
PLUGIN = Path(__file__).parent / "plugins" / "labswitch"
"""The ``external/labswitch`` STONITH plugin that drives the switch."""


def install_plugin(config_dir: Path) -> Path:
    """Give an engine ``external/labswitch``: in its config dir's ``stonith/external``,
    where the engine looks first for external plugins. Returns the installed file."""
    external = config_dir / "stonith" / "external"
    external.mkdir(parents=True, exist_ok=True)
    installed = external / PLUGIN.name
    shutil.copy(PLUGIN, installed)
    installed.chmod(0o755)
    return installed


class PowerSwitch:
    """The switch namespace, its service process and the record of resets.

    Args:
        lab: a started lab; the switch plugs into network ``network`` (use a network the
            heartbeat media do not use, so that cutting heartbeat links keeps fencing up).
        off_time: seconds a reset node stays powered off.
    """

    def __init__(self, lab: Lab, network: int, off_time: float = 1.0) -> None:
        self.lab = lab
        self.network = network
        self.address = f"10.99.{network}.250"
        self.namespace = f"{lab.prefix}-pwr"
        self.off_time = off_time
        self.workdir = lab.workdir / "powerswitch"
        self.proc: subprocess.Popen[bytes] | None = None
        self._plugged = False

    @property
    def resets_log(self) -> Path:
        """``NODE TIME`` per reset performed."""
        return self.workdir / "resets.log"

    def resets(self) -> list[str]:
        """Names of the nodes reset so far, in order."""
        if not self.resets_log.exists():
            return []
        return [line.split()[0] for line in self.resets_log.read_text().splitlines() if line]

    def start(self) -> None:
        """Create/plug the namespace (first time) and start the service."""
        if not self._plugged:
            self.lab._add_namespace(self.namespace)
            self.lab._plug(self.namespace, "pwr0", self.network, self.address)
            self._plugged = True
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = {
            "listen": self.address,
            "port": PORT,
            "off_time": self.off_time,
            "log": str(self.resets_log),
            "nodes": {
                node.name: {
                    "namespace": node.namespace,
                    "links": {
                        f"eth{net}": f"{node.address(net)}/24" for net in range(self.lab.networks)
                    },
                }
                for node in self.lab.nodes.values()
            },
        }
        path = self.workdir / "config.json"
        path.write_text(json.dumps(config))
        argv = ["ip", "netns", "exec", self.namespace, sys.executable]
        argv += ["-m", "lab.powerswitch", str(path)]
        with (self.workdir / "service.out").open("ab") as out:
            self.proc = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT)
        wait_until(self._answers, 10, 0.05, "power switch answering")

    def _answers(self) -> bool:
        proc = subprocess.run(
            ["ip", "netns", "exec", self.namespace, "bash", "-c",
             f"exec 3<>/dev/tcp/{self.address}/{PORT} && echo status >&3 && head -1 <&3"],
            capture_output=True, text=True, timeout=5, check=False,
        )  # fmt: skip
        return proc.stdout.strip() == "OK"

    def stop(self) -> None:
        """Kill the service (the device is down); the namespace stays."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None


# --------------------------------------------------------------------------- the service


def _power_cycle(node: dict[str, Any], off_time: float) -> None:
    namespace = node["namespace"]
    kill_namespace_processes(namespace)
    for ifname in node["links"]:
        run(["ip", "-n", namespace, "link", "set", ifname, "down"], check=False)
        run(["ip", "-n", namespace, "addr", "flush", "dev", ifname], check=False)

    def power_on() -> None:
        time.sleep(off_time)
        for ifname, address in node["links"].items():
            run(["ip", "-n", namespace, "addr", "add", address, "brd", "+", "dev", ifname],
                check=False)  # fmt: skip
            run(["ip", "-n", namespace, "link", "set", ifname, "up"], check=False)

    threading.Thread(target=power_on, daemon=True).start()


def serve(config: dict[str, Any]) -> None:
    """Answer requests until killed."""
    nodes: dict[str, Any] = config["nodes"]
    lock = threading.Lock()

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            words = self.rfile.readline(1024).decode(errors="replace").split()
            reply = answer(words)
            self.wfile.write((reply + "\n").encode())

    def answer(words: list[str]) -> str:
        if words == ["status"]:
            return "OK"
        if words == ["hosts"]:
            return " ".join(nodes)
        if len(words) == 2 and words[0] == "reset":
            node = nodes.get(words[1].lower())
            if node is None:
                return f"ERR unknown host {words[1]}"
            with lock:
                _power_cycle(node, float(config["off_time"]))
                with open(config["log"], "a") as log:
                    log.write(f"{words[1].lower()} {time.time():.3f}\n")
            return "OK"
        return f"ERR bad request {' '.join(words)!r}"

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    with socketserver.ThreadingTCPServer((config["listen"], config["port"]), Handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    serve(json.loads(Path(sys.argv[1]).read_text()))
