"""On-disk state in the state directory: generation counter and node UUID (spec §6.4, §9.10).

The formats are Heartbeat's (``hb_generation``: decimal right-aligned in 15 columns plus
a newline; ``hb_uuid``: 16 raw bytes), so the files can be compared with a real node's.
We also remember each peer's last generation (``peer_generations``) so that replays of a
peer's old packets are refused even after *we* restart (real Heartbeat forgets them).
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid as uuidlib
from pathlib import Path

logger = logging.getLogger("heartbeat")

GENERATION_FILE = "hb_generation"
UUID_FILE = "hb_uuid"
PEER_GENERATIONS_FILE = "peer_generations.json"


def _write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def next_generation(state_dir: Path, method: str = "file", now: float | None = None) -> int:
    """Read, bump and persist the generation number (``hbgenmethod file|time``).

    A missing or empty file starts at ``time + 1`` as in Heartbeat. So does an unreadable
    one, with the reason: Heartbeat restarts at 1 there, and peers that remember our
    last generation (ours do, across their restarts) would drop every packet as a replay.
    """
    wall = int(now if now is not None else time.time())
    if method == "time":
        return wall
    path = state_dir / GENERATION_FILE
    previous, problem = _read_generation(path)
    if previous is not None:
        generation = previous + 1
    else:
        generation = wall + 1
        if problem:
            logger.warning(
                "BROKEN previous generation in %s (%s) - starting at %d: a restart at 1 "
                "would look like a replay to peers that remember our last generation",
                path,
                problem,
                generation,
            )
        else:
            logger.warning("No Previous generation - starting at %d", generation)
    _write_atomic(path, f"{generation:>15}\n".encode())
    return generation


def _read_generation(path: Path) -> tuple[int | None, str]:
    """The stored generation, or None and what is wrong ("" when there is none yet).

    An error other than a missing file (permissions, a directory) propagates: the
    engine must not start without a generation it can persist (Heartbeat: ``Cannot
    get/increment generation number``).
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, ""
    text = raw.decode("ascii", "replace").strip()
    if not text:
        return None, ""
    if not text.isdigit() or len(text) > 15:
        return None, f"not a decimal number of up to 15 digits: {text[:40]!r}"
    value = int(text)
    if value <= 0:
        return None, f"generation {value} is not positive"
    return value, ""


def node_uuid(state_dir: Path, method: str = "file", node_name: str = "") -> bytes:
    """Our 16-byte UUID: stored in ``hb_uuid``, or derived from the name (``uuidfrom``)."""
    if method == "nodename":
        return uuidlib.uuid5(uuidlib.NAMESPACE_DNS, node_name).bytes
    path = state_dir / UUID_FILE
    try:
        data = path.read_bytes()
        if len(data) == 16:
            return data
    except FileNotFoundError:
        pass
    logger.info("No uuid found for current node - generating a new uuid.")
    data = uuidlib.uuid4().bytes
    _write_atomic(path, data)
    return data


def load_peer_generations(state_dir: Path) -> dict[str, int]:
    """Last generation seen from each peer (empty if unknown or unreadable)."""
    try:
        raw = json.loads((state_dir / PEER_GENERATIONS_FILE).read_text())
    except (FileNotFoundError, ValueError, OSError):
        return {}
    if not isinstance(raw, dict):
        return {}
    return {str(k): int(v) for k, v in raw.items() if isinstance(v, int)}


def save_peer_generations(state_dir: Path, generations: dict[str, int]) -> None:
    """Persist peers' generations (called when one changes; rare)."""
    _write_atomic(state_dir / PEER_GENERATIONS_FILE, json.dumps(generations).encode())
