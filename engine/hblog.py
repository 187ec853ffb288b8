"""The Heartbeat logger and its priority words, for every layer of the engine.

Modules below the shell (STONITH, resources) log Heartbeat's own lines through
:func:`hb_log`; the shell decides where they go (``engine.shell.logsetup``). This module
sits at the bottom of the layers with ``engine.errors``: it imports nothing of ours.
"""

from __future__ import annotations

import logging

LOGGER_NAME = "heartbeat"
NOTICE = 25
logging.addLevelName(NOTICE, "notice")

PRIORITY_WORDS = {
    logging.CRITICAL: "CRIT",
    logging.ERROR: "ERROR",
    logging.WARNING: "WARN",
    NOTICE: "notice",
    logging.INFO: "info",
    logging.DEBUG: "debug",
}
WORD_LEVELS = {
    "EMERG": logging.CRITICAL,
    "ALERT": logging.CRITICAL,
    "CRIT": logging.CRITICAL,
    "ERROR": logging.ERROR,
    "WARN": logging.WARNING,
    "notice": NOTICE,
    "info": logging.INFO,
    "debug": logging.DEBUG,
}


def hb_log(word: str, text: str) -> None:
    """Log ``text`` at the level named by a Heartbeat priority word."""
    logging.getLogger(LOGGER_NAME).log(WORD_LEVELS.get(word, logging.INFO), "%s", text)
