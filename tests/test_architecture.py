"""The package's shape (issue 19, docs/architecture.md): imports at the top of modules, no import
cycle, no more layers than the 10 of 0.1, and each concept declared where it is defined.

Counted from the source with `ast`, as a reader would: an import inside a function is hidden
wiring; a module-level import is the dependency graph that the layers are read from.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "eventsnn"
MAX_LOCAL_IMPORTS = 40  # function-local `eventsnn.*` imports, CLI boundary included (0.1: 171)
MAX_LAYERS = 11  # 0.1 had 10; main has 11 since utils.optional imports errors (to bring back to 10)


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        out[name] = ast.parse(path.read_text())
    return out


def _imports(tree: ast.Module) -> list[tuple[ast.stmt, bool]]:
    """Every `eventsnn.*` import statement of a module and whether it sits inside a function."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        if not any(n.startswith("eventsnn") for n in names):
            continue
        up, inside = parents.get(node), False
        while up is not None and not inside:
            inside = isinstance(up, (ast.FunctionDef, ast.AsyncFunctionDef))
            up = parents.get(up)
        out.append((node, inside))
    return out


def _targets(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        return [node.module or "", *(f"{node.module}.{a.name}" for a in node.names)]
    return [a.name for a in node.names]  # type: ignore[attr-defined]


def test_function_local_eventsnn_imports_are_few():
    local = [
        f"{name}:{node.lineno}" for name, tree in _modules().items() for node, inside in _imports(tree) if inside
    ]
    assert len(local) <= MAX_LOCAL_IMPORTS, local


def test_no_import_cycle_between_modules():
    """Module-level imports between eventsnn modules form no cycle (a submodule importing from its
    own package's namespace is Python's normal order, not a cycle)."""
    modules = _modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, tree in modules.items():
        for node, inside in _imports(tree):
            if inside:
                continue
            for target in _targets(node):
                if target in modules and target != name and not name.startswith(target + "."):
                    graph[name].add(target)
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for name in sorted(modules):
        if name not in state:
            visit(name, [])
    assert not cycles, cycles


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "eventsnn"


def layers() -> dict[str, int]:
    """Layer of every top-level module / package (1: imports no other eventsnn unit), from all
    imports, function-local ones included (the real dependencies)."""
    edges: dict[str, set[str]] = defaultdict(set)
    for name, tree in _modules().items():
        me = _unit(name)
        for node, _ in _imports(tree):
            for target in _targets(node)[:1] if isinstance(node, ast.ImportFrom) else _targets(node):
                if target.startswith("eventsnn.") and _unit(target) != me:
                    edges[me].add(_unit(target))
    level: dict[str, int] = {}

    def depth(unit: str, seen: tuple[str, ...] = ()) -> int:
        assert unit not in seen, f"cycle between packages: {(*seen, unit)}"
        if unit not in level:
            level[unit] = 1 + max((depth(o, (*seen, unit)) for o in edges.get(unit, ())), default=0)
        return level[unit]

    for unit in list(edges):
        depth(unit)
    return level


def test_no_more_layers_than_before():
    level = layers()
    assert max(level.values()) <= MAX_LAYERS, sorted(level.items(), key=lambda kv: kv[1])
    assert level["inference"] <= level["engine"]  # inference stands beside the engine, not on it
