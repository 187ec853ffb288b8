"""Two ResourcePolicy instances on an in-test message bus with a fake action runner."""

from __future__ import annotations

from engine.config.model import (
    AuthConfig,
    AutoFailback,
    ClusterConfig,
    GroupSpec,
    MonitorConfig,
    ResourceSpec,
    SourceRef,
    StonithSpec,
    Timing,
)
from engine.core.policy import ResourcePolicy
from engine.core.policy_types import (
    Acquire,
    Action,
    CancelMonitor,
    Fence,
    Monitor,
    MonitorCheck,
    PolicyEvent,
    Release,
)
from engine.protocol.message import Message

ALPHA_GROUP = "IPaddr2::10.99.0.10/24/eth0"
BRAVO_GROUP = "IPaddr2::10.99.0.20/24/eth0"
DEATH = "declared dead after 1000 ms without heartbeats on eth0, hb1"


def group(node: str, *tokens: str) -> GroupSpec:
    """A haresources line ``node tokens...``."""
    res = tuple(ResourceSpec(t, t.split("::")[0], tuple(t.split("::")[1:])) for t in tokens)
    return GroupSpec(node, res, SourceRef("haresources", 1))


def make_config(
    node: str,
    auto: AutoFailback = AutoFailback.ON,
    stonith: bool = False,
    bravo_group: bool = False,
    monitor: MonitorConfig | None = None,
) -> ClusterConfig:
    """The observed two-node cluster; alpha is home of the one (or first) group."""
    groups = [group("alpha", ALPHA_GROUP, "hbhttpd")]
    if bravo_group:
        groups.append(group("bravo", BRAVO_GROUP))
    spec = StonithSpec("stonith_host", "*", "null", "alpha bravo", SourceRef("ha.cf", 9))
    return ClusterConfig(
        config_dir="/etc/ha.d",
        node_name=node,
        nodes=("alpha", "bravo"),
        timing=Timing(),
        media=(),
        auth=AuthConfig(send_index=1, keys=()),
        groups=tuple(groups),
        auto_failback=auto,
        stonith=(spec,) if stonith else (),
        monitor=monitor or MonitorConfig(),
    )


class Cluster:
    """Wires alpha and bravo together; delivers every message to both, sender first."""

    def __init__(
        self,
        auto: AutoFailback = AutoFailback.ON,
        stonith: bool = False,
        bravo_group: bool = False,
        monitor: MonitorConfig | None = None,
    ) -> None:
        self.now = 0.0
        self.kw = {
            "auto": auto,
            "stonith": stonith,
            "bravo_group": bravo_group,
            "monitor": monitor,
        }
        self.nodes: dict[str, ResourcePolicy] = {}
        self.alive: set[str] = set()
        self.connected = True
        self.wire: list[tuple[str, Message]] = []
        self.pending: dict[str, list[Action]] = {"alpha": [], "bravo": []}
        self.running: dict[str, set[str]] = {"alpha": set(), "bravo": set()}
        self.events: dict[str, list[PolicyEvent]] = {"alpha": [], "bravo": []}
        self.history: list[tuple[str, str, str]] = []
        self.allow_double = False
        """Let both nodes run a group (an unfenced split brain)."""
        self.muted: set[str] = set()
        """Nodes whose messages do not reach the peer (a one-way cut)."""
        self.fail: set[tuple[str, str, str]] = set()
        """(node, kind, key) whose next action fails."""
        self.checks: dict[str, list[Monitor]] = {"alpha": [], "bravo": []}
        """Monitor checks running on each node (answered by ``answer_checks``)."""
        self.cancelled: dict[str, list[CancelMonitor]] = {"alpha": [], "bravo": []}
        self.checked: list[tuple[str, str, float]] = []
        """(node, group key, time) of every check answered."""
        self.broken: dict[tuple[str, str], tuple[str, bool]] = {}
        """(node, resource) → (monitor result, sticky): what its checks say until a
        release heals it (a sticky fault survives restarts)."""
        for name in ("alpha", "bravo"):
            self.boot(name)

    def boot(self, name: str) -> ResourcePolicy:
        cfg = make_config(name, **self.kw)  # type: ignore[arg-type]
        self.nodes[name] = ResourcePolicy(cfg, self.now)
        self.alive.add(name)
        self.pending[name] = []
        self.checks[name] = []
        return self.nodes[name]

    def crash(self, name: str) -> None:
        """The node vanishes with whatever it ran (its resources are gone with it)."""
        self.alive.discard(name)
        self.running[name].clear()
        self.pending[name] = []
        self.checks[name] = []

    def rejoin(self, name: str) -> ResourcePolicy:
        """``name`` restarts (new generation) and comes up beside the other node."""
        node = self.boot(name)
        other = self.nodes[self.peer(name)]
        other.on_node_restarted(name, self.now)
        for status in ("init", "up", "active"):
            other.on_node_status(name, status, self.now)
        node.on_node_status(self.peer(name), "active", self.now)
        node.on_comm_up(self.now)
        self.flush()
        return node

    def leaves_and_is_declared_dead(self, name: str) -> list[list[tuple[str, object]]]:
        """``name``'s engine is gone; its peer declares it dead. Returns what the peer
        sent about it (a node that left with ``shutdone`` needs no fencing)."""
        self.crash(name)
        peer = self.peer(name)
        mark = len(self.wire)
        self.nodes[peer].on_node_dead(name, f"{name} {DEATH}", self.now)
        self.run_actions()
        return self.sent(peer, mark)

    def standby_until_peer_acquires(self, name: str) -> Action:
        """``name`` goes standby [all]; returns the peer's first start, still running."""
        peer = self.peer(name)
        assert self.nodes[name].request_standby("all", self.now) is None
        for _ in range(10):
            self.flush()
            if self.pending[peer]:
                return self.pending[peer][0]
            self.complete(name)
        raise AssertionError(f"{peer} never started a group for {name}'s standby")

    def peer(self, name: str) -> str:
        return "bravo" if name == "alpha" else "alpha"

    def flush(self) -> None:
        """Deliver outbound messages until no node has anything more to say."""
        for _ in range(200):
            moved = False
            for name in ("alpha", "bravo"):
                if name not in self.alive:
                    continue
                node = self.nodes[name]
                self.events[name].extend(node.drain_events())
                for action in node.drain_actions():
                    self._take_action(name, action)
                for msg in node.drain_outbound():
                    moved = True
                    stamped = msg.copy()
                    stamped.append("src", name)
                    self.wire.append((name, stamped))
                    targets: list[str] = [name]
                    peer_hears = self.connected and name not in self.muted
                    if peer_hears and self.peer(name) in self.alive:
                        targets.append(self.peer(name))
                    for target in targets:
                        self.nodes[target].on_message(stamped.copy(), self.now)
            if not moved:
                return
        raise AssertionError("message storm")

    def _take_action(self, name: str, action: Action) -> None:
        if isinstance(action, Monitor):
            assert not self.checks[name], f"{name}: two monitor checks at once"
            assert not self.resource_pending(name), f"{name}: check during an action"
            self.checks[name].append(action)
        elif isinstance(action, CancelMonitor):
            self.cancelled[name].append(action)
            self.checks[name] = [m for m in self.checks[name] if m.id != action.id]
        else:
            self.pending[name].append(action)

    def break_resource(
        self, name: str, token: str, result: str = "timeout", sticky: bool = False
    ) -> None:
        """Make ``name``'s checks of ``token`` fail with ``result``."""
        self.broken[(name, token)] = (result, sticky)

    def answer_checks(self, name: str) -> None:
        """Answer the running check of ``name``: members in order, up to the first failure."""
        for action in self.checks[name]:
            node = self.nodes[name]
            spec = next(g.spec for k, g in node._groups.items() if k == action.group_key)
            results: list[MonitorCheck] = []
            for res in spec.resources:
                result, _ = self.broken.get((name, res.token), ("ok", False))
                if action.group_key not in self.running[name]:
                    result = "not running"
                results.append(MonitorCheck(res.token, result, "" if result == "ok" else result))
                if result != "ok":
                    break
            self.checked.append((name, action.group_key, self.now))
            node.on_monitor_done(action.id, results, self.now)
        self.checks[name] = []
        self.flush()

    def complete(self, name: str, ok: bool | None = None, reason: str = "") -> Action:
        """Finish the oldest pending action of ``name``."""
        self.flush()
        action = self.pending[name].pop(0)
        node = self.nodes[name]
        if isinstance(action, Fence):
            node.on_fence_done(action.node, bool(ok), reason or "fenced", self.now)
            self.flush()
            return action
        assert isinstance(action, Acquire | Release), f"{name}: {action} is not a group action"
        kind = "acquire" if isinstance(action, Acquire) else "release"
        if ok is None:
            ok = (name, kind, action.group_key) not in self.fail
        if ok and isinstance(action, Acquire):
            other = self.running[self.peer(name)]
            double = action.group_key in other
            assert self.allow_double or not double, f"{action.group_key} would run twice"
            self.running[name].add(action.group_key)
        if ok and isinstance(action, Release):
            self.running[name].discard(action.group_key)
            for res in node._groups[action.group_key].spec.resources:
                if not self.broken.get((name, res.token), ("", True))[1]:
                    del self.broken[(name, res.token)]
        self.history.append((name, kind, action.group_key))
        node.on_action_done(action.id, ok, reason or ("done" if ok else "exit 1"), self.now)
        self.flush()
        return action

    def run_actions(self) -> None:
        """Complete Acquire/Release actions (not fences) and monitor checks until none
        are left."""
        for _ in range(100):
            self.flush()
            names = [n for n in ("alpha", "bravo") if n in self.alive and self.resource_pending(n)]
            if names:
                self.complete(names[0])
                continue
            checking = [n for n in ("alpha", "bravo") if n in self.alive and self.checks[n]]
            if not checking:
                return
            self.answer_checks(checking[0])
        raise AssertionError("action storm")

    def resource_pending(self, name: str) -> bool:
        return bool(self.pending[name]) and not isinstance(self.pending[name][0], Fence)

    def advance(self, to: float) -> None:
        """Move the clock, firing each node's timers in order, running actions as they come."""
        while True:
            deadlines = [
                d
                for n in self.alive
                if (d := self.nodes[n].next_deadline()) is not None and d <= to
            ]
            step = min(deadlines) if deadlines else to
            self.now = max(self.now, step)
            for name in ("alpha", "bravo"):
                if name in self.alive:
                    self.nodes[name].tick(self.now)
            self.run_actions()
            if not deadlines:
                return

    def comm_up(self, *names: str) -> None:
        for name in names:
            for other in ("alpha", "bravo"):
                if other != name and other in self.alive:
                    self.nodes[name].on_node_status(other, "active", self.now)
        for name in names:
            self.nodes[name].on_comm_up(self.now)
        self.flush()

    def cold_start(self) -> None:
        self.comm_up("alpha", "bravo")
        self.advance(self.now + 12)

    def sent(self, name: str, start: int = 0) -> list[list[tuple[str, object]]]:
        """Field lists (without src) of what ``name`` sent since wire index ``start``."""
        return [[p for p in m.pairs() if p[0] != "src"] for s, m in self.wire[start:] if s == name]

    def logs(self, name: str) -> list[str]:
        return [e.log for e in self.events[name]]

    def holder(self, key: str) -> list[str]:
        return [n for n in ("alpha", "bravo") if key in self.running[n]]

    def group_view(self, name: str, key: str) -> dict[str, object]:
        groups = self.nodes[name].snapshot()["groups"]
        assert isinstance(groups, list)
        for g in groups:
            if g["key"] == key:
                return dict(g)
        raise KeyError(key)
