"""Control socket: JSON lines over a Unix socket between the engine, hactl and hatui.

``schema`` (the messages), ``client`` (hactl, hatui) and ``server`` (the engine) are
imported by their own names: importing the client never loads the server.
"""
