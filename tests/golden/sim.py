"""The fake engine around each policy: the clock, the message bus and the outputs.

``Sim`` plays the shell of every simulated node against one fake clock. After each
call into a policy it drains everything the policy said (log lines, events, actions,
messages) and prints it, with the lines of state that changed. Messages go out as the
membership layer sends them: to the sender itself first (loopback), then to every
other running node whose link is not cut; deliveries run in the order they were sent,
and a delivery is printed (as a cause line) only when it made the receiver say or
change something.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from engine.config.model import ClusterConfig
from engine.core.policy import ResourcePolicy
from engine.protocol.message import Message
from engine.stonith.config import stonith_settings
from tests.golden import render
from tests.golden.scenario import Divergence
from tests.golden.world import Pending, World

T = TypeVar("T")
STORM = 5000
"""Deliveries one input may cause before the scenario counts as a message storm."""
_LEVELS = {logging.INFO: "info", logging.WARNING: "WARN", logging.ERROR: "ERROR"}


class LogCapture(logging.Handler):
    """Log records of the policy (``engine.core``), attributed to the node being called."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.node = ""
        self.records: dict[str, list[str]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        level = _LEVELS.get(record.levelno, "CRIT" if record.levelno > logging.ERROR else "")
        if level and self.node:
            self.records.setdefault(self.node, []).append(f"{level}: {record.getMessage()}")

    def drain(self, node: str) -> list[str]:
        return self.records.pop(node, [])

    @contextmanager
    def attached(self) -> Iterator[None]:
        """Listen to ``engine.core`` at INFO for the length of a replay."""
        logger = logging.getLogger("engine.core")
        old = logger.level
        logger.setLevel(logging.INFO)
        logger.addHandler(self)
        try:
            yield
        finally:
            logger.removeHandler(self)
            logger.setLevel(old)


class Sim:
    """Simulated nodes (each a ``ResourcePolicy``), the bus between them, and the world."""

    def __init__(self, configs: dict[str, ClusterConfig], order: list[str]) -> None:
        self.now = 0.0
        self.configs = configs
        self.order = order
        self.policies: dict[str, ResourcePolicy] = {}
        self.pending: dict[str, Pending] = {}
        self.shown: dict[str, dict[str, str]] = {}
        self.cut: set[tuple[str, str]] = set()
        first = configs[order[0]]
        self.world = World({g.key: g for g in first.groups})
        self.world_shown = self.world.view()
        self.lines: list[str] = []
        self.queue: deque[tuple[str, str, Message]] = deque()
        self.capture = LogCapture()

    # ------------------------------------------------------------------ nodes

    def live(self) -> list[str]:
        """Running simulated nodes, in ha.cf order."""
        return [n for n in self.order if n in self.policies]

    def boot(self, name: str) -> None:
        """Start ``name``'s engine: a fresh policy, nothing pending, state shown in full."""
        cfg = self.configs[name]
        fence = stonith_settings(cfg.hatui)
        with self._as(name):
            self.policies[name] = ResourcePolicy(
                cfg,
                self.now,
                fence_delay=fence.delay,
                fence_retry=(fence.retry_min, fence.retry_max),
            )
        self.pending[name] = Pending()
        self.shown[name] = {}
        self.lines.extend(self._outputs(name))

    def crash(self, name: str) -> None:
        """``name`` vanishes with what it ran; nobody is told (the script says who learns)."""
        self.policies.pop(name, None)
        self.pending.pop(name, None)
        self.world.crashed(name)
        self.show_world()

    # ------------------------------------------------------------------ calls

    def call(
        self,
        node: str,
        fn: Callable[[ResourcePolicy], T],
        cause: str = "",
        reply: Callable[[T], str] | None = None,
    ) -> T:
        """Call one input of ``node``'s policy, print what it said, deliver its messages.

        ``cause`` (a runner-made input: a delivery, a timer, an automatic result) is
        printed only when the call had an effect; ``reply`` renders a request's answer.
        """
        with self._as(node):
            result = fn(self.policies[node])
        out = [render.line(node, "reply", reply(result))] if reply is not None else []
        out += self._outputs(node)
        if out and cause:
            self.lines.append(cause)
        self.lines.extend(out)
        self.deliver()
        return result

    def deliver(self) -> None:
        """Hand every queued message to its receiver, in the order they were sent."""
        for _ in range(STORM):
            if not self.queue:
                return
            src, dst, msg = self.queue.popleft()
            if dst in self.policies:
                text = f"  {dst} <- {src}: {render.fields(msg)}"
                self.call(dst, self._receiver(msg), text)
        self.queue.clear()
        raise Divergence(f"message storm: more than {STORM} deliveries for one input")

    def _receiver(self, msg: Message) -> Callable[[ResourcePolicy], None]:
        """Hand a copy of ``msg`` to a policy, as the membership layer does."""
        return lambda policy: policy.on_message(msg.copy(), self.now)

    def show_world(self) -> None:
        """Print where each group really runs, when that changed."""
        view = self.world.view()
        for key, where in view.items():
            if self.world_shown.get(key) != where:
                self.lines.append(render.line("world", "runs", f"{key}: {where}"))
        self.world_shown = view

    @contextmanager
    def _as(self, node: str) -> Iterator[None]:
        self.capture.node = node
        try:
            yield
        finally:
            self.capture.node = ""

    # ---------------------------------------------------------------- outputs

    def _outputs(self, node: str) -> list[str]:
        policy = self.policies[node]
        pending = self.pending[node]
        out = [render.line(node, "log", text) for text in self.capture.drain(node)]
        for event in policy.drain_events():
            out.extend(render.event_lines(node, event))
        for action in policy.drain_actions():
            out.append(render.line(node, "action", render.action_text(action, pending.checked)))
            pending.take(action)
        for msg in policy.drain_outbound():
            out.append(render.line(node, "send", render.fields(msg) + self._route(node, msg)))
        out.extend(self._state_changes(node))
        return out

    def _route(self, src: str, msg: Message) -> str:
        """Queue ``msg`` for its receivers; returns a note for the ones a cut link loses."""
        stamped = msg.copy()
        stamped.append("src", src)
        dest = msg.get("dest")
        lost = []
        for dst in [src] + [n for n in self.live() if n != src]:
            if dest is not None and dest != dst:
                continue
            if (src, dst) in self.cut:
                lost.append(dst)
            else:
                self.queue.append((src, dst, stamped))
        return f"  (lost: {', '.join(lost)} cut off)" if lost else ""

    def _state_changes(self, node: str) -> list[str]:
        now = render.state(self.policies[node], self.now)
        old = self.shown[node]
        out = []
        for key, text in now.items():
            if old.get(key) != text:
                out.append(_state_line(node, key, text))
        out += [_state_line(node, key, "-") for key in old if key not in now]
        self.shown[node] = now
        return out


def _state_line(node: str, key: str, text: str) -> str:
    tag, _, subject = key.partition(" ")
    return render.line(node, tag, f"{subject}: {text}" if subject else text)
