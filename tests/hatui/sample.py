"""A fixed status document shaped like a real engine's, for tests and screenshots.

Taken from ``status`` of the two-node demo cluster (``hatui demo``): links are named
after their device as the engine names them (``lo`` is the mcast link, ``lo#2`` the
ucast one, listed with their kind in the top-level ``links``), ``stonith`` is the
fencer's snapshot, ``children`` the respawn list. ``with_*`` helpers add what the demo
does not configure (ping node, STONITH device, respawn child).
"""

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
    "comm_up": True,
    "nodes": [
        {
            "name": "alpha",
            "type": "normal",
            "self": True,
            "status": "active",
            "generation": 1795611934,
            "deadtime_ms": 1000,
            "last_heard_ms": 87,
            "uuid": "ab12",
            "links": [
                {
                    "name": "lo",
                    "status": "up",
                    "last_heard_ms": 87,
                    "intervals_ms": [200, 199, 201],
                    "max_gap_ms": 372,
                    "jitter_ms": 1.2,
                    "late": 0,
                },
                {
                    "name": "lo#2",
                    "status": "dead",
                    "last_heard_ms": None,
                    "intervals_ms": [],
                    "max_gap_ms": 0,
                    "jitter_ms": 0.0,
                    "late": 0,
                },
            ],
        },
        {
            "name": "bravo",
            "type": "normal",
            "self": False,
            "status": "active",
            "generation": 17,
            "deadtime_ms": 1000,
            "last_heard_ms": 120,
            "uuid": "69eb",
            "one_way": None,
            "links": [
                {
                    "name": "lo",
                    "status": "up",
                    "last_heard_ms": 120,
                    "intervals_ms": [200, 201, 199, 230, 200, 202, 198, 200, 350, 200],
                    "max_gap_ms": 350,
                    "jitter_ms": 3.1,
                    "late": 0,
                },
                {
                    "name": "lo#2",
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
    "stonith": {
        "configured": False,
        "device": None,
        "error": "",
        "lines": [],
        "delay_s": 0.0,
        "pending": {},
        "meatware_waiting": [],
        "last": {},
    },
    "links": [
        {
            "name": "lo",
            "kind": "mcast",
            "cut": False,
            "sent": 40,
            "send_errors": 0,
            "received": 79,
            "bytes_sent": 14658,
            "bytes_received": 28904,
        },
        {
            "name": "lo#2",
            "kind": "ucast",
            "cut": False,
            "sent": 40,
            "send_errors": 0,
            "received": 39,
            "bytes_sent": 14658,
            "bytes_received": 14246,
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
                {"name": "demo-db", "state": "running", "reason": ""},
                {"name": "demo-web::18080", "state": "running", "reason": ""},
            ],
        }
    ],
    "resources": {
        "mode": "nice_failback",
        "i_hold": "local",
        "other_holds": "none",
        "stable": True,
        "state": "stable",
        "standby": "none",
        "stop_failed": {},
        "shutdown_blocked": "",
    },
    "counters": {
        "sent": 40,
        "received": 118,
        "duplicates": 62,
        "rejected": {},
        "rejected_total": 0,
        "control_bad_requests": 0,
        "takeovers": 0,
        "fences": {},
        "resource_action_failures": {},
    },
    "last_change": {"time": WALL, "what": "acquired demo-db", "reason": "initdead expired"},
    "children": [],
}

PING_NODE: dict[str, Any] = {
    "name": "10.99.0.254",
    "type": "ping",
    "self": False,
    "status": "ping",
    "generation": 0,
    "deadtime_ms": 5000,
    "last_heard_ms": 640,
    "uuid": None,
    "links": [
        {
            "name": "10.99.0.254",
            "status": "up",
            "last_heard_ms": 640,
            "intervals_ms": [1000, 1001, 999, 1000, 1003],
            "max_gap_ms": 1003,
            "jitter_ms": 1.4,
            "late": 0,
        }
    ],
}

STONITH_SSH: dict[str, Any] = {
    "configured": True,
    "device": {"type": "external/ssh", "id": "external/ssh", "params": ["hostlist"]},
    "error": "",
    "lines": ["stonith_host * external/ssh alpha bravo"],
    "delay_s": 0.0,
    "pending": {},
    "meatware_waiting": [],
    "last": {},
}

IPFAIL_CHILD: dict[str, Any] = {
    "command": "/usr/lib/heartbeat/ipfail",
    "user": "hacluster",
    "failfast": False,
    "state": "builtin",
    "pid": None,
    "starts": 0,
    "last_exit": "",
}

LOGS: list[dict[str, Any]] = [
    {"time": WALL, "level": "info", "text": "Link bravo:lo up."},
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


def with_ping(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` plus a reachable ping node (``ping 10.99.0.254`` in ha.cf)."""
    doc["nodes"].append(copy.deepcopy(PING_NODE))
    return doc


def with_stonith(doc: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """``doc`` with an external/ssh STONITH device (fields of ``changes`` replaced)."""
    doc["stonith"] = {**copy.deepcopy(STONITH_SSH), **changes}
    return doc
