"""The shape of ``engine/core/policy`` (issue 16 item 2), read from its source with ``ast``.

* no file over 300 lines;
* no mixins: no class of the package has a base class (``Protocol``/``ABC`` aside);
* one writer per attribute: every attribute write, ``del`` or in-place change
  (``append``, ``clear``, ``pop``, ...) goes through ``self``, so an attribute is only
  ever written by the class whose methods own it; other objects are changed by calling
  their methods, never by touching their fields (and no ``setattr``);
* objects talk through public names: no ``x._private`` on anything but ``self``;
* time comes in as ``now``: no object keeps a clock of its own (``_now``);
* "the other side" is answered in one place: only ``sides.py`` reads ``peers[0]``.

Each check names every offending ``file:line``.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import engine.core.policy as policy_package

POLICY = Path(policy_package.__file__).parent
FILES = sorted(POLICY.glob("*.py"))
MAX_LINES = 300
ALLOWED_BASES = {"Protocol", "ABC"}
MUTATORS = {
    "append",
    "appendleft",
    "extend",
    "extendleft",
    "insert",
    "clear",
    "pop",
    "popleft",
    "popitem",
    "remove",
    "discard",
    "add",
    "update",
    "setdefault",
    "sort",
    "reverse",
}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.name}:{getattr(node, 'lineno', 0)}"


def _targets(node: ast.AST) -> Iterator[ast.expr]:
    """The expressions an assignment, augmented assignment or ``del`` writes."""
    if isinstance(node, ast.Assign):
        stack = list(node.targets)
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        stack = [node.target]
    elif isinstance(node, ast.Delete):
        stack = list(node.targets)
    else:
        return
    while stack:
        target = stack.pop()
        if isinstance(target, ast.Tuple | ast.List):
            stack.extend(target.elts)
        elif isinstance(target, ast.Starred):
            stack.append(target.value)
        else:
            yield target


def _written_attribute(target: ast.expr) -> ast.Attribute | None:
    """``obj.attr = ...`` or ``obj.attr[key] = ...``: the attribute being changed."""
    if isinstance(target, ast.Subscript):
        target = target.value
    return target if isinstance(target, ast.Attribute) else None


def _writes(tree: ast.Module) -> Iterator[tuple[str, ast.Attribute]]:
    """(class name or "<module>", attribute node) for every write in the module."""
    for owner, node in _nodes_with_class(tree):
        for target in _targets(node):
            attr = _written_attribute(target)
            if attr is not None:
                yield owner, attr
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            changed = node.func.value
            if node.func.attr in MUTATORS and isinstance(changed, ast.Attribute):
                yield owner, changed


def _nodes_with_class(tree: ast.Module) -> Iterator[tuple[str, ast.AST]]:
    """Every node, with the name of the class it is in ("<module>" outside classes)."""

    def walk(node: ast.AST, owner: str) -> Iterator[tuple[str, ast.AST]]:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.ClassDef) else owner
            yield inner, child
            yield from walk(child, inner)

    yield from walk(tree, "<module>")


def _is_self(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "self"


def test_no_policy_file_is_longer_than_300_lines() -> None:
    long = {p.name: n for p in FILES if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"over {MAX_LINES} lines: {long}"


def test_no_mixins_no_policy_class_has_a_base_class() -> None:
    bad = []
    for path in FILES:
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ClassDef):
                names = {ast.unparse(base).split("[")[0].split(".")[-1] for base in node.bases}
                if names - ALLOWED_BASES:
                    bad.append(f"{_where(path, node)} {node.name}({', '.join(sorted(names))})")
    assert not bad, "policy classes with base classes (mixins):\n" + "\n".join(bad)


def test_every_attribute_is_written_only_through_self() -> None:
    """So each attribute has exactly one writing class: the one that declares it."""
    bad = []
    for path in FILES:
        tree = _tree(path)
        for owner, attr in _writes(tree):
            if not _is_self(attr.value):
                bad.append(f"{_where(path, attr)} {owner} writes {ast.unparse(attr)}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("setattr"):
                bad.append(f"{_where(path, node)} calls {ast.unparse(node.func)}")
    assert not bad, "attributes written from outside their class:\n" + "\n".join(bad)


def test_objects_use_only_public_names_of_each_other() -> None:
    bad = []
    for path in FILES:
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
                private = not node.attr.startswith("__")
                if private and not _is_self(node.value):
                    bad.append(f"{_where(path, node)} {ast.unparse(node)}")
    assert not bad, "private names of other objects used:\n" + "\n".join(bad)


def test_no_object_keeps_its_own_clock() -> None:
    bad = [
        f"{_where(path, attr)} {owner}.{attr.attr}"
        for path in FILES
        for owner, attr in _writes(_tree(path))
        if attr.attr.strip("_") == "now"
    ]
    assert not bad, "time must come in as now, not be kept:\n" + "\n".join(bad)


def test_the_other_side_is_named_in_one_place() -> None:
    readers = sorted(
        _where(path, node)
        for path in FILES
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.Subscript) and ast.unparse(node.value).endswith("peers")
    )
    assert [r.split(":")[0] for r in readers] == ["sides.py"], readers


def test_each_attribute_has_exactly_one_writing_class() -> None:
    """The acceptance rule itself, across the whole package: an attribute is identified
    by the class of the object it lives on. A write through ``self`` in a class without
    bases can only reach that class's own objects, so its writer is that class; any
    other write (through another object, or from a class that could be mixed into
    another) counts as a second, unknown writer."""
    writers: dict[tuple[str, str], set[str]] = defaultdict(set)
    for path in FILES:
        tree = _tree(path)
        bases = {c.name: bool(c.bases) for c in ast.walk(tree) if isinstance(c, ast.ClassDef)}
        for owner, attr in _writes(tree):
            if _is_self(attr.value) and not bases.get(owner, True):
                writers[(owner, attr.attr)].add(owner)
            else:
                where = _where(path, attr)
                writers[("?", attr.attr)].update({owner, f"{where} via {ast.unparse(attr)}"})
    shared = {f"{c}.{a}": sorted(w) for (c, a), w in writers.items() if c == "?" or len(w) > 1}
    assert not shared, f"attributes with more than one writer: {shared}"
    assert writers, "no attribute writes found: the scan is broken"


def ownership_table() -> dict[str, dict[str, list[str]]]:
    """module → class → the attributes its methods write (for the docs and reports)."""
    table: dict[str, dict[str, list[str]]] = {}
    for path in FILES:
        per_class: dict[str, set[str]] = defaultdict(set)
        for owner, attr in _writes(_tree(path)):
            per_class[owner].add(attr.attr)
        if per_class:
            table[path.name] = {c: sorted(a) for c, a in sorted(per_class.items())}
    return table


if __name__ == "__main__":
    for module, classes in ownership_table().items():
        for cls, attrs in classes.items():
            print(f"{module:18} {cls:16} {', '.join(attrs)}")
