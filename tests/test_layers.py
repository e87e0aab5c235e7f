"""The package's layers: no import cycle among repro's modules, and imports at the top of each module.

An AST pass over repro/ that counts every import of a repro module: at module level, inside functions
and under ``if TYPE_CHECKING`` alike (a cycle hidden inside a function is still a cycle). Needs nothing
but the standard library, so it runs wherever the tests do.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPRO = Path(__file__).resolve().parents[1] / "repro"


def _modules() -> dict[str, Path]:
    mods = {}
    for path in REPRO.rglob("*.py"):
        name = ".".join(path.relative_to(REPRO.parent).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = path
    return mods


def _imports(name: str, path: Path, mods: dict[str, Path]) -> list[tuple[str, ast.stmt, bool]]:
    """(imported repro module, the statement, whether it is inside a function) for each import in ``path``."""
    tree = ast.parse(path.read_text())
    in_function = {id(sub) for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                   for sub in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in mods:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.append((target, node, id(node) in in_function))
    return found


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[v] = min(low[v], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_among_repros_modules():
    mods = _modules()
    edges = {name: {t for t, _, _ in _imports(name, path, mods)} for name, path in mods.items()}
    cycles = _cycles(edges)
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_imports_inside_functions_say_why():
    """Below the commands (whose lazy imports keep the CLI's start-up fast: repro/commands/__init__.py), an
    import of a repro module inside a function carries its reason in a comment on its line."""
    mods = _modules()
    unexplained = []
    for name, path in mods.items():
        if name.startswith("repro.commands") or name == "repro.cli":
            continue
        lines = path.read_text().splitlines()
        for _, node, inside in _imports(name, path, mods):
            if inside and "#" not in lines[node.lineno - 1]:
                unexplained.append(f"{path.relative_to(REPRO.parent)}:{node.lineno}")
    assert not unexplained, "imports inside functions without a reason: " + ", ".join(sorted(set(unexplained)))


def main() -> None:
    """``python tests/test_layers.py``: the figures behind these tests (cycles, imports inside functions,
    the five longest functions and the five largest modules), for a reader or a closing note."""
    mods = _modules()
    imports = {name: _imports(name, path, mods) for name, path in mods.items()}
    cycles = _cycles({name: {t for t, _, _ in found} for name, found in imports.items()})
    inside = {name: len({id(node) for _, node, f in found if f}) for name, found in imports.items()}  # statements
    functions, sizes = [], []
    for name, path in mods.items():
        text = path.read_text()
        sizes.append((len(text.splitlines()), name))
        functions += [(node.end_lineno - node.lineno + 1, f"{name}.{node.name}") for node in ast.walk(ast.parse(text))
                      if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    print(f"{len(mods)} modules, {sum(n for n, _ in sizes):,} lines; import cycles: {len(cycles)}"
          + "".join(f"\n  {' <-> '.join(c)}" for c in cycles))
    print(f"imports of repro modules inside functions: {sum(inside.values())} "
          f"({sum(v for k, v in inside.items() if k.startswith('repro.commands'))} in repro.commands)")
    print("longest functions: " + ", ".join(f"{n} ({k} lines)" for k, n in sorted(functions, reverse=True)[:5]))
    print("largest modules: " + ", ".join(f"{n} ({k} lines)" for k, n in sorted(sizes, reverse=True)[:5]))


if __name__ == "__main__":
    main()
