"""Resource layer: find resource scripts, run them, acquire and release groups."""

from __future__ import annotations

from engine.resources.agents import (
    Agent,
    AgentOptions,
    HeartbeatScript,
    OcfAgent,
    SystemdUnit,
    judge_status_text,
    script_environment,
)
from engine.resources.arp import ArpResult, send_gratuitous_arp
from engine.resources.group import GroupRunner, ProgressCallback
from engine.resources.model import ActionResult, GroupOutcome, ResourceState, ResourceStatus
from engine.resources.resolve import AgentResolver, resolve_agent

__all__ = [
    "ActionResult",
    "Agent",
    "AgentOptions",
    "AgentResolver",
    "ArpResult",
    "GroupOutcome",
    "GroupRunner",
    "HeartbeatScript",
    "OcfAgent",
    "ProgressCallback",
    "ResourceState",
    "ResourceStatus",
    "SystemdUnit",
    "judge_status_text",
    "resolve_agent",
    "script_environment",
    "send_gratuitous_arp",
]
