"""Control socket: JSON lines over a Unix socket between the engine, hactl and hatui."""

from __future__ import annotations

from engine.control.client import ControlClient, default_socket_path
from engine.control.schema import CommandRefused, ControlError, PeerInfo
from engine.control.server import ControlHandler, ControlServer, ControlSocketInUse

__all__ = [
    "CommandRefused",
    "ControlClient",
    "ControlError",
    "ControlHandler",
    "ControlServer",
    "ControlSocketInUse",
    "PeerInfo",
    "default_socket_path",
]
