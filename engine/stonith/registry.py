"""Which plugin class handles a STONITH type name, and every type we can offer.

Lookup order: built-in (``null``, ``meatware``, ``ssh``), ``external/<name>`` scripts,
``glue:<type>`` (forced bridge), ``fence_*`` agents, then any other type that
cluster-glue's ``stonith -L`` lists (so ``baytech``, ``external/ipmi`` ... work as in
Heartbeat).

Rules of this module: finding a type looks at directories (which may be on NFS) and
runs ``stonith -L``, so it is awaited: directory look-ups in a worker thread, programs
through the runner. Never call it where the heartbeat loop would wait.
"""

from __future__ import annotations

import asyncio

from engine.stonith.base import PluginContext, StonithPlugin
from engine.stonith.external import ExternalPlugin, find_script, list_external_types
from engine.stonith.fence_agents import FenceAgentPlugin, find_agent, list_fence_agents
from engine.stonith.glue import GLUE_PREFIX, GluePlugin, glue_type, glue_types
from engine.stonith.meatware import MeatwarePlugin
from engine.stonith.null import NullPlugin
from engine.stonith.ssh import SshPlugin

BUILTIN: dict[str, type[StonithPlugin]] = {
    "null": NullPlugin,
    "meatware": MeatwarePlugin,
    "ssh": SshPlugin,
}


async def plugin_class(type_name: str, ctx: PluginContext) -> type[StonithPlugin] | None:
    """The class that implements ``type_name``, or None for an unknown type."""
    if type_name in BUILTIN:
        return BUILTIN[type_name]
    external = type_name.startswith("external/")
    if external and await asyncio.to_thread(find_script, type_name, ctx) is not None:
        return ExternalPlugin
    if type_name.startswith(GLUE_PREFIX):
        return GluePlugin if glue_type(type_name) in await glue_types() else None
    if type_name.startswith("fence_"):
        found = await asyncio.to_thread(find_agent, type_name, ctx)
        return FenceAgentPlugin if found is not None else None
    if type_name in await glue_types():
        return GluePlugin
    return None


async def list_types(ctx: PluginContext) -> list[tuple[str, str]]:
    """``(type, provider)`` for every usable type; provider says who implements it."""
    rows: list[tuple[str, str]] = [(name, "built-in") for name in BUILTIN]
    external = await asyncio.to_thread(list_external_types, ctx)
    rows.extend((name, "external script") for name in external)
    seen = {name for name, _ in rows}
    for name in await glue_types():
        if name in seen:
            rows.append((f"{GLUE_PREFIX}{name}", "cluster-glue stonith -L"))
        else:
            rows.append((name, "cluster-glue stonith -L"))
            seen.add(name)
    agents = await asyncio.to_thread(list_fence_agents, ctx)
    rows.extend((name, "fence-agents") for name in agents)
    return rows
