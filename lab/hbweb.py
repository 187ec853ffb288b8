"""``hbweb``: an LSB-style resource script serving the node name over HTTP on port 8080.

It is the service of the failover tests and benchmarks (the real-Heartbeat reference
used the same shape, running-real-heartbeat.md). Per node, in its config dir:

* ``hbweb.pid`` — the server's pid, written by the server once it listens;
* ``hbweb.events`` — one line per action: ``<epoch seconds> <action> <node>``;
* ``hbweb.fail`` — if present, ``start`` fails (exit 1) after logging the attempt;
* ``hbweb.probe`` — if present, ``status`` also asks the server over HTTP (no timeout of
  its own: a frozen server hangs the check until the engine's monitor timeout kills it).

``status`` prints ``hbweb is running`` / ``hbweb is stopped`` (Heartbeat judges the
text, spec §7.2). The node name comes from ``HA_CURHOST``, which the engine sets.
``stop`` also sends SIGCONT, so a stopped (frozen) server gets its SIGTERM, and SIGKILL
when it is still there after 2 s.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

PORT = 8080

_SERVER = """
import http.server, os, sys
node, pidfile, docroot = sys.argv[1], sys.argv[2], sys.argv[3]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body, status = node.encode(), 200
        if docroot and self.path != "/":
            try:
                with open(os.path.join(docroot, os.path.basename(self.path)), "rb") as f:
                    body = f.read()
            except OSError:
                body, status = b"not found", 404
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("0.0.0.0", PORT), Handler)
with open(pidfile + ".tmp", "w") as handle:
    handle.write(str(os.getpid()))
os.rename(pidfile + ".tmp", pidfile)
server.serve_forever()
""".replace("PORT", str(PORT))

_PROBE = (
    "import sys, urllib.request; "
    "sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:PORT/').read().decode())"
).replace("PORT", str(PORT))

_SCRIPT = r"""#!/bin/sh
# hbweb: LSB-style test service (start|stop|status); serves $HA_CURHOST on :8080.
DIR=@STATEDIR@
PIDFILE="$DIR/hbweb.pid"
EVENTS="$DIR/hbweb.events"
NODE="${HA_CURHOST:-@NODE@}"
PY="@PYTHON@"

# A killed server stays a zombie until init reaps it: that is not running.
alive() { kill -0 "$1" 2>/dev/null && [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]; }
running() { [ -s "$PIDFILE" ] && alive "$(cat "$PIDFILE")"; }
event() { echo "$(date +%s.%N) $1 $NODE" >> "$EVENTS"; }

case "$1" in
start)
    event start
    if [ -e "$DIR/hbweb.fail" ]; then echo "hbweb: start failure requested" >&2; exit 1; fi
    running && exit 0
    rm -f "$PIDFILE"
    setsid "$PY" -c '@SERVER@' "$NODE" "$PIDFILE" "@DOCROOT@" </dev/null >/dev/null 2>&1 &
    i=0
    while [ $i -lt 200 ]; do
        running && { event started; exit 0; }
        sleep 0.01
        i=$((i + 1))
    done
    echo "hbweb: server did not start" >&2
    exit 1
    ;;
stop)
    event stop
    if running; then
        pid=$(cat "$PIDFILE")
        kill "$pid"
        kill -CONT "$pid" 2>/dev/null
        i=0
        while alive "$pid" && [ $i -lt 200 ]; do sleep 0.01; i=$((i + 1)); done
        if alive "$pid"; then
            kill -KILL "$pid" 2>/dev/null
            while alive "$pid"; do sleep 0.01; done
        fi
    fi
    rm -f "$PIDFILE"
    event stopped
    exit 0
    ;;
status)
    if running; then
        if [ ! -e "$DIR/hbweb.probe" ]; then echo "hbweb is running"; exit 0; fi
        if [ "$("$PY" -c "@PROBE@" 2>/dev/null)" = "$NODE" ]; then
            echo "hbweb is running"; exit 0
        fi
        echo "hbweb is not running (no answer on port @PORT@)"
        exit 1
    fi
    echo "hbweb is stopped"
    exit 3
    ;;
*)
    echo "usage: $0 {start|stop|status}" >&2
    exit 2
    ;;
esac
"""


def hbweb_script(lsb: bool = False, docroot: str = "") -> str:
    """The script text, with this interpreter baked in (no PATH lookups inside the node).

    The default is the ``resource.d`` script: its files live in the config dir above the
    script and the node name comes from ``HA_CURHOST``. ``lsb=True`` makes the init-script
    flavour for ``/etc/init.d`` of a node with a private ``/run`` (Pacemaker's ``lsb:``
    class sets no HA_CURHOST): files in ``/run/<script name>``, node name from ``uname -n``.
    ``docroot`` also serves the files of that directory (``GET /NAME``), so a test can
    read data from a file system the cluster mounted.
    """
    state_dir = '$(cd "$(dirname "$0")/.." && pwd)'
    if lsb:
        state_dir = '/run/$(basename "$0"); mkdir -p "$DIR"'
    node = "$(uname -n)" if lsb else "HA_CURHOST-unset"
    return (
        _SCRIPT.replace("@STATEDIR@", state_dir)
        .replace("@NODE@", node)
        .replace("@DOCROOT@", docroot)
        .replace("@PYTHON@", sys.executable)
        .replace("@SERVER@", _SERVER)
        .replace("@PROBE@", _PROBE)
        .replace("@PORT@", str(PORT))
    )


@dataclass(frozen=True)
class ServiceEvent:
    """One line of ``hbweb.events``."""

    time: float
    action: str
    node: str


def service_events(config_dir: Path) -> list[ServiceEvent]:
    """Parse the node's ``hbweb.events`` (empty when the script never ran)."""
    path = config_dir / "hbweb.events"
    if not path.exists():
        return []
    events: list[ServiceEvent] = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3:
            events.append(ServiceEvent(float(parts[0]), parts[1], parts[2]))
    return events
