"""Heartbeat-style resource scripts the demo copies into ``resource.d``."""
