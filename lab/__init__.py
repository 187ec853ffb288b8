"""Network-namespace lab for multi-node tests and benchmarks (needs root and iproute2)."""

from __future__ import annotations

from lab.capture import ArpCapture, ArpPacket
from lab.engine import (
    DEFAULT_KEY,
    EngineHandle,
    EngineRequestFailed,
    EngineUnavailable,
    LogEntry,
    engine_importable,
    link_state,
    node_state,
    nodes_by_name,
    parse_log_time,
    write_config,
)
from lab.netns import (
    CLIENT_ADDRESS,
    HttpReply,
    Lab,
    LabUnavailable,
    LabUnsupported,
    Node,
    Sample,
    VipSampler,
    lab_unavailable_reason,
    remove_leftover_namespaces,
    wait_until,
)

__all__ = [
    "CLIENT_ADDRESS",
    "DEFAULT_KEY",
    "ArpCapture",
    "ArpPacket",
    "EngineHandle",
    "EngineRequestFailed",
    "EngineUnavailable",
    "HttpReply",
    "Lab",
    "LabUnavailable",
    "LabUnsupported",
    "LogEntry",
    "Node",
    "Sample",
    "VipSampler",
    "engine_importable",
    "lab_unavailable_reason",
    "link_state",
    "node_state",
    "nodes_by_name",
    "parse_log_time",
    "remove_leftover_namespaces",
    "wait_until",
    "write_config",
]
