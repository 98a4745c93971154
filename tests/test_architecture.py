"""The layers of docs/source/architecture.rst, enforced on the import graph.

The graph is read from the source with :mod:`ast` (nothing is imported): every
``import`` of a dlinalg module, at module level or inside a function, is an
arrow; imports under ``if TYPE_CHECKING:`` are annotations, not arrows. The
rules:

1. a module imports only its own layer and the layers below it;
2. no cycle between packages (``dlinalg.io``, ``dlinalg.plan``...; the plain
   modules of ``dlinalg`` count as one package per layer): the one circle
   allowed is the matrix layer's, the DRM class and its operator mixins;
3. an import inside a function is an arrow hidden from the reader, so each one
   is listed below with the cycle it breaks or the cost it defers;
4. one module talks to ``dask.distributed``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Bottom to top; a module may import modules of its own layer and of the
#: layers below it. A module belongs to the first layer with a matching prefix.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "foundation",
        (
            "dlinalg.errors",
            "dlinalg._validation",
            "dlinalg._tokens",
            "dlinalg._trace",
            "dlinalg._version",
            "dlinalg._deferred_imports",
        ),
    ),
    ("physical", ("dlinalg.physical",)),
    ("plan", ("dlinalg.plan",)),
    ("runtime", ("dlinalg.cluster",)),
    ("io", ("dlinalg.io",)),
    (
        "matrix",
        (
            "dlinalg.matrix",
            "dlinalg._html",
            "dlinalg.elementwise",
            "dlinalg.statistics",
            "dlinalg.lazy",
            "dlinalg._operands",
            "dlinalg.construct",
            "dlinalg.readers",
            "dlinalg.functions",
            "dlinalg.plans",
        ),
    ),
    ("algorithms", ("dlinalg.decomp", "dlinalg.solvers", "dlinalg.optimize")),
    ("api", ("dlinalg",)),  # dlinalg/__init__.py: the public names
    ("estimators", ("dlinalg.models",)),
]

#: The imports inside functions, each with the cycle it breaks (module-level,
#: they would make ``import dlinalg`` fail half-way) or the import it defers.
LOCAL_IMPORTS: dict[tuple[str, str], str] = {
    # deferred: ``import dlinalg`` does not import zarr or xarray (0.2 s)
    ("dlinalg.matrix", "dlinalg.io.zarr"): "DRM.to_zarr imports zarr on first use",
    ("dlinalg.matrix", "dlinalg.io.xarray"): "DRM.to_xarray imports xarray on first use",
    # the DRM class and its mixins / helpers: DRM imports them at module level
    ("dlinalg._operands", "dlinalg.matrix"): "DRM's operators coerce operands here",
    ("dlinalg._operands", "dlinalg.construct"): "construct imports matrix, which imports here",
    ("dlinalg.lazy", "dlinalg.functions"): "functions builds on LazyResult",
}

#: The one module that imports dask.distributed.
DISTRIBUTED_OWNER = "dlinalg.cluster"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[0] == "models":  # the folder models/ installs as dlinalg.models
        parts = ["dlinalg", *parts]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    files = [*(ROOT / "dlinalg").rglob("*.py"), *(ROOT / "models").rglob("*.py")]
    return {_module_name(p): p for p in files}


SOURCES = _sources()


def _is_type_checking(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _absolute(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute name of ``from <node.module> import ...`` written in ``module``."""
    if node.level == 0:
        return node.module or ""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
    return f"{base}.{node.module}" if node.module else base


def _imports(module: str, path: Path) -> list[tuple[str, bool, int]]:
    """(imported module, imported inside a function?, line) for each import in a file."""
    found: list[tuple[str, bool, int]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        if _is_type_checking(node):
            for child in node.orelse:
                visit(child, in_function)
            return
        if isinstance(node, ast.Import):
            found.extend((a.name, in_function, node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, path, node)
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                found.append((sub if sub in SOURCES else source, in_function, node.lineno))
        inner = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(ast.parse(path.read_text()), False)
    return found


def _layer(module: str) -> int:
    """The rank of the layer whose longest prefix matches ``module``."""
    matches = [
        (len(prefix), rank)
        for rank, (_, prefixes) in enumerate(LAYERS)
        for prefix in prefixes
        if module == prefix or module.startswith(prefix + ".")
    ]
    assert matches, f"{module} is in no layer of LAYERS"
    return max(matches)[1]


def _package(module: str) -> str:
    """The unit of the cycle rule: a package, or one layer of the modules of ``dlinalg``.

    The top of the package holds three layers as plain modules (the foundation,
    the runtime, the matrix layer); each counts as a package of its own.
    """
    if module in SOURCES and SOURCES[module].name == "__init__.py":
        return module
    package = module.rsplit(".", 1)[0]
    if package == "dlinalg":
        return f"dlinalg[{LAYERS[_layer(module)][0]}]"
    return package


def _is_facade(module: str) -> bool:
    """A module that only re-exports: a docstring, imports, ``__all__``, a ``__main__`` guard."""
    body = ast.parse(SOURCES[module].read_text()).body
    return all(
        isinstance(node, ast.Import | ast.ImportFrom)
        or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
        or (isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "__all__")
        or (isinstance(node, ast.If) and "__main__" in ast.unparse(node.test))
        for node in body
    )


def _arrows() -> list[tuple[str, str, bool, int]]:
    return [
        (module, target, local, line)
        for module, path in SOURCES.items()
        for target, local, line in _imports(module, path)
        if target in SOURCES and target != module
    ]


ARROWS = _arrows()


def test_every_module_is_in_a_layer():
    for module in SOURCES:
        _layer(module)


def test_no_arrow_from_a_lower_layer_to_a_higher_one():
    bad = [
        f"{m} ({LAYERS[_layer(m)][0]}) imports {t} ({LAYERS[_layer(t)][0]}) at line {line}"
        for m, t, _, line in ARROWS
        if _layer(t) > _layer(m)
    ]
    assert not bad, "\n".join(bad)


def test_no_cycle_between_packages():
    graph: dict[str, set[str]] = {}
    for m, t, _, _ in ARROWS:
        a, b = _package(m), _package(t)
        # a package's facade (its __init__, or a module that only re-exports, such
        # as dlinalg.models.metrics) pointing into its own subpackages is not an
        # arrow between packages
        if a != b and not ((m == a or _is_facade(m)) and b.startswith(a + ".")):
            graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := walk(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := walk(node)):
            pytest.fail("packages import each other: " + " -> ".join(cycle))


def test_imports_inside_functions_are_the_listed_cycle_breakers():
    local = {(m, t) for m, t, is_local, _ in ARROWS if is_local}
    unlisted = sorted(local - set(LOCAL_IMPORTS))
    assert not unlisted, "imports inside functions with no listed reason: " + ", ".join(
        f"{m} -> {t}" for m, t in unlisted
    )
    stale = sorted(set(LOCAL_IMPORTS) - local)
    assert not stale, f"LOCAL_IMPORTS lists imports that are gone: {stale}"


def test_one_module_talks_to_dask_distributed():
    users = sorted(
        {
            module
            for module, path in SOURCES.items()
            for target, _, _ in _imports(module, path)
            if target.startswith(("distributed", "dask.distributed"))
        }
    )
    assert users == [DISTRIBUTED_OWNER]


def test_the_arrows_are_read():
    """The reader sees the imports that exist (a broken reader passes every rule)."""
    arrows = {(m, t) for m, t, _, _ in ARROWS}
    assert ("dlinalg.matrix", "dlinalg.plan.nodes") in arrows
    assert any(
        m.startswith("dlinalg.models.") and t.startswith("dlinalg.models.") for m, t in arrows
    )
    assert _is_facade("dlinalg.models.metrics")
    assert not _is_facade("dlinalg.matrix")
    assert _layer("dlinalg.models.pca") > _layer("dlinalg.decomp.qr") > _layer("dlinalg.matrix")
