"""A lab node that is a whole "host": private mount, UTS and IPC namespaces.

Why: daemons such as real Heartbeat or Corosync + Pacemaker insist that the node name
is ``uname -n``, keep state in fixed paths (``/etc``, ``/var/lib``, ``/run``,
``/var/log``) and use SysV or POSIX shared memory. A lab network namespace alone shares
all of that with the host, so such a node also gets persistent mount/UTS/IPC
namespaces (``unshare --mount=FILE ...``) entered with ``nsenter`` from the root mount
namespace (``ip netns exec`` makes a throw-away mount namespace and cannot be used).

Subclasses say which host trees the node gets a private copy of (:meth:`_copy_trees`)
and how its file-system view is set up inside (:meth:`_setup_script`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lab.netns import Lab, Node, run

CLEAN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
NAMESPACE_KINDS = ("mnt", "uts", "ipc")


class HostNode:
    """One lab node with its own mount/UTS/IPC namespaces under ``root/ns``.

    Call :meth:`prepare` once, then :meth:`exec` / :meth:`popen` run commands inside.
    :meth:`close` must run before the lab closes (it unmounts the namespace files so the
    lab can delete its work directory).
    """

    def __init__(self, lab: Lab, node: Node | str, root: Path) -> None:
        self.lab = lab
        self.node = lab.node(node)
        self.root = root
        self.ns_dir = self.root / "ns"
        self._prepared = False

    @property
    def name(self) -> str:
        """The node (and host) name."""
        return self.node.name

    # -- hooks ----------------------------------------------------------------------

    def _copy_trees(self) -> None:
        """Create the host-side directories bind-mounted into the node."""

    def _setup_script(self) -> str:
        """Shell commands run once inside the fresh namespaces (``set -e`` applies)."""
        return f"hostname {self.name}"

    def daemon_pids(self) -> list[int]:
        """Pids of the node's own daemons (killed by :meth:`close`)."""
        return []

    # -- namespaces -----------------------------------------------------------------

    def prepare(self) -> None:
        """Create the node's mount/UTS/IPC namespaces and its private file-system view."""
        if self._prepared:
            return
        self._copy_trees()
        self.ns_dir.mkdir(parents=True, exist_ok=True)
        run(["mount", "--bind", str(self.ns_dir), str(self.ns_dir)])
        run(["mount", "--make-private", str(self.ns_dir)])
        self._prepared = True
        for kind in NAMESPACE_KINDS:
            (self.ns_dir / kind).touch()
        run(
            [
                "unshare",
                f"--mount={self.ns_dir / 'mnt'}",
                f"--uts={self.ns_dir / 'uts'}",
                f"--ipc={self.ns_dir / 'ipc'}",
                "--propagation",
                "private",
                "true",
            ]
        )
        self.exec(["sh", "-c", "set -e\n" + self._setup_script()], timeout=20)

    @property
    def prepared(self) -> bool:
        """True between :meth:`prepare` and :meth:`close`."""
        return self._prepared

    def nsenter_argv(self, argv: Sequence[str]) -> list[str]:
        """``argv`` wrapped to run inside this node's net/mount/UTS/IPC namespaces."""
        return [
            "nsenter",
            f"--net=/run/netns/{self.node.namespace}",
            f"--mount={self.ns_dir / 'mnt'}",
            f"--uts={self.ns_dir / 'uts'}",
            f"--ipc={self.ns_dir / 'ipc'}",
            "--",
            *argv,
        ]

    def exec(
        self,
        argv: Sequence[str],
        check: bool = True,
        timeout: float = 15.0,
        env: Mapping[str, str] | None = None,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the node with a clean environment and wait for it.

        Raises:
            RuntimeError: the command failed and ``check`` is set (message has stderr).
        """
        proc = subprocess.run(
            self.nsenter_argv(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=clean_env(env),
            input=stdin,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(
                f"[{self.name}] {' '.join(argv)} failed ({proc.returncode}): "
                f"{(proc.stderr or proc.stdout).strip()}"
            )
        return proc

    def popen(
        self, argv: Sequence[str], env: Mapping[str, str] | None = None, **kwargs: Any
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` inside the node without waiting (kwargs go to Popen)."""
        return subprocess.Popen(self.nsenter_argv(argv), env=clean_env(env), **kwargs)

    def close(self) -> None:
        """Kill the node's daemons and release the namespace files (idempotent)."""
        if not self._prepared:
            return
        for pid in self.daemon_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        release_namespace_files(self.ns_dir)
        self._prepared = False


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of commands run inside a node: PATH, LANG and ``extra``."""
    return {"PATH": CLEAN_PATH, "LANG": "C", **(extra or {})}


def release_namespace_files(ns_dir: Path) -> None:
    """Unmount the mnt/uts/ipc namespace files under ``ns_dir`` and ``ns_dir`` itself."""
    for kind in NAMESPACE_KINDS:
        subprocess.run(["umount", str(ns_dir / kind)], capture_output=True)
    subprocess.run(["umount", "-l", str(ns_dir)], capture_output=True)


def comm_of(pid: int) -> str:
    """The command name of ``pid`` ("" when it is gone)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""
