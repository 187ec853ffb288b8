"""The control socket server: JSON lines over a Unix stream socket (docs/architecture.md).

Rules of this module: ``publish`` never awaits and never raises, so a slow or stalled
client can never delay the daemon's loop; each connection has its own bounded event queue
and its own writer task, and an overflowing queue drops events (the client sees a seq gap
and resubscribes). Authorisation is by SO_PEERCRED, not by the socket's file mode.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import grp
import logging
import os
import platform
import pwd
import socket
import stat
import struct
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from engine import __version__
from engine.control import schema
from engine.control.schema import CommandRefused, PeerInfo, Request, RequestError
from engine.errors import HeartbeatError

logger = logging.getLogger(__name__)

_CMDLINE_MAX = 200
_LOGGED_BAD_REQUESTS = 5
"""Bad requests logged per connection; the rest are only counted (log flooding)."""
RECENT_TIMELINE = 50
"""Timeline entries kept for ``subscribe``: a console attaching (or resyncing after a
gap) shows why things happened before it was there."""
RECENT_LOG = 500
"""Log records ``subscribe`` returns at most (the engine's ring buffer holds as many)."""


class ControlHandler(Protocol):
    """What the daemon offers to the control socket."""

    def status(self) -> dict[str, Any]:
        """The current ``status --json`` document."""
        ...

    async def act(self, cmd: str, args: dict[str, Any], peer: PeerInfo) -> dict[str, Any]:
        """Carry out ``cmd`` (a verb from ``command_names`` or ``hbparameter``).

        ``hbparameter`` is read-only (anyone may ask): ``args`` is ``{"name": NAME}`` and
        the result ``{"name": NAME, "value": <raw ha.cf text or the default> | None}``
        (None = unset; hactl then exits 1 like cl_status). ``standby``/``takeover`` get
        ``{"which": "all|foreign|local|failback"}`` and may return ``{"message": text}``.
        Mutating verbs reach ``act`` only after the server checked ``peer.can_act``.

        Raises:
            CommandRefused: when the request is refused; the reason goes to the client.
        """
        ...

    def command_names(self) -> frozenset[str]:
        """The mutating verbs the handler supports (e.g. standby, takeover)."""
        ...


class ControlSocketInUse(HeartbeatError):
    """Another live process already answers on the control socket path."""


@dataclass(eq=False)
class _Connection:
    """One client: its credentials, its writer and its private event queue."""

    peer: PeerInfo
    writer: asyncio.StreamWriter
    queue: asyncio.Queue[bytes]
    seq: int = 0
    subscribed: bool = False
    bad_requests: int = 0
    sender: asyncio.Task[None] | None = field(default=None)


class _ActRule:
    """Who may use mutating verbs: root, the engine's own user, and the admin group.

    The user the engine runs as owns it (a demo or test engine started without root
    belongs to whoever started it), so a peer with the engine's effective uid may act.
    User names are looked up once per uid; the groups come from the connecting process
    itself (SO_PEERGROUPS), so joining the group takes effect at the next login, as for
    files; only where the kernel cannot say are they read from the group database.
    """

    def __init__(self, admin_group: str, owner_uid: int) -> None:
        self.admin_group = admin_group
        self.owner_uid = owner_uid
        self._names: dict[int, str] = {}
        self._database: dict[tuple[str, int], tuple[int, ...]] = {}

    def admin_gid(self) -> int | None:
        try:
            return grp.getgrnam(self.admin_group).gr_gid
        except KeyError:
            return None

    def user_name(self, uid: int) -> str:
        """The user name, or the uid as text when the user database does not know it."""
        if uid not in self._names:
            try:
                self._names[uid] = pwd.getpwuid(uid).pw_name
            except KeyError:
                self._names[uid] = str(uid)
        return self._names[uid]

    def database_groups(self, user: str, gid: int) -> tuple[int, ...]:
        """Every group of ``user`` in the group database, looked up once (it may be LDAP)."""
        key = (user, gid)
        if key not in self._database:
            try:
                self._database[key] = tuple(os.getgrouplist(user, gid))
            except OSError:
                self._database[key] = (gid,)
        return self._database[key]

    def owner(self) -> str:
        """The engine's user as the reasons name it."""
        return f"{self.user_name(self.owner_uid)}, uid {self.owner_uid}"

    def decide(self, uid: int, gid: int, groups: tuple[int, ...]) -> tuple[bool, str]:
        """(may act, why) for a peer with these credentials; the reason is for people."""
        if uid == 0:
            return True, "root may act"
        if uid == self.owner_uid:
            return True, f"same user as the engine ({self.owner()}) may act"
        admin_gid = self.admin_gid()
        if admin_gid is not None and (gid == admin_gid or admin_gid in groups):
            return True, f"member of group {self.admin_group!r} may act"
        return False, (
            f"not root, not the engine's user ({self.owner()}) "
            f"and not in group {self.admin_group!r}"
        )


_SO_PEERGROUPS_GENERIC = 59
"""SO_PEERGROUPS in asm-generic/socket.h (Linux >= 4.13), for Pythons that do not name it."""
_ASM_GENERIC_MACHINES = frozenset(
    {"x86_64", "i386", "i686", "aarch64", "arm64", "armv7l", "armv6l", "riscv64",
     "ppc64le", "ppc64", "s390x", "loongarch64"}
)  # fmt: skip
_PEERGROUPS_MAX_BYTES = 1024
"""Python's getsockopt buffer limit: 256 groups; a peer with more uses the database."""


def _peergroups_option() -> int | None:
    named = getattr(socket, "SO_PEERGROUPS", None)
    if isinstance(named, int):
        return named
    if sys.platform.startswith("linux") and platform.machine() in _ASM_GENERIC_MACHINES:
        return _SO_PEERGROUPS_GENERIC
    return None


_SO_PEERGROUPS = _peergroups_option()


def _peer_groups(sock: Any) -> tuple[int, ...] | None:
    """The connecting process's supplementary groups at connect time; None if unknown.

    None on kernels before 4.13 (ENOPROTOOPT), other systems, and peers in more than
    256 groups (ERANGE): the caller then asks the group database instead.
    """
    if _SO_PEERGROUPS is None:
        return None
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, _SO_PEERGROUPS, _PEERGROUPS_MAX_BYTES)
    except OSError:
        return None
    count = len(raw) // 4
    return tuple(struct.unpack(f"{count}I", raw[: count * 4]))


def _read_cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    text = raw.rstrip(b"\0").replace(b"\0", b" ").decode("utf-8", "replace")
    return text[:_CMDLINE_MAX] or "?"


def _peer_credentials(sock: Any) -> tuple[int, int, int]:
    """(pid, uid, gid) of the connecting process; (-1, -1, -1) if unavailable."""
    if sock is None:
        return -1, -1, -1
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except OSError:
        return -1, -1, -1
    pid, uid, gid = struct.unpack("3i", raw)
    return pid, uid, gid


class ControlServer:
    """Serves the control protocol on a Unix socket for one ``ControlHandler``."""

    def __init__(
        self,
        path: Path,
        handler: ControlHandler,
        *,
        admin_group: str = "haclient",
        queue_size: int = 256,
        log_history: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        """``log_history`` is the engine's log ring buffer (read, never written here): a
        console attaching after a failover gets the lines that led to it. Without one,
        the server keeps the records it publishes itself."""
        self.path = Path(path)
        self.handler = handler
        self.queue_size = queue_size
        self.stats: dict[str, int] = {
            "connections": 0,
            "open_connections": 0,
            "requests": 0,
            "bad_requests": 0,
            "dropped_events": 0,
        }
        self._rule = _ActRule(admin_group, os.geteuid())
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[_Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._inode: int | None = None
        self._closing = False
        self._recent_timeline: collections.deque[dict[str, Any]] = collections.deque(
            maxlen=RECENT_TIMELINE
        )
        self._own_log: collections.deque[Mapping[str, Any]] | None = None
        if log_history is None:
            self._own_log = collections.deque(maxlen=RECENT_LOG)
            log_history = self._own_log
        self._log_history = log_history

    @property
    def admin_group(self) -> str:
        """The group whose members may use mutating verbs."""
        return self._rule.admin_group

    async def start(self) -> None:
        """Remove a stale socket, listen, and open the socket file to everyone.

        Raises:
            ControlSocketInUse: a live server already answers on ``path``.
            OSError: the socket cannot be created (e.g. missing directory).
        """
        await self._remove_stale_socket()
        self._closing = False
        self._server = await asyncio.start_unix_server(
            self._serve_client, path=str(self.path), limit=schema.STREAM_LIMIT
        )
        os.chmod(self.path, 0o666)
        self._inode = self.path.stat().st_ino
        logger.info("control: listening on %s", self.path)

    async def _remove_stale_socket(self) -> None:
        try:
            mode = self.path.lstat().st_mode
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(mode):
            raise ControlSocketInUse(
                f"{self.path} exists and is not a socket; remove it or choose another --state-dir"
            )
        try:
            _, writer = await asyncio.open_unix_connection(str(self.path))
        except OSError:
            self.path.unlink(missing_ok=True)
            logger.info("control: removed stale socket %s", self.path)
            return
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        raise ControlSocketInUse(f"another engine is already listening on {self.path}")

    async def close(self) -> None:
        """Stop listening, drop every client and remove the socket file we created."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        for conn in list(self._connections):
            conn.writer.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None
        self._unlink_own_socket()

    def _unlink_own_socket(self) -> None:
        try:
            if self._inode is not None and self.path.stat().st_ino == self._inode:
                self.path.unlink()
        except OSError:
            pass
        self._inode = None

    def publish(self, event: str, data: dict[str, Any]) -> None:
        """Queue an event for every subscribed client; never awaits, never raises.

        A client whose queue is full loses this event, but its seq still advances, so it
        sees a gap and knows to resubscribe. Timeline entries (and log records, when no
        ring buffer was given) are also kept for the ``subscribe`` reply.
        """
        if event == "timeline":
            self._recent_timeline.append(data)
        elif event == "log" and self._own_log is not None:
            self._own_log.append(data)
        try:
            data_json = schema.encode_event_data(data)
        except (TypeError, ValueError):
            logger.exception("control: cannot encode %s event; dropped", event)
            return
        for conn in self._connections:
            if not conn.subscribed:
                continue
            conn.seq += 1
            try:
                conn.queue.put_nowait(schema.encode_event(event, conn.seq, data_json))
            except asyncio.QueueFull:
                self.stats["dropped_events"] += 1

    @property
    def subscriber_count(self) -> int:
        """How many connections currently receive events."""
        return sum(1 for conn in self._connections if conn.subscribed)

    def _known_verbs(self) -> frozenset[str]:
        return schema.READ_ONLY_VERBS | self.handler.command_names()

    def _make_peer(self, writer: asyncio.StreamWriter) -> PeerInfo:
        sock = writer.get_extra_info("socket")
        pid, uid, gid = _peer_credentials(sock)
        if uid < 0:
            why = "the peer's credentials (SO_PEERCRED) are unavailable"
            return PeerInfo(uid=-1, gid=-1, pid=-1, user="unknown", can_act=False, reason=why)
        user = self._rule.user_name(uid)
        supplementary = _peer_groups(sock)
        if supplementary is None:
            supplementary = self._rule.database_groups(user, gid)
        groups = tuple(dict.fromkeys((gid, *supplementary)))
        can_act, reason = self._rule.decide(uid, gid, groups)
        return PeerInfo(
            uid=uid,
            gid=gid,
            pid=pid,
            user=user,
            can_act=can_act,
            cmdline=_read_cmdline(pid),
            groups=groups,
            reason=reason,
        )

    async def _serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if self._closing:  # accepted just before close(): do not keep it open
            writer.close()
            return
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        conn = _Connection(
            peer=self._make_peer(writer),
            writer=writer,
            queue=asyncio.Queue(maxsize=self.queue_size),
        )
        self._connections.add(conn)
        self.stats["connections"] += 1
        self.stats["open_connections"] += 1
        conn.sender = asyncio.create_task(self._send_events(conn))
        logger.debug("control: connection from %s (uid %d, pid %d)", *_who(conn.peer))
        try:
            await self._read_requests(conn, reader)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:
            logger.exception("control: connection of %s (uid %d, pid %d) failed", *_who(conn.peer))
        finally:
            await self._drop_connection(conn)
            if task is not None:
                self._tasks.discard(task)

    async def _drop_connection(self, conn: _Connection) -> None:
        self._connections.discard(conn)
        self.stats["open_connections"] -= 1
        if conn.sender is not None:
            conn.sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await conn.sender
        conn.writer.close()

    async def _send_events(self, conn: _Connection) -> None:
        """The only place that awaits a slow client: it blocks this task and no other."""
        try:
            while True:
                line = await conn.queue.get()
                if conn.writer.is_closing():
                    return
                conn.writer.write(line)
                await conn.writer.drain()
        except (ConnectionError, RuntimeError):
            return

    async def _read_requests(self, conn: _Connection, reader: asyncio.StreamReader) -> None:
        while True:
            line, oversized = await _read_line(reader)
            if line is None:
                return
            if not oversized and not line.strip():
                continue
            self.stats["requests"] += 1
            if oversized:
                error = RequestError(
                    schema.BAD_REQUEST,
                    f"request line is longer than {schema.MAX_REQUEST_BYTES} bytes; discarded",
                )
                await self._reply_bad(conn, error)
                continue
            try:
                request = schema.parse_request(line.rstrip(b"\r\n"), self._known_verbs())
            except RequestError as error:
                await self._reply_bad(conn, error)
                continue
            await self._write(conn, await self._dispatch(conn, request))

    async def _reply_bad(self, conn: _Connection, error: RequestError) -> None:
        self.stats["bad_requests"] += 1
        conn.bad_requests += 1
        if conn.bad_requests <= _LOGGED_BAD_REQUESTS:
            logger.info(
                "control: bad request from %s (uid %d, pid %d): %s%s",
                *_who(conn.peer),
                error.message,
                " (further ones from this connection are not logged)"
                if conn.bad_requests == _LOGGED_BAD_REQUESTS
                else "",
            )
        await self._write(conn, schema.encode_error(error.request_id, error.code, error.message))

    async def _write(self, conn: _Connection, line: bytes) -> None:
        if conn.writer.is_closing():
            return
        conn.writer.write(line)
        await conn.writer.drain()

    async def _dispatch(self, conn: _Connection, request: Request) -> bytes:
        """Answer one valid request; any failure becomes an error reply, never a crash."""
        try:
            result = await self._answer(conn, request)
        except RequestError as error:
            if error.code == schema.FORBIDDEN:
                logger.warning("control: %s", error.message)
            return schema.encode_error(request.id, error.code, error.message)
        except CommandRefused as refused:
            logger.info("control: %s refused: %s", request.cmd, refused.reason)
            return schema.encode_error(request.id, schema.REFUSED, refused.reason)
        except Exception as exc:
            logger.exception("control: %s failed", request.cmd)
            return schema.encode_error(
                request.id, schema.INTERNAL, f"{request.cmd} failed inside the engine: {exc}"
            )
        return schema.encode_result(request.id, result)

    async def _answer(self, conn: _Connection, request: Request) -> Any:
        cmd = request.cmd
        if cmd == "ping":
            return "pong"
        if cmd == "hello":
            return self._hello(conn)
        if cmd == "status":
            return self.handler.status()
        if cmd == "subscribe":
            return self._subscribe(conn)
        if cmd not in schema.READ_ONLY_VERBS:
            self._authorise(conn.peer, request)
        return await self.handler.act(cmd, request.args, conn.peer)

    def _hello(self, conn: _Connection) -> dict[str, Any]:
        return {
            "server": "haengine",
            "version": __version__,
            "protocol": schema.PROTOCOL_VERSION,
            "node": self.handler.status().get("node"),
            "peer": conn.peer.as_dict(),
        }

    def _subscribe(self, conn: _Connection) -> dict[str, Any]:
        """Snapshot, recent timeline, recent log and seq are taken together, without
        awaiting, so no event is lost and none is delivered twice: a record in ``log``
        was published (to subscribers) before this reply, every later one comes as an
        event. A client subscribing again has seen some of ``timeline``/``log`` before."""
        while not conn.queue.empty():
            conn.queue.get_nowait()
        snapshot = self.handler.status()
        conn.subscribed = True
        history = list(self._log_history)[-RECENT_LOG:]
        return {
            "snapshot": snapshot,
            "seq": conn.seq,
            "timeline": list(self._recent_timeline),
            "log": history,
        }

    def _authorise(self, peer: PeerInfo, request: Request) -> None:
        described = " ".join([request.cmd, *(str(v) for v in request.args.values())])
        if not peer.can_act:
            logger.warning(
                "control: %s refused for %s (uid %d, pid %d: %s): %s",
                described,
                peer.user,
                peer.uid,
                peer.pid,
                peer.cmdline,
                peer.reason,
            )
            raise RequestError(
                schema.FORBIDDEN,
                f"{request.cmd} is not allowed for user {peer.user} (uid {peer.uid}): "
                f"only root, the engine's own user ({self._rule.owner()}) or members of group "
                f"{self.admin_group!r} may use it",
                request.id,
            )
        logger.info(
            "control: %s requested by %s (uid %d, pid %d: %s)",
            described,
            peer.user,
            peer.uid,
            peer.pid,
            peer.cmdline,
        )


def _who(peer: PeerInfo) -> tuple[str, int, int]:
    return peer.user, peer.uid, peer.pid


async def _read_line(reader: asyncio.StreamReader) -> tuple[bytes | None, bool]:
    """Read one line; (None, False) at end of stream; (b"", True) if it was too long.

    A line longer than the stream limit is discarded piece by piece up to its newline, so
    the next request on the connection is read correctly.
    """
    oversized = False
    while True:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial or oversized:
                return None, False
            line = exc.partial
        except asyncio.LimitOverrunError as exc:
            await reader.readexactly(exc.consumed)
            oversized = True
            continue
        if oversized or len(line) > schema.MAX_REQUEST_BYTES + 2:
            return b"", True
        return line, False
