"""A fixed status document (as the architecture contract shows it) for tests."""

from __future__ import annotations

import copy
from typing import Any

RECEIVED_AT = 1000.0
WALL = 1_795_611_934.0

_STATUS: dict[str, Any] = {
    "node": "alpha",
    "status": "active",
    "generation": 1795611934,
    "uuid": "ab12",
    "cluster": "linux-ha",
    "version": "0.1.0",
    "pid": 123,
    "timing": {"keepalive_ms": 200, "warntime_ms": 600, "deadtime_ms": 1000, "initdead_ms": 3000},
    "auto_failback": "on",
    "nodes": [
        {"name": "alpha", "type": "normal", "self": True, "status": "active", "links": []},
        {
            "name": "bravo",
            "type": "normal",
            "self": False,
            "status": "active",
            "generation": 17,
            "deadtime_ms": 1000,
            "last_heard_ms": 120,
            "links": [
                {
                    "name": "mcast:lo",
                    "status": "up",
                    "last_heard_ms": 120,
                    "intervals_ms": [200, 201, 199, 230, 200, 202, 198, 200, 350, 200],
                    "max_gap_ms": 350,
                    "jitter_ms": 3.1,
                    "late": 0,
                },
                {
                    "name": "ucast:lo",
                    "status": "up",
                    "last_heard_ms": 80,
                    "intervals_ms": [200, 200, 201, 199],
                    "max_gap_ms": 230,
                    "jitter_ms": 1.0,
                    "late": 0,
                },
            ],
        },
    ],
    "groups": [
        {
            "key": "demo-db",
            "home": "alpha",
            "held_by": "alpha",
            "state": "running",
            "reason": "",
            "resources": [
                {"name": "demo-db", "state": "running"},
                {"name": "demo-web::18080", "state": "running"},
            ],
        }
    ],
    "resources": {"mode": "nice_failback", "i_hold": "local", "stable": True},
    "counters": {"rejected_total": 0, "late_heartbeats": 0, "deaths": 0, "takeovers": 0},
    "last_change": {"time": WALL, "what": "acquired demo-db", "reason": "initdead expired"},
}

LOGS: list[dict[str, Any]] = [
    {"time": WALL, "level": "info", "text": "Link bravo:mcast:lo up."},
    {"time": WALL + 1, "level": "warn", "text": "Late heartbeat: Node bravo: interval 350 ms"},
    {"time": WALL + 2, "level": "info", "text": "acquired resource group demo-db"},
]

TIMELINE: list[dict[str, Any]] = [
    {
        "time": WALL,
        "kind": "takeover",
        "node": "alpha",
        "group": "demo-db",
        "reason": "initdead expired, no peer holds it",
    },
]


def status(**changes: Any) -> dict[str, Any]:
    """A deep copy of the sample status with top-level keys replaced."""
    doc = copy.deepcopy(_STATUS)
    doc.update(changes)
    return doc
