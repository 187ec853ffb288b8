"""Back ends of the console other than the engine's control socket.

A back end looks to the console like an engine connection (``hatui.bridge.ClientLike``):
it produces the same status document, log records and timeline entries the engine's
control socket streams (docs/architecture.md, "control socket"), and executes operator
verbs, so the widgets and the view model are shared: one console, several back ends.
"""
