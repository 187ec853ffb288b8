"""hatui's engine: a Heartbeat 3.0.6-compatible cluster daemon (no Textual here)."""

__version__ = "0.1.0"
HEARTBEAT_VERSION = "3.0.6"
