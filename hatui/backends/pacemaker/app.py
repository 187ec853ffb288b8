"""The console on a Pacemaker node: the same screen, Pacemaker's keys.

Everything the screen shows comes through the shared bridge and view model from
:class:`~hatui.backends.pacemaker.client.PacemakerClient`; this class only swaps the
operator keys. Standby / unstandby a node, move a group (and clear the constraint that
leaves), clean up failed actions, fence a node (typed name): each is checked by the
back end against a fresh ``crm_mon`` before Pacemaker's own tool runs, and a refusal
says why. The engine's takeover, failback and meatware keys do not apply here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from hatui.app import HaTuiApp
from hatui.backends.pacemaker.client import Options, PacemakerClient, open_pacemaker
from hatui.backends.pacemaker.help import PacemakerHelpScreen
from hatui.backends.pacemaker.pick import PickModal
from hatui.bridge import EngineBridge
from hatui.screens.modals import ConfirmModal, StonithModal
from hatui.serve import ReadOnlyApp

SOURCE = Path("pacemaker")
"""What the bridge is told it follows (the opener ignores it: the node is in Options)."""
ENGINE_ONLY = frozenset({"takeover", "failback", "meatware_confirm"})
PCMK_ACTIONS = frozenset({"standby", "online", "move", "clear", "cleanup", "stonith"})


class PacemakerStonithModal(StonithModal):
    """The STONITH dialog, in Pacemaker's words."""

    def body(self, names: str) -> str:
        """What confirming does on a Pacemaker cluster."""
        return (
            "Pacemaker's fencer reboots the node through a fence device (stonith_admin "
            f"--reboot); its resources recover on the other nodes. Nodes: {names}. "
            f"This node is {self._local}."
        )


class PacemakerApp(HaTuiApp):
    """``hatui --pacemaker``: attach to a Corosync/Pacemaker node."""

    TITLE = "hatui · Pacemaker"
    SOURCE: ClassVar[str] = "cluster"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "standby", "Standby"),
        Binding("u", "online", "Unstandby"),
        Binding("m", "move", "Move"),
        Binding("c", "cleanup", "Cleanup"),
        Binding("x", "clear", "Clear move", show=False),
        Binding("S", "stonith", "STONITH"),
    ]

    def __init__(self, options: Options | None, **kwargs: Any) -> None:
        """Attach to the node ``options`` names; with None, only show the ``status``
        document given (tests, screenshots), as ``HaTuiApp`` does without a socket."""
        super().__init__(None, **kwargs)
        self.options = options

    def make_bridge(self) -> EngineBridge | None:
        """A bridge whose "connection" polls the node (``PacemakerClient``)."""
        options = self.options
        if options is None:
            return None
        return EngineBridge(SOURCE, self._clock, opener=lambda _path: open_pacemaker(options))

    async def call_engine(self, cmd: str, **args: Any) -> Any:
        """Run a verb through a short-lived client (it re-reads crm_mon first)."""
        if self.options is None:
            return await super().call_engine(cmd, **args)
        client = PacemakerClient(self.options)
        try:
            return await client.call(cmd, **args)
        finally:
            client.close()

    def action_help(self) -> None:
        """Pacemaker's keys and glossary."""
        self.push_screen(PacemakerHelpScreen())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The engine's takeover/failback/meatware keys do not exist here; the rest
        greys out while disconnected or read-only."""
        if action in ENGINE_ONLY:
            return False
        if action in PCMK_ACTIONS and self.action_block_reason():
            return None
        return super().check_action(action, parameters)

    # -- what the document says -------------------------------------------------------

    def _cluster_nodes(self) -> list[Mapping[str, Any]]:
        nodes = (self._status or {}).get("nodes", [])
        return [n for n in nodes if isinstance(n, Mapping)]

    def _cluster_groups(self) -> list[Mapping[str, Any]]:
        groups = (self._status or {}).get("groups", [])
        return [g for g in groups if isinstance(g, Mapping)]

    def _runs(self, node: str) -> str:
        held = [str(g.get("key")) for g in self._cluster_groups() if g.get("held_by") == node]
        return f"{node}  (runs {', '.join(held)})" if held else f"{node}  (runs no group)"

    def _choose(
        self, title: str, body: str, choices: list[tuple[str, str]], then: Any, empty: str
    ) -> None:
        """Pick one of ``choices`` (value, label), then ``then(value)``; a notice saying
        ``empty`` when there is nothing to pick."""
        if not choices:
            self.notify(f"{title}: {empty}", severity="warning", markup=False)
            return

        def chosen(value: str | None) -> None:
            if value:
                then(value)

        self.push_screen(PickModal(title, body, choices), chosen)

    # -- keys -------------------------------------------------------------------------

    def action_standby(self) -> None:
        """Pick a node to put in standby."""
        choices = [
            (str(n["name"]), self._runs(str(n["name"])))
            for n in self._cluster_nodes()
            if not n.get("standby") and n.get("status") != "dead"
        ]
        body = (
            "Put a node in standby: Pacemaker moves its resources to the other nodes "
            "(crm_attribute --name standby --update on)."
        )
        self._choose(
            "Standby",
            body,
            choices,
            lambda n: self.send_command("node_standby", node=n),
            "no node can go to standby now",
        )

    def action_online(self) -> None:
        """Pick a standby node to take back."""
        choices = [
            (str(n["name"]), str(n["name"])) for n in self._cluster_nodes() if n.get("standby")
        ]
        body = (
            "Take a node out of standby: it may run resources again "
            "(crm_attribute --name standby --update off)."
        )
        self._choose(
            "Unstandby",
            body,
            choices,
            lambda n: self.send_command("node_online", node=n),
            "no node is in standby",
        )

    def action_move(self) -> None:
        """Pick a group, then the node to move it to."""
        groups = [g for g in self._cluster_groups() if not g.get("clone")]
        choices = [(str(g["key"]), f"{g['key']}@{g.get('held_by') or '-'}") for g in groups]
        body = (
            "Move a group (crm_resource --move). Pacemaker leaves a constraint "
            "cli-prefer-GROUP that keeps it there; x clears it."
        )
        self._choose("Move which group?", body, choices, self._move_where, "no group to move")

    def _move_where(self, group: str) -> None:
        holder = next(
            (g.get("held_by") for g in self._cluster_groups() if g.get("key") == group), None
        )
        choices = [
            (str(n["name"]), str(n["name"]))
            for n in self._cluster_nodes()
            if n.get("status") == "active" and n.get("name") != holder
        ]
        self._choose(
            "Move to which node?",
            f"Move {group} (now on {holder or 'no node'}) to:",
            choices,
            lambda node: self.send_command("move", group=group, node=node),
            f"no other node can run {group} now",
        )

    def action_clear(self) -> None:
        """Pick a group whose move/ban constraint to remove."""
        choices = [
            (str(g["key"]), f"{g['key']}: {', '.join(str(c.get('id')) for c in g['constraints'])}")
            for g in self._cluster_groups()
            if g.get("constraints")
        ]
        body = (
            "Remove the constraints crm_resource --move/--ban left (crm_resource --clear): "
            "the group may run where the configuration says again."
        )
        self._choose(
            "Clear constraints",
            body,
            choices,
            lambda g: self.send_command("clear", group=g),
            "no group has a constraint left by --move or --ban",
        )

    def action_cleanup(self) -> None:
        """Confirm, then forget every failed action (Pacemaker re-checks them)."""
        failures = (self._status or {}).get("failed_actions") or []
        if not failures:
            self.notify("cleanup: no failed actions", severity="information")
            return
        what = "; ".join(
            f"{f.get('resource')} {f.get('task')} on {f.get('node')}: {f.get('exitstatus')}"
            for f in failures
            if isinstance(f, Mapping)
        )
        body = (
            f"Forget the failed actions and let Pacemaker re-check (crm_resource --cleanup): {what}"
        )

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.send_command("cleanup")

        self.push_screen(ConfirmModal("Clean up failed actions", body, "Clean up"), confirmed)

    def action_stonith(self) -> None:
        """Fence a node after its name was typed exactly."""

        def typed(node: str | None) -> None:
            if node:
                self.send_command("stonith", node=node)

        names = [str(n["name"]) for n in self._cluster_nodes()]
        self.push_screen(PacemakerStonithModal(names, self._local_node()), typed)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Pacemaker's actions in the command palette (not the engine's)."""
        for command in super().get_system_commands(screen):
            if not command.title.startswith(
                ("Standby", "Takeover", "Failback", "Meatware", "STONITH")
            ):
                yield command
        entries = [
            ("Standby a node…", "crm_attribute --name standby --update on", "standby"),
            ("Unstandby a node…", "crm_attribute --name standby --update off", "online"),
            ("Move a group…", "crm_resource --move (leaves cli-prefer-GROUP)", "move"),
            ("Clear a move or ban…", "crm_resource --clear", "clear"),
            ("Clean up failed actions…", "crm_resource --cleanup", "cleanup"),
            ("STONITH (fence) a node…", "stonith_admin --reboot; type its name", "stonith"),
        ]
        for title, help_text, action in entries:
            yield SystemCommand(title, help_text, self._palette_callback(action))


class ReadOnlyPacemakerApp(ReadOnlyApp, PacemakerApp):
    """``hatui --pacemaker --read-only``: every action greyed out and refused."""

    TITLE = "hatui · Pacemaker (read-only)"
