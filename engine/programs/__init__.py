"""The programs' entry points: haengine (the daemon) and hactl (the admin client)."""
