"""The files the review is about to write, in a private scratch directory.

Both checks of the review read the files as the engine would find them: the in-process
validation (``load_config``) and the engine's own ``--check-config``. The site's
``resource.d`` scripts and ``hatui.conf`` (STONITH timeout, plugin directories) are
linked in from the target directory, so resources and plugins are looked up where the
engine will look for them.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

SITE_FILES = ("resource.d", "hatui.conf")
"""What the target directory lends the scratch copy (the wizard writes neither)."""


@contextmanager
def scratch_copy(files: Mapping[str, str], config_dir: Path | None) -> Iterator[Path]:
    """A temp dir holding ``files`` (name → text, mode 0600) and the site's own files."""
    with tempfile.TemporaryDirectory(prefix="hatui-wizard-") as tmp:
        folder = Path(tmp)
        for name in SITE_FILES:
            site = (config_dir or Path("/nonexistent")) / name
            if site.exists():
                (folder / name).symlink_to(site.resolve())
        for name, text in files.items():
            fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
        yield folder


def unscratch(text: str, folder: Path, prefix: str = "") -> str:
    """``text`` with the scratch dir's paths replaced by ``prefix`` (bare file names
    by default; the target dir with a trailing separator, for hints to act on)."""
    return text.replace(f"{folder}{os.sep}", prefix)


def target_prefix(config_dir: Path | None) -> str:
    """The prefix ``unscratch`` gives hints: where the files will be."""
    return f"{config_dir}{os.sep}" if config_dir is not None else ""
