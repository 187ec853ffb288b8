"""Widgets of the operator console; each renders what the view model computed."""
