"""Which plugin class handles a STONITH type name, and every type we can offer.

Lookup order: built-in (``null``, ``meatware``, ``ssh``), ``external/<name>`` scripts,
``glue:<type>`` (forced bridge), ``fence_*`` agents, then any other type that
cluster-glue's ``stonith -L`` lists (so ``baytech``, ``external/ipmi`` ... work as in
Heartbeat).
"""

from __future__ import annotations

from engine.stonith.base import PluginContext, StonithPlugin
from engine.stonith.external import ExternalPlugin, find_script, list_external_types
from engine.stonith.fence_agents import FenceAgentPlugin, find_agent, list_fence_agents
from engine.stonith.glue import GLUE_PREFIX, GluePlugin, glue_type, list_glue_types
from engine.stonith.meatware import MeatwarePlugin
from engine.stonith.null import NullPlugin
from engine.stonith.ssh import SshPlugin

BUILTIN: dict[str, type[StonithPlugin]] = {
    "null": NullPlugin,
    "meatware": MeatwarePlugin,
    "ssh": SshPlugin,
}


def plugin_class(type_name: str, ctx: PluginContext) -> type[StonithPlugin] | None:
    """The class that implements ``type_name``, or None for an unknown type."""
    if type_name in BUILTIN:
        return BUILTIN[type_name]
    if type_name.startswith("external/") and find_script(type_name, ctx) is not None:
        return ExternalPlugin
    if type_name.startswith(GLUE_PREFIX):
        return GluePlugin if glue_type(type_name) in list_glue_types() else None
    if type_name.startswith("fence_"):
        return FenceAgentPlugin if find_agent(type_name, ctx) is not None else None
    if type_name in list_glue_types():
        return GluePlugin
    return None


def list_types(ctx: PluginContext) -> list[tuple[str, str]]:
    """``(type, provider)`` for every usable type; provider says who implements it."""
    rows: list[tuple[str, str]] = [(name, "built-in") for name in BUILTIN]
    rows.extend((name, "external script") for name in list_external_types(ctx))
    seen = {name for name, _ in rows}
    for name in list_glue_types():
        if name in seen:
            rows.append((f"{GLUE_PREFIX}{name}", "cluster-glue stonith -L"))
        else:
            rows.append((name, "cluster-glue stonith -L"))
            seen.add(name)
    rows.extend((name, "fence-agents") for name in list_fence_agents(ctx))
    return rows
