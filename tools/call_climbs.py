"""Count the calls that climb back up the package's layers during a real run (issue 19).

Usage::

    python tools/call_climbs.py [--tree DIR] [--json FILE] -- <eventsnn arguments>
    python tools/call_climbs.py --tree /tmp/base -- predict --checkpoint ck.pt recordings/

1. **Layers** are read from the source of `DIR/eventsnn` (default: this repository) as
   `tests/test_architecture.py` reads them: a *unit* is a top-level package or module of eventsnn
   (`engine`, `checkpoint`, `devices`, `cli`, ...; `eventsnn/__init__.py` is the unit `eventsnn`);
   unit A depends on unit B when any module of A imports from B, at module level or inside a
   function; layer 1 = units importing no other unit, every other unit one above the highest unit
   it imports. `from eventsnn import X` counts as an import of `eventsnn.X` when X is a submodule,
   relative imports are resolved.
2. **Calls** are recorded while `eventsnn.cli.main(<arguments>)` runs in this process, imported from
   `DIR` (checked), under `sys.setprofile` and `threading.setprofile`: Python calls only (a C
   function is not a frame). For every call event whose callee is a function of `DIR/eventsnn`
   (module bodies run by an import are not calls), the caller is the nearest eventsnn frame below it
   on the stack: the calling function itself ("direct"), or, when third-party frames sit between
   (torch calling a forward hook, a DataLoader calling `collate_fn`, a sampler's `__iter__`),
   the eventsnn function that called into them ("via"). A generator resumed counts as a call,
   as the profiler reports it.
3. A call **climbs** when the caller's unit is on a lower layer than the callee's. The report gives
   the number of distinct climbing (caller function, callee function) pairs, the number of climbing
   call events, and each pair as `caller (unit, layer) -> callee (unit, layer)` with its event count
   and `direct` / `via`.

`--module-level-layers` reads the layers from the imports outside functions only: a call made
through a function-local import into a package that the module-level graph puts higher then
counts as a climb too (the hidden wiring of issue 19); the default counts both kinds of import.

The command's own output goes to stdout as usual; the report follows it. Not part of the package.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from types import CodeType, FrameType


def _module_name(path: Path, root: Path) -> str:
    return ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "eventsnn"


def _imported(
    node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: set[str]
) -> list[str]:
    """The eventsnn modules an import statement of `module` names."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.startswith("eventsnn")]
    base = node.module or ""
    if node.level:  # relative: resolved against the module's package
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, base] if base else package)
    if not base.startswith("eventsnn"):
        return []
    subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules]
    return subs or [base]


def _top_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports outside functions (module body, classes, `if` / `try` blocks)."""
    out, todo = [], list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out.append(node)
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            todo.extend(ast.iter_child_nodes(node))
    return out


def layers(tree: Path, module_level: bool = False) -> dict[str, int]:
    """Layer of every unit of `tree/eventsnn` from all its `eventsnn` imports (see the module doc);
    `module_level`: from the imports outside functions only (function-local ones then show as climbs)."""
    files = {_module_name(p, tree): p for p in sorted((tree / "eventsnn").rglob("*.py"))}
    edges: dict[str, set[str]] = defaultdict(set)
    for name, path in files.items():
        me = _unit(name)
        edges[me]  # a unit that imports nothing is on layer 1
        parsed = ast.parse(path.read_text(), str(path))
        for node in _top_level_imports(parsed) if module_level else ast.walk(parsed):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _imported(node, name, path.name == "__init__.py", set(files)):
                    if _unit(target) != me:
                        edges[me].add(_unit(target))
    level: dict[str, int] = {}

    def depth(unit: str, seen: tuple[str, ...] = ()) -> int:
        if unit in seen:
            raise SystemExit(f"call_climbs: cycle between packages: {' -> '.join((*seen, unit))}")
        if unit not in level:
            level[unit] = 1 + max((depth(o, (*seen, unit)) for o in sorted(edges.get(unit, ()))), default=0)
        return level[unit]

    for unit in sorted(edges):
        depth(unit)
    return level


class Recorder:
    """`sys.setprofile` callback: climbing (caller, callee) pairs between eventsnn functions."""

    def __init__(self, tree: Path, level: dict[str, int]):
        self.root = str(tree.resolve() / "eventsnn") + "/"
        self.tree = tree.resolve()
        self.level = level
        self.codes: dict[CodeType, tuple[str, str, int, bool] | None] = {}
        self.events: Counter[tuple] = Counter()  # every eventsnn -> eventsnn call, by pair
        self.via: dict[tuple, set[str]] = defaultdict(set)  # "direct" / "via"

    def _info(self, code: CodeType) -> tuple[str, str, int, bool] | None:
        """(function name, unit, layer, is a module body) for an eventsnn code object, else None."""
        info = self.codes.get(code, False)
        if info is False:
            info = None
            if code.co_filename.startswith(self.root):
                module = _module_name(Path(code.co_filename), self.tree)
                unit = _unit(module)
                info = (f"{module}:{code.co_qualname}", unit, self.level[unit], code.co_name == "<module>")
            self.codes[code] = info
        return info

    def __call__(self, frame: FrameType, event: str, arg: object) -> None:
        if event != "call":
            return
        callee = self._info(frame.f_code)
        if callee is None or callee[3]:
            return
        up, direct = frame.f_back, True
        while up is not None:
            caller = self._info(up.f_code)
            if caller is not None:
                key = (caller[:3], callee[:3])
                self.events[key] += 1
                self.via[key].add("direct" if direct else "via")
                return
            up, direct = up.f_back, False

    def climbs(self) -> list[tuple[tuple, int]]:
        return sorted(((k, n) for k, n in self.events.items() if k[0][2] < k[1][2]), key=lambda kv: kv[0])


def run(tree: Path, argv: list[str], module_level: bool = False) -> tuple[Recorder, int, float]:
    sys.path.insert(0, str(tree))
    import eventsnn
    import eventsnn.cli

    if not Path(eventsnn.__file__).resolve().is_relative_to(tree / "eventsnn"):
        raise SystemExit(f"call_climbs: imported {eventsnn.__file__}, not the tree {tree}")
    recorder = Recorder(tree, layers(tree, module_level))
    start = time.perf_counter()
    threading.setprofile(recorder)
    sys.setprofile(recorder)
    try:
        code = eventsnn.cli.main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
    return recorder, code, time.perf_counter() - start


def _by_layer(item: tuple[str, int]) -> tuple[int, str]:
    return item[1], item[0]


def report(recorder: Recorder, argv: list[str], code: int, seconds: float) -> dict:
    climbs = recorder.climbs()
    lines = [
        f"call_climbs: tree {recorder.tree}, `eventsnn {' '.join(argv)}` -> exit {code} in {seconds:.0f} s",
        "layers: " + ", ".join(f"{u} {n}" for u, n in sorted(recorder.level.items(), key=_by_layer)),
        f"eventsnn -> eventsnn call pairs: {len(recorder.events)} ({sum(recorder.events.values())} calls)",
        f"climbing pairs: {len(climbs)} ({sum(n for _, n in climbs)} calls)",
    ]
    for (caller, callee), n in climbs:
        how = "/".join(sorted(recorder.via[(caller, callee)]))
        lines.append(
            f"  {caller[0]} ({caller[1]}, {caller[2]}) -> {callee[0]} ({callee[1]}, {callee[2]})  x{n} {how}"
        )
    print("\n".join(lines), flush=True)
    return {
        "tree": str(recorder.tree),
        "argv": argv,
        "exit": code,
        "layers": recorder.level,
        "pairs": len(recorder.events),
        "calls": sum(recorder.events.values()),
        "climbing_pairs": len(climbs),
        "climbing_calls": sum(n for _, n in climbs),
        "climbs": [
            {"caller": c[0], "caller_unit": c[1], "caller_layer": c[2], "callee": e[0], "callee_unit": e[1],
             "callee_layer": e[2], "calls": n, "how": sorted(recorder.via[(c, e)])}
            for (c, e), n in climbs
        ],
        "all_pairs": [f"{c[0]} ({c[1]}, {c[2]}) -> {e[0]} ({e[1]}, {e[2]}) x{n}"
                      for (c, e), n in sorted(recorder.events.items())],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1],
                        help="source tree holding eventsnn/ (default: this repository)")
    parser.add_argument("--json", type=Path, help="also write the report as JSON")
    parser.add_argument("--layers", action="store_true", help="print the tree's layers and stop")
    parser.add_argument("--module-level-layers", action="store_true",
                        help="layers from the imports outside functions only (a variant, see the doc)")
    parser.add_argument("argv", nargs=argparse.REMAINDER, help="-- then the eventsnn arguments")
    args = parser.parse_args()
    tree = args.tree.resolve()
    if args.layers:
        print(json.dumps(layers(tree, args.module_level_layers), indent=1, sort_keys=True))
        return 0
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    recorder, code, seconds = run(tree, argv, args.module_level_layers)
    result = report(recorder, argv, code, seconds)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
