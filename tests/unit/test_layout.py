"""The layout's rules (issue 22), from the import graph drawn with `ast` over flows/, tasks/, models/,
deployments/ and webapp/ (the migrations excluded: Alembic runs them on their own):

- the platform (tasks/platform/*, the shared steps and the shared models) imports no procedure;
- nothing imports up into webapp/ from flows/, tasks/, models/ or deployments/;
- no import cycle among the project's modules (module-level and function-level imports alike);
- imports of the project's modules sit at the top of the module, except those allowed below, each
  with its reason;
- the procedures register with the platform, and only flows/__init__.py lists them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("flows", "tasks", "models", "deployments", "webapp")

# a procedure's own code: its packages (and flat modules) in tasks/, models/, and every flow
PROCEDURES = ("tasks.complaint", "tasks.grievance", "tasks.archive", "tasks.samples", "tasks.returns",
              "tasks.new_customer", "tasks.reports", "models.complaint", "models.grievance", "models.archive",
              "models.samples", "models.returns", "models.new_customer", "models.statistics", "flows")
# the platform: knows no procedure
PLATFORM = ("tasks.platform", "tasks.human", "tasks.notify", "tasks.cases", "tasks.replay", "models.answers",
            "models.tables", "models.settings", "models.db", "models.errors", "models.org", "models.business_days",
            "models.privacy", "models.tokens", "models.guard", "models.rules", "models.access")

# function-level imports of project modules that stay, by importing module: the reason
FUNCTION_LEVEL_ALLOWED = {
    "deployments.cli": "each command sets Prefect's environment (PREFECT_API_URL, PREFECT_HOME, …) and may start "
                       "the embedded database before Prefect and the flows are imported; `kefu --help` and "
                       "`kefu up` stay fast (≈ 0.5 s instead of ≈ 10 s of importing every flow)",
}


def _in(module: str, prefixes: tuple[str, ...]) -> bool:
    """`module` is one of `prefixes`, inside one, or a flat sibling of one (models.grievance_answers)."""
    return any(module == p or module.startswith((p + ".", p + "_")) for p in prefixes)


def _modules() -> dict[str, Path]:
    out = {}
    for layer in LAYERS:
        for path in (ROOT / layer).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            out[name.removesuffix(".__init__")] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _edges() -> list[tuple[str, str, int, bool]]:
    """(importer, imported, line, inside a function) for every import of a project module."""
    edges = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        nested = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                  for n in ast.walk(f)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                # `from pkg import module` imports the module; `from module import name` the module
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
            else:
                continue
            for target in dict.fromkeys(targets):
                resolved = _resolve(target)
                if resolved and resolved != module:
                    edges.append((module, resolved, node.lineno, id(node) in nested))
    return edges


EDGES = _edges()


def test_the_graph_is_drawn() -> None:
    """The graph sees the project (a test that cannot fail is a defect: an empty graph would pass)."""
    assert len(MODULES) > 100
    assert ("flows.complaint.handling", "tasks.complaint.steps") in {(a, b) for a, b, _, _ in EDGES}


def test_the_platform_imports_no_procedure() -> None:
    bad = [f"{a}:{line} imports {b}" for a, b, line, _ in EDGES if _in(a, PLATFORM) and _in(b, PROCEDURES)]
    assert not bad, "\n".join(bad)


def test_nothing_imports_up_into_webapp() -> None:
    bad = [f"{a}:{line} imports {b}" for a, b, line, _ in EDGES
           if not a.startswith("webapp") and b.startswith("webapp")]
    assert not bad, "\n".join(bad)


def _cycles(edges: list[tuple[str, str, int, bool]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for a, b, _, _ in edges:
        graph[a].add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    component.append(m)
                    if m == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle() -> None:
    assert _cycles(EDGES) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    """The check itself: a cycle added to the graph is found."""
    extra = [("tasks.platform.store", "tasks.platform.runtime", 0, False),
             ("tasks.platform.runtime", "tasks.platform.store", 0, False)]
    assert any({"tasks.platform.store", "tasks.platform.runtime"} <= set(c) for c in _cycles(EDGES + extra))


def test_imports_at_the_top() -> None:
    bad = [f"{a}:{line} imports {b} inside a function" for a, b, line, nested in EDGES
           if nested and a not in FUNCTION_LEVEL_ALLOWED]
    assert not bad, "\n".join(bad)


def _function_level_imports(path: Path) -> list[tuple[int, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    tree = ast.parse("\n".join(lines))
    return sorted({(n.lineno, lines[n.lineno - 1].strip()) for f in ast.walk(tree)
                   if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                   for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))})


def test_libraries_are_imported_at_the_top_too() -> None:
    """Standard-library and third-party imports as well: inside a function only an optional or
    heavy part (production mail, OIDC, the embedded PostgreSQL, …), said so with `# lazy: <why>`."""
    bad = [f"{m}:{line}: {text}" for m, path in MODULES.items() if m not in FUNCTION_LEVEL_ALLOWED
           for line, text in _function_level_imports(path) if "# lazy: " not in text]
    assert not bad, "\n".join(bad)


def test_the_library_import_check_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("import os\n\ndef f():\n    import json\n    import yaml  # lazy: optional\n")
    assert _function_level_imports(source) == [(4, "import json"), (5, "import yaml  # lazy: optional")]


def test_only_flows_init_lists_the_procedures() -> None:
    """Registration happens at the import of one module that lists every procedure (flows/__init__.py);
    the procedures' registration modules (tasks/<procedure>/procedure.py) are imported there only."""
    importers = {a for a, b, _, _ in EDGES if b.endswith(".procedure") and b.startswith("tasks.")}
    assert importers == {"flows"}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _in(m, PLATFORM) and m.startswith("tasks."))
                         + ["models.answers"])
def test_platform_modules_name_no_procedure(module: str) -> None:
    """No shared module names a procedure in its code (its docstrings and comments may give examples).
    models/tables.py stays shared with every table (the complaint's statistics row among them)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    names = ("complaint", "grievance", "sample_request", "allowance", "archive_correction", "new_customer")
    bad = [f"line {n.lineno}: {n.value!r}" for n in ast.walk(tree)
           if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
           and any(p in n.value for p in names)]
    # nor in its identifiers (a table, a function or an attribute of one procedure: ComplaintFact, …)
    idents = [(n.lineno, n.id if isinstance(n, ast.Name) else n.attr if isinstance(n, ast.Attribute) else n.name)
              for n in ast.walk(tree) if isinstance(n, (ast.Name, ast.Attribute, ast.alias))]
    bad += [f"line {line}: {ident}" for line, ident in idents if ident
            and any(p.replace("_", "") in ident.lower().replace("_", "") for p in names)]
    assert not bad, "\n".join(bad)
