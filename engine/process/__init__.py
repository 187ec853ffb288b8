"""Running external programs: one-shot (timeouts, kill, captured output) and respawned children."""
