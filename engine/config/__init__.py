"""Configuration: ``ha.cf``, ``authkeys``, ``haresources`` and ``hatui.conf`` into a
``ClusterConfig``."""

from __future__ import annotations

from engine.config.authkeys import ENCRYPTING, MIN_ENCRYPTING_SECRET
from engine.config.haresources import check_resource, resource_from_token
from engine.config.loader import LoadResult, load_config, local_node_name
from engine.config.model import (
    ApiAuthSpec,
    AuthConfig,
    AuthKey,
    AutoFailback,
    ChildSpec,
    ClusterConfig,
    GroupSpec,
    HatuiConf,
    Issue,
    LogConfig,
    MediumKind,
    MediumSpec,
    MonitorConfig,
    ResourceSpec,
    Severity,
    SourceRef,
    StonithSpec,
    Timing,
)
from engine.config.report import format_report, summary_line
from engine.config.timeparse import parse_bool, parse_time_ms
from engine.config.validate import check_timing

__all__ = [
    "ENCRYPTING",
    "MIN_ENCRYPTING_SECRET",
    "ApiAuthSpec",
    "AuthConfig",
    "AuthKey",
    "AutoFailback",
    "ChildSpec",
    "ClusterConfig",
    "GroupSpec",
    "HatuiConf",
    "Issue",
    "LoadResult",
    "LogConfig",
    "MediumKind",
    "MediumSpec",
    "MonitorConfig",
    "ResourceSpec",
    "Severity",
    "SourceRef",
    "StonithSpec",
    "Timing",
    "check_resource",
    "check_timing",
    "format_report",
    "load_config",
    "local_node_name",
    "parse_bool",
    "parse_time_ms",
    "resource_from_token",
    "summary_line",
]
