"""Which program runs one haresources token (ResourceManager's lookup, plus ours).

Lookup follows ResourceManager (``CONFIG_DIR/resource.d/S``, then ``/etc/init.d/S``), then
the additions of ours: the built-in IPaddr/IPaddr2 (``native_ip``), the OCF agent
``OCF_ROOT/resource.d/heartbeat/S`` run directly, ``ocf:PROVIDER:TYPE`` and
``systemd:UNIT``. The built-in IP takes the OCF agent's place only: a site's own
``resource.d/IPaddr2`` or ``init.d`` script still wins, as in Heartbeat. It lives apart
from ``agents.py`` because it picks between the agents there and ``native_ip``, which
is built on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.config.agentsearch import (
    INIT_DIR,
    OCF_ROOT,
    is_executable,
    ocf_agent_path,
    script_candidates,
)
from engine.config.haresources import PARAM_NAME, SCRIPT_NAME, check_agent_form
from engine.config.model import ResourceSpec
from engine.errors import ResourceError
from engine.resources.agents import (
    Agent,
    AgentOptions,
    HeartbeatScript,
    OcfAgent,
    SystemdUnit,
    instance_name,
    map_filesystem_args,
    map_ipaddr_args,
)
from engine.resources.native_ip import native_ip_agent


@dataclass(frozen=True, slots=True)
class AgentResolver:
    """:func:`resolve_agent` with its places and options bound (what GroupRunner takes)."""

    config_dir: Path
    init_dir: Path = INIT_DIR
    ocf_root: Path = OCF_ROOT
    options: AgentOptions = field(default_factory=AgentOptions)

    def __call__(self, spec: ResourceSpec) -> Agent:
        """Resolve one token; raises ResourceError like :func:`resolve_agent`."""
        return resolve_agent(
            spec,
            config_dir=self.config_dir,
            init_dir=self.init_dir,
            ocf_root=self.ocf_root,
            options=self.options,
        )


def resolve_agent(
    spec: ResourceSpec,
    *,
    config_dir: Path,
    init_dir: Path = INIT_DIR,
    ocf_root: Path = OCF_ROOT,
    options: AgentOptions | None = None,
) -> Agent:
    """Find the program for one resource token.

    Raises:
        ResourceError: no usable program, or arguments an OCF agent cannot take; the
            message names the script and the places searched.
    """
    opts = options or AgentOptions()
    script = spec.script
    if script.startswith("systemd:"):
        return _systemd_agent(spec, script.removeprefix("systemd:"), opts)
    if script.startswith("ocf:"):
        return _explicit_ocf_agent(spec, ocf_root, opts)
    if not SCRIPT_NAME.fullmatch(script):
        raise ResourceError(f"Invalid resource script name {script!r} in {spec.token!r}")
    candidates = script_candidates(script, config_dir, init_dir)
    for candidate in candidates:
        if is_executable(candidate):
            return HeartbeatScript(spec, candidate, opts)
    native = native_ip_agent(spec, opts)  # stands in for the OCF IPaddr/IPaddr2 only
    if native is not None:
        return native
    ocf_path = ocf_agent_path("heartbeat", script, ocf_root)
    if is_executable(ocf_path):
        return _ocf_agent(spec, ocf_path, ocf_root, opts)
    searched = ", ".join(str(p) for p in [*candidates, ocf_path])
    raise ResourceError(f"Cannot locate resource script {script} (searched {searched})")


def _systemd_agent(spec: ResourceSpec, unit: str, options: AgentOptions) -> Agent:
    """``systemd:UNIT`` takes no arguments and needs a plausible unit name."""
    for message, _hint in check_agent_form(spec):
        raise ResourceError(message)
    return SystemdUnit(spec, unit, options)


def _explicit_ocf_agent(spec: ResourceSpec, ocf_root: Path, options: AgentOptions) -> Agent:
    """``ocf:PROVIDER:TYPE::key=value...`` names an OCF agent directly."""
    for message, _hint in check_agent_form(spec):
        raise ResourceError(message)
    _, provider, kind = spec.script.split(":")
    path = ocf_agent_path(provider, kind, ocf_root)
    if not is_executable(path):
        raise ResourceError(f"Cannot locate resource script {spec.script} (searched {path})")
    params = _keyword_params(spec, kind)
    return OcfAgent(
        spec,
        path,
        options,
        params=params,
        ocf_root=ocf_root,
        instance=instance_name(spec.token),
        provider=provider,
    )


def _ocf_agent(spec: ResourceSpec, path: Path, ocf_root: Path, options: AgentOptions) -> Agent:
    """An OCF heartbeat agent with the resource.d wrapper's argument mapping."""
    kind = path.name
    if spec.args and all("=" in arg for arg in spec.args):
        params = _keyword_params(spec, kind)
        instance = instance_name(spec.token)
    elif kind in ("IPaddr", "IPaddr2"):
        params = map_ipaddr_args(spec)
        instance = f"{kind}_{params['ip']}"
    elif kind == "Filesystem":
        params = map_filesystem_args(spec)
        instance = f"{kind}_{params['device']}"
    else:
        params = _keyword_params(spec, kind)
        instance = instance_name(spec.token)
    return OcfAgent(spec, path, options, params=params, ocf_root=ocf_root, instance=instance)


def _keyword_params(spec: ResourceSpec, kind: str) -> dict[str, str]:
    """``key=value`` arguments as OCF parameters; anything else is refused."""
    params: dict[str, str] = {}
    for arg in spec.args:
        key, sep, value = arg.partition("=")
        if not sep or not PARAM_NAME.fullmatch(key):
            raise ResourceError(
                f"{spec.token}: OCF agent {kind} takes key=value arguments, got {arg!r} "
                "(positional arguments are mapped only for IPaddr, IPaddr2 and Filesystem)"
            )
        params[key] = value
    return params
